"""The command as a user runs it (``dipsys``, ``python -m dipsys``, ``train.py``): its help, hints
for mistyped keys, the progress and closing line, and errors that leave no clutter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, write_png


def run_train(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    command = [sys.executable, str(ROOT / "train.py"), "debug=ci", f"hydra.run.dir={tmp_path}/run"]
    return subprocess.run(
        [*command, *overrides], capture_output=True, text=True, env=env, timeout=300
    )


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    tiny = write_png(tmp_path / "tiny.png", np.zeros((20, 20, 3), np.uint8))
    return {
        "missing": (tmp_path / "nope.png", "image not found"),
        "corrupt": (corrupt, "cannot decode image"),
        "tiny": (tiny, "20×20"),
    }


@pytest.mark.parametrize("case", ["missing", "corrupt", "tiny"])
def test_bad_image_is_one_clear_line(tmp_path, case):
    path, message = _bad_inputs(tmp_path)[case]
    result = run_train(tmp_path, f"data.image={path}", "data.gt=null")
    assert result.returncode == 2
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "run").exists()  # no run folder holding only Hydra's files


def test_jpeg_of_other_size_runs_end_to_end(tmp_path):
    rng = np.random.default_rng(1)
    image = np.clip(rng.normal(128, 40, (90, 130, 3)), 0, 255).astype(np.uint8)
    path = write_png(tmp_path / "photo.jpg", image)
    result = run_train(tmp_path, f"data.image={path}", "data.gt=null", "trainer.max_steps=3")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "run" / "layers" / "clean.png").exists()
    assert (tmp_path / "run" / "metrics.json").exists()


def run_module(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    command = [sys.executable, "-m", "dipsys", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)


def test_the_console_command_is_the_cli():
    """``[project.scripts]`` (read as text: tomllib needs Python 3.11) points at dipsys.cli:main."""
    from dipsys.cli import main

    pyproject = (ROOT / "pyproject.toml").read_text()
    section = pyproject.split("[project.scripts]\n")[1].split("\n[")[0]
    assert section.strip() == 'dipsys = "dipsys.cli:main"'
    assert callable(main)


def test_help_lists_every_task_the_common_keys_and_five_examples():
    result = run_module("--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    tasks = sorted(path.stem for path in (ROOT / "conf" / "task").glob("*.yaml"))
    listed = re.findall(r"^  (\w+) {2,}\S.*$", text.split("Tasks")[1].split("Common keys")[0], re.M)
    assert listed == tasks
    for key in ("data.image=", "data.video=", "trainer.max_steps=", "data.gt=", "task.bbox="):
        assert key in text.split("Common keys")[1], key
    examples = text.split("Examples:")[1].split("\n\n")[0].strip().splitlines()
    assert len(examples) == 5 and all(line.strip().startswith("dipsys") for line in examples)
    assert "== Config ==" not in text  # not Hydra's dump of the whole config


@pytest.mark.parametrize(
    ("override", "hint"),
    [
        (
            "trainer.max_stepz=20",
            "unknown key 'trainer.max_stepz': did you mean trainer.max_steps?",
        ),
        ("data.hint.fg=a.png", "unknown key 'data.hint.fg': did you mean data.hints.fg?"),
        ("task=dehze", "unknown task 'dehze': did you mean task=dehaze?"),
    ],
)
def test_a_mistyped_key_gets_the_closest_valid_one(tmp_path, override, hint):
    overrides = ["task=segmentation", override] if "hint" in override else [override]
    result = run_train(tmp_path, *overrides)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {hint}")
    assert not (tmp_path / "run").exists()


def test_a_run_shows_steps_and_ends_with_its_figures(tmp_path):
    result = run_train(tmp_path, "trainer.enable_progress_bar=true")
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "step 6/6" in out and "PSNR_recon" in out
    for chatter in ("Epoch", "GPU available", "TPU available", "💡", "Trainer.fit"):
        assert chatter not in out + result.stderr, chatter
    last = out.replace("\r", "\n").strip().splitlines()[-1]
    figures = r"PSNR \d+\.\d\d dB \(input \d+\.\d\d, DCP \d+\.\d\d, nonlocal \d+\.\d\d\)"
    assert re.fullmatch(rf"dehaze: {figures} · \d+ s · .*run", last), last
    assert last in (tmp_path / "run" / "train.log").read_text()


def test_a_system_labels_its_stages(tmp_path):
    result = run_train(
        tmp_path,
        "task=dehaze_iterative",
        "task.steps=[2,2]",
        "task.haze_stop=null",  # both stages run, whatever haze stage 0 leaves
        "trainer.enable_progress_bar=true",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "stage 1/2 · step 2/2" in result.stdout and "stage 2/2 · step 2/2" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("dehaze_iterative: PSNR ")


def test_an_error_in_a_folder_with_results_is_kept_in_its_log(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("an earlier result")
    result = run_train(tmp_path, f"data.image={tmp_path / 'nope.png'}")
    assert result.returncode == 2
    assert (tmp_path / "run" / "notes.txt").is_file()
    assert "error: image not found" in (tmp_path / "run" / "train.log").read_text()
