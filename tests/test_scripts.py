"""Every script under scripts/ imports and, where it has a command line, answers ``--help``.

The evaluation scripts run for hours on the dev data, so CI never runs them whole; this is
what catches a broken import or argument parser there (e.g. a helper moved between modules).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys

import pytest

from tests.conftest import ROOT

SCRIPTS = sorted(path.stem for path in (ROOT / "scripts").glob("*.py"))


def _load(name: str, monkeypatch):
    """The script as a module, importing its siblings the way ``python scripts/x.py`` does;
    ``sys.path`` and ``sys.modules`` are restored after the test."""
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_script_{name}", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setattr(sys, "path", [str(ROOT / "scripts"), *sys.path])
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look it up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_imports_and_answers_help(name, monkeypatch):
    module = _load(name, monkeypatch)
    main = getattr(module, "main", None)
    if main is None:  # a library of the other scripts
        return
    monkeypatch.setattr(sys, "argv", [f"{name}.py", "--help"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 0
    assert "usage:" in out.getvalue()


def test_every_test_the_quality_check_breaks_exists(monkeypatch):
    """``check_quality_tests.py`` names tests by path; a renamed or removed test would leave
    an entry that only reports ERROR (it once held a watermark_multi test removed long before).
    """
    pairs = _load("check_quality_tests", monkeypatch).PAIRS
    for target in pairs:
        path, _, name = target.partition("::")
        assert (ROOT / path).is_file(), target
        if name:
            assert f"def {name}(" in (ROOT / path).read_text(), target
