"""train.py as a user runs it: bad input ends in one clear line and a non-zero exit."""

from __future__ import annotations

import os
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
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert not (tmp_path / "run" / "layers").exists()


def test_jpeg_of_other_size_runs_end_to_end(tmp_path):
    rng = np.random.default_rng(1)
    image = np.clip(rng.normal(128, 40, (90, 130, 3)), 0, 255).astype(np.uint8)
    path = write_png(tmp_path / "photo.jpg", image)
    result = run_train(tmp_path, f"data.image={path}", "data.gt=null", "trainer.max_steps=3")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "run" / "layers" / "clean.png").exists()
    assert (tmp_path / "run" / "metrics.json").exists()
