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
        "--airlight-set",
        str(tmp_path / "no_such_set"),
        "--report",
        str(tmp_path / "docs" / "results.md"),
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
    page = (tmp_path / "docs" / "results.md").read_text()
    assert page == (out / "results_dehazing.md").read_text()
    assert "| 0001_0.8_0.1 |" in page and "baseline: nonlocal" in page
    assert "Airlight error" not in page  # no annotated set was given


def test_dehazing_report_tables():
    sys.path.insert(0, str(ROOT / "scripts"))
    from dehazing_report import dehazing_report

    def run(task, case, psnr, stages=None):
        metrics = {
            "psnr": psnr,
            "ssim": 0.5,
            "input": {"psnr": 10.0, "ssim": 0.4},
            "baselines": {"dcp": {"psnr": 12.0, "ssim": 0.45}},
        }
        if stages:
            metrics["stages"] = [{"psnr": p, "ssim": 0.5, "haze_left": 0.3} for p in stages]
            metrics["returned_stage"] = 0
        return {"task": task, "case": case, "seed": 0, "steps": 9, "metrics": metrics}

    results = [
        run("dehaze", "00_a_uniform_b1.0", 14.0),
        run("dehaze", "01_b_gradient_b2.0", 16.0),
        run("dehaze_iterative", "00_a_uniform_b1.0", 13.0, stages=[13.0]),
        run("dehaze_iterative", "01_b_gradient_b2.0", 15.0, stages=[15.0, 14.0]),
    ]
    # the first iterative run's only stage trained on for the 6 steps stage 1 did not use
    results[2]["metrics"]["stages"][0].update(steps=9, extended_from={"steps": 3, "haze_left": 0.2})
    airlight = {"photo": {"haze_lines": 0.05, "dark_channel": 0.1}}
    page = dehazing_report(results, 9, "cmd", [0], airlight)
    assert "| dehaze | 15.00 ± 1.41 |" in page  # mean ± std over the two cases
    assert "| baseline: dcp | 12.00 ± 0.00 |" in page
    assert "| 01_b_gradient_b2.0 | 0 | 2 | 0 | 15.00 → 14.00 |" in page
    assert "More than one stage ran on 1 of 2 cases (01_b_gradient_b2.0)" in page
    assert "| 00_a_uniform_b1.0 | 0 | 1 | 0 | 13.00 | 0.200 | 3+6 |" in page
    assert "| 15.00 → 14.00 | 0.300 → 0.300 | ? → ? |" in page
    assert "On 1 of 2 runs the stopping stage trained on" in page
    assert "| **median** | **0.050** | **0.100** |" in page
