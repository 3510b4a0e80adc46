"""``torch.compile`` with a fallback to eager execution where it is unavailable or fails."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

log = logging.getLogger(__name__)


class CompiledOrEager:
    """Call ``fn`` through ``torch.compile``, or eagerly when compiling is impossible.

    Compilation happens at the first call (and again for new input shapes). If Dynamo does not
    support this interpreter, or a compile fails (no C++ compiler for the CPU backend, an
    unsupported op), the failure is logged once and every later call runs ``fn`` eagerly, so a
    run asking for ``compile`` still trains where the compiler does not work. A failure while
    compiling happens before the compiled graph runs, so nothing has been computed twice.

    Args:
        fn: the function to compile (e.g. a generator pass).
        **options: keyword arguments of ``torch.compile`` (``mode``, ``dynamic``, ...).
    """

    def __init__(self, fn: Callable[..., Any], **options: Any) -> None:
        self.fn = fn
        self.compiled: Callable[..., Any] | None = None
        if _dynamo_supported():
            self.compiled = torch.compile(fn, **options)
        else:
            log.warning("torch.compile is not supported here; running eagerly")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.compiled is None:
            return self.fn(*args, **kwargs)
        try:
            return self.compiled(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - any compiler failure means: run eagerly
            if not _is_compile_failure(error):
                raise
            log.warning("torch.compile failed (%s); running eagerly", type(error).__name__)
            self.compiled = None
            return self.fn(*args, **kwargs)


def _dynamo_supported() -> bool:
    try:
        return bool(torch._dynamo.is_dynamo_supported())
    except Exception:  # noqa: BLE001 - an old or stripped-down torch without Dynamo
        return False


def _is_compile_failure(error: Exception) -> bool:
    """Errors raised by Dynamo/Inductor themselves, not by the user's code."""
    module = type(error).__module__
    name = type(error).__name__
    return module.startswith(("torch._dynamo", "torch._inductor")) or "Compil" in name
