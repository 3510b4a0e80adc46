"""Restarts: one task from several seeds, layers merged by pixel-wise median."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from dipsys.errors import InputError
from dipsys.run import train
from dipsys.systems import Restarts, median_layers


def test_median_layers_takes_the_middle_value_per_pixel():
    runs = [{"clean": torch.full((3, 2, 2), v)} for v in (0.9, 0.1, 0.4)]
    runs[0]["clean"][0, 0, 0] = 0.0  # an outlier in one run loses to the other two
    merged = median_layers(runs)["clean"]
    assert merged.shape == (3, 2, 2)
    assert merged[0, 0, 0] == pytest.approx(0.1)
    assert merged[1, 1, 1] == pytest.approx(0.4)
    video = median_layers([{"y": torch.full((4, 3, 2, 2), v)} for v in (0.2, 0.8)])["y"]
    assert video.shape == (4, 3, 2, 2) and video.max() == pytest.approx(0.2)  # the lower middle


@pytest.mark.parametrize(
    ("restarts", "steps", "message"), [(1, 10, "2 or more"), (3, 0, "positive")]
)
def test_bad_restart_options(restarts, steps, message):
    with pytest.raises(InputError, match=message):
        Restarts(restarts, steps)


def test_watermark_restarts_write_the_median_of_their_runs(make_cfg):
    # the DIP result: the default affine removal does not depend on the seed
    cfg = make_cfg("task=watermark", "task.restarts=3", "task.removal=dip", "trainer.max_steps=4")
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    assert metrics["restarts"] == 3 and len(metrics["stages"]) == 3
    assert [s["steps"] for s in metrics["stages"]] == [4, 4, 4]
    assert json.loads((run / "metrics.json").read_text()) == metrics
    for key in ("psnr", "psnr_box", "input", "baselines", "psnr_recon"):
        assert key in metrics, key
    assert metrics["psnr_recon"] == max(s["psnr_recon"] for s in metrics["stages"])

    def clean(folder: Path) -> np.ndarray:
        return cv2.imread(str(folder / "layers" / "clean.png")).astype(int)

    runs = np.stack([clean(run / f"stage_{i}") for i in range(3)])
    assert not np.array_equal(runs[0], runs[1])  # different seeds, different runs
    merged = clean(run)
    # the median of 8-bit PNGs may differ by one level from the PNG of the float median
    assert np.abs(merged - np.median(runs, axis=0)).max() <= 1
    assert (run / "baselines" / "inpaint.png").is_file()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("task=watermark", "task.restarts=0"), "positive whole number"),
        (("task=dehaze_iterative", "+task.restarts=2"), "applies to single tasks"),
        (("task=watermark", "task.restarts=2"), "does not depend on the seed"),
        (
            ("task=watermark_multi", "task.bbox=[146,80,248,121]", "task.restarts=2"),
            "does not depend on the seed",
        ),
    ],
)
def test_restarts_errors_before_any_training(make_cfg, overrides, message):
    cfg = make_cfg(*overrides)
    with pytest.raises(InputError, match=message):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "layers").exists()
