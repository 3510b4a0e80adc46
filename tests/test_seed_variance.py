"""scripts/seed_variance.py without training: overrides per task, options, the table."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import ROOT


def _script():
    spec = importlib.util.spec_from_file_location(
        "seed_variance", ROOT / "scripts" / "seed_variance.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sv = _script()


def test_every_shipped_task_by_default():
    args = sv.parse_args([])
    assert args.tasks == sorted(p.stem for p in (ROOT / "conf" / "task").glob("*.yaml"))
    assert args.seeds == [0, 1, 2] and args.steps is None and args.max_side is None


def test_overrides_use_a_systems_own_step_keys():
    assert sv.overrides("dehaze", 2, 300, 64) == [
        "task=dehaze",
        "seed=2",
        "trainer.enable_progress_bar=false",
        "trainer.max_steps=300",
        "data.max_side=64",
    ]
    assert "task.steps=[100,200]" in sv.overrides("dehaze_iterative", 0, 300, None)
    assert "task.steps=300" in sv.overrides("segmentation_3layer_system", 0, 300, None)
    assert sv.overrides("watermark", 1, None, None) == [
        "task=watermark",
        "seed=1",
        "trainer.enable_progress_bar=false",
    ]


@pytest.mark.parametrize("argv", [["--steps", "1"], ["--seeds", "0", "0"], ["--tasks", "nope"]])
def test_bad_options(argv):
    with pytest.raises(SystemExit):
        sv.parse_args(argv)


def test_table_of_fake_metrics():
    def result(task, seed, **figures):
        metrics = {"steps": 300, "working_size": [48, 64], "total_wall_s": 10.0 + 2 * seed}
        return {"task": task, "seed": seed, "metrics": {**metrics, **figures}}

    results = [
        result("transparency", 0, psnr=20.0, psnr2=15.0, ssim=0.9),
        result("transparency", 1, psnr=22.0, psnr2=17.0, ssim=0.9),
        result("segmentation_3layer_system", 0, iou=0.5),
        result("segmentation_3layer_system", 1, iou=0.7),
    ]
    lines = sv.table(results, 300).splitlines()
    assert lines[0].startswith("| task | steps | working size | figure | mean ± std | min |")
    assert lines[2] == (
        "| transparency | 300 | 64×48 | psnr / psnr2 | 21.000 ± 1.414 / 16.000 ± 1.414 "
        "| 20.000 / 15.000 | 11 |"
    )
    assert (
        lines[3]
        == "| segmentation_3layer_system | 3×300 | 64×48 | iou | 0.600 ± 0.141 | 0.500 | 11 |"
    )
