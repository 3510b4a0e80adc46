"""Checks of what the user typed: config groups and keys that exist, values of the right type.

Hydra reports an unknown option or key in several lines and accepts ``trainer.max_steps=abc``
as a string that fails deep inside Lightning; these checks turn both into one
:class:`~dipsys.errors.InputError` line before anything is built.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from dipsys.errors import InputError

_ABSENT = object()


def _integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _positive_integer(value: Any) -> bool:
    return _integer(value) and value >= 1


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _integers(value: Any) -> bool:
    """One positive integer or a list of them (a schedule)."""
    if isinstance(value, list | tuple | ListConfig):
        return len(value) > 0 and all(_positive_integer(v) for v in value)
    return _positive_integer(value)


def _box(value: Any) -> bool:
    return (
        value is None
        or value == "auto"
        or (
            isinstance(value, list | tuple | ListConfig)
            and len(value) == 4
            and all(_number(v) for v in value)
        )
    )


def _budget(value: Any) -> bool:
    return value is None or value == "auto" or (_number(value) and value > 0)


#: dotted key → (check, what it must be); keys absent from the config are skipped
TYPED_KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "seed": (_integer, "an integer"),
    "trainer.max_steps": (_positive_integer, "a positive integer"),
    "data.max_side": (_positive_integer, "a positive integer"),
    "data.multiple": (_positive_integer, "a positive integer"),
    "data.min_side": (_optional(_positive_integer), "a positive integer or null"),
    "data.per_step": (_positive_integer, "a positive integer"),
    "data.steps_per_epoch": (_positive_integer, "a positive integer"),
    "task.steps": (_optional(_integers), "a positive integer, a list of them, or null"),
    "task.stages": (_positive_integer, "a positive integer"),
    "task.start_steps": (_positive_integer, "a positive integer"),
    "task.factor": (_number, "a number"),
    "task.layers": (_positive_integer, "a positive integer"),
    "task.bbox": (_box, "[x0, y0, x1, y1] in pixels (watermark_multi: or auto)"),
    "task.removal": (lambda value: value in ("affine", "dip"), "affine or dip"),
    "task.module.removal_max_ratio": (_number, "a number"),
    "task.module.removal_full_ratio": (_number, "a number"),
    "task.module.found_box_max_ratio": (_number, "a number"),
    "task.module.optimizer.lr": (_number, "a number"),
    "task.module.select_every": (_positive_integer, "a positive integer"),
    "callbacks.model_checkpoint.every_n_train_steps": (_positive_integer, "a positive integer"),
    "callbacks.layer_images.every_n_steps": (_positive_integer, "a positive integer"),
    "callbacks.nan_guard.every_n_steps": (_positive_integer, "a positive integer"),
    "memory_budget_gib": (_budget, "a positive number of GiB, auto or null"),
    "retain_host_memory": (lambda value: isinstance(value, bool), "true or false"),
}


def check_types(cfg: DictConfig) -> None:
    """Every key of :data:`TYPED_KEYS` present in ``cfg``, and every loss weight, has a value of
    the expected type.

    Raises:
        InputError: the first key with a wrong value, named with what it must be.
    """
    for key, (check, expected) in TYPED_KEYS.items():
        value = OmegaConf.select(cfg, key, default=_ABSENT)
        if value is not _ABSENT and not check(value):
            raise InputError(f"{key} must be {expected}, got {value!r}")
    task = OmegaConf.select(cfg, "task.name", default=None)
    if OmegaConf.select(cfg, "task.bbox", default=None) == "auto" and task != "watermark_multi":
        raise InputError(
            "task.bbox=auto (find the watermark) needs several photos under one logo: "
            "task=watermark_multi; one image needs task.bbox=[x0,y0,x1,y1]"
        )
    weights = OmegaConf.select(cfg, "task.module.loss_weights", default=None) or {}
    for name, value in weights.items():
        if not _number(value):
            raise InputError(f"task.module.loss_weights.{name} must be a number, got {value!r}")


#: data keys naming input files or folders, with the word their "not found" error uses
_INPUT_KEYS = {
    "data.image": "image",
    "data.images": "image",
    "data.video": "video",
    "data.gt": "ground truth",
    "data.gt2": "ground truth",
    "data.gt_mask": "ground-truth mask",
}
#: entries of ``data.hints`` that are not mask files
_HINT_OPTIONS = {"boxes", "scribbles", "scribble_width", "method", "layers"}


def _given_paths(cfg: DictConfig, key: str) -> list[str]:
    """The path(s) at ``key``: none when absent, null, mandatory-missing or not resolvable."""
    try:
        value = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
    except Exception:  # an interpolation that only the data module can explain
        return []
    if value is None or isinstance(value, bool | numbers.Number):
        return []
    if isinstance(value, str):
        return [] if value == "???" else [value]
    if isinstance(value, ListConfig | list | tuple):
        return [str(item) for item in value if isinstance(item, str)]
    return []


def check_input_paths(cfg: DictConfig) -> None:
    """Every input the data keys name exists, checked before any heavy import or work.

    Only existence is checked here (the data module reads and checks the contents): a typo in
    a path then ends in one line within a second instead of after loading the training stack.

    Raises:
        InputError: ``<what> not found: <path>`` for the first missing one.
    """
    keys = dict(_INPUT_KEYS)
    hints = OmegaConf.select(cfg, "data.hints", default=None)
    if isinstance(hints, DictConfig):
        keys |= {f"data.hints.{name}": "hint mask" for name in hints if name not in _HINT_OPTIONS}
    for key, what in keys.items():
        for path in _given_paths(cfg, key):
            if not Path(path).exists():
                raise InputError(f"{what} not found: {path}")


def _one_line(error: Exception) -> str:
    """Hydra's message on one line, without its pointers to docs and stack traces."""
    lines = [line.strip() for line in str(error).splitlines()]
    keep = [line for line in lines if line and not line.startswith(("See https", "Set the env"))]
    return " ".join(keep)


def check_overrides(overrides: Sequence[str], multirun: bool = False) -> None:
    """Compose the config with the command-line overrides as ``train.py`` will.

    In a multirun, every value of a sweep over a config group or top-level key (``task=a,b``)
    is checked, one composition each; a sweep over a nested key (``task.stages=1,2``) takes its
    first value.

    Raises:
        InputError: an unknown config option (e.g. ``task=foo``) or key, or an unparsable
            override, as one line.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from dipsys.config import compose_config

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
        if not multirun:
            compose_config(list(overrides))
            return
        sweeps = [o for o in parsed if o.is_sweep_override() and o.is_discrete_sweep()]
        plain = [o.input_line for o in parsed if not o.is_sweep_override()]
        firsts = [f"{o.get_key_element()}={next(o.sweep_string_iterator())}" for o in sweeps]
        compose_config(plain + firsts)
        for index, sweep in enumerate(sweeps):
            if "." in sweep.key_or_group:
                continue
            others = firsts[:index] + firsts[index + 1 :]
            for value in list(sweep.sweep_string_iterator())[1:]:
                compose_config(plain + others + [f"{sweep.get_key_element()}={value}"])
    except (HydraException, OmegaConfBaseException) as error:
        raise InputError(_one_line(error)) from None
