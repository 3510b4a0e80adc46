"""Hints for a mistyped command line: the closest valid key or config option, as one line.

Hydra answers ``trainer.max_stepz=20`` with "To append to your config use
+trainer.max_stepz=20", which adds a key nothing reads; the closest existing key is the likely
intent.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence

from omegaconf import DictConfig

from dipsys.config import REPO_ROOT

_UNKNOWN_KEY = re.compile(r"Could not override '([^']+)'")
_UNKNOWN_OPTION = re.compile(r"Could not find '([^']+)/([^'/]+)'")


def config_keys(cfg: DictConfig, prefix: str = "") -> Iterator[str]:
    """Every dotted key of ``cfg`` (nested mappings included, values unresolved)."""
    for key in cfg:
        dotted = f"{prefix}{key}"
        yield dotted
        node = cfg._get_node(key)
        if isinstance(node, DictConfig) and not node._is_missing() and not node._is_none():
            yield from config_keys(node, f"{dotted}.")


def closest(word: str, candidates: Sequence[str]) -> str | None:
    """The candidate most like ``word`` (None when none is close)."""
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def _override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def unknown_key_line(key: str, overrides: Sequence[str]) -> str:
    """One line for an override of a key the config does not have."""
    from dipsys.config import compose_config

    others = [o for o in overrides if _override_key(o) != key]
    try:
        cfg = compose_config(others)
    except Exception:  # the other overrides fail too: suggest from the defaults
        cfg = compose_config([])
    suggestion = closest(key, list(config_keys(cfg)))
    if suggestion:
        return f"unknown key '{key}': did you mean {suggestion}?"
    return f"unknown key '{key}' (dipsys --cfg job lists the keys)"


def unknown_option_line(group: str, option: str) -> str:
    """One line for a config option that does not exist, e.g. ``task=dehze``."""
    options = sorted(path.stem for path in (REPO_ROOT / "conf" / group).glob("*.yaml"))
    suggestion = closest(option, options)
    line = f"unknown {group} '{option}'"
    if suggestion:
        line += f": did you mean {group}={suggestion}?"
    return f"{line} ({group}: {', '.join(options)})"


def explain(message: str, overrides: Sequence[str]) -> str:
    """Hydra's one-line error, replaced by a hint when it is a mistyped key or option."""
    option = _UNKNOWN_OPTION.search(message)
    if option:
        return unknown_option_line(option.group(1), option.group(2))
    key = _UNKNOWN_KEY.search(message)
    if key:
        return unknown_key_line(key.group(1), overrides)
    return message
