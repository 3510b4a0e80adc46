"""What ``dipsys --help`` lists, read from the configs at help time so it cannot go stale.

Each task's one line is the first sentence of the comment block at the top of its
``conf/task/<name>.yaml``, up to its forward model (", I ≈ …") and without its reference to the
implementing class, cut to fit one line.
"""

from __future__ import annotations

import re
from pathlib import Path

from omegaconf import OmegaConf

from dipsys.config import REPO_ROOT

#: columns a task's line may take after its name
DESCRIPTION_WIDTH = 80
_CLASS_REFERENCE = re.compile(r"\s*\((?:[^()]*;\s*)?dipsys\.[\w.]+\)|;\s*dipsys\.[\w.]+")
_SENTENCE_END = re.compile(r"\.(?:\s|$)")
_FORMULA = re.compile(r",\s+I\S*\s*[≈=]")


def header_comment(path: Path) -> str:
    """The first block of ``#`` comment lines of a YAML file, without ``# @package``, as one
    string (lines joined by spaces)."""
    block: list[str] = []
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and not stripped.startswith("# @package"):
            block.append(stripped.lstrip("#").strip())
        elif block:
            break
    return " ".join(part for part in block if part)


def one_line(text: str, width: int = DESCRIPTION_WIDTH) -> str:
    """The first sentence of ``text`` up to its formula, without class references, at most
    ``width`` characters (cut at a word, ending in "…")."""
    text = _CLASS_REFERENCE.sub("", text)
    end = _SENTENCE_END.search(text)
    sentence = text[: end.start()] if end else text
    sentence = _FORMULA.split(sentence)[0].strip().rstrip(",;:")
    if len(sentence) <= width:
        return sentence
    cut = sentence[: width - 1].rsplit(" ", 1)[0].rstrip(",;:—- ")
    return cut + "…"


def task_lines(conf_dir: Path | None = None) -> str:
    """One line per task of ``conf/task/``: ``<name>  <description>``, sorted by name."""
    folder = (conf_dir or REPO_ROOT / "conf") / "task"
    files = sorted(folder.glob("*.yaml"))
    names = [path.stem for path in files]
    pad = max(len(name) for name in names) + 2
    return "\n".join(
        f"  {name.ljust(pad)}{one_line(header_comment(path))}"
        for name, path in zip(names, files, strict=True)
    )


def register_help_resolver() -> None:
    """``${dipsys_tasks:}`` in the help template (conf/hydra/help/dipsys.yaml)."""
    OmegaConf.register_new_resolver("dipsys_tasks", lambda: task_lines(), replace=True)
