"""scripts/evaluate.py on a tiny dataset laid out as folders (hazy/ + gt/)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from tests.conftest import ROOT, write_png


def test_evaluate_folder_suite(tmp_path):
    rng = np.random.default_rng(0)
    suite = tmp_path / "suite"
    for name in ("0001", "0002"):
        clean = rng.integers(0, 255, (70, 90, 3), dtype=np.uint8)
        write_png(suite / "gt" / f"{name}.png", clean)
        write_png(suite / "hazy" / f"{name}_0.8_0.1.png", (clean * 0.5 + 100).astype(np.uint8))
    out = tmp_path / "report"
    command = [
        sys.executable,
        str(ROOT / "scripts" / "evaluate.py"),
        "--suite",
        str(suite),
        "--tasks",
        "dehaze",
        "--steps",
        "2",
        "3",
        "--seeds",
        "0",
        "1",
        "--max-side",
        "64",
        "--out",
        str(out),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert len(results) == 2 * 2 * 2
    report = (out / "report.md").read_text()
    assert "| dehaze | all |" in report and "| baseline: dcp | all |" in report
    assert " ± " in report
    for case in (
        "0001_0.8_0.1",
        "0002_0.8_0.1",
    ):
        assert (out / "figures" / f"{case}.png").exists()
    assert (out / "figures" / "metric_vs_steps.png").exists()
