"""Banded airlight map: the haze colour fitted band by band, for skies that change colour."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
import torch
import torch.nn.functional as F

from dipsys.data.synthetic.haze_suite import gradient_airlight
from dipsys.errors import InputError
from dipsys.ops.airlight_bound import bounded_airlight
from dipsys.ops.airlight_map import banded_airlight_map
from dipsys.ops.haze import add_haze
from dipsys.run import train
from tests.conftest import write_png

BOTTOM, TOP = (0.95, 0.78, 0.60), (0.60, 0.70, 0.90)  # a warm horizon under a blue zenith


def _dusk_scene(size: int = 96) -> dict[str, torch.Tensor]:
    """Dark 6×6 tiles under haze that is dense everywhere (t 0.05–0.3, densest at the top) and
    whose airlight turns from warm at the bottom to blue at the top."""
    g = torch.Generator().manual_seed(0)
    clean = F.interpolate(0.05 + 0.4 * torch.rand(1, 3, 16, 16, generator=g), size=(size, size))
    t = torch.linspace(0.05, 0.3, size).view(1, 1, size, 1).expand(1, 1, size, size)
    airlight = gradient_airlight(size, size, BOTTOM, TOP, tilt=0.0)[None]
    return {"hazy": add_haze(clean, t, airlight), "airlight": airlight}


def test_map_follows_a_sky_that_changes_colour():
    scene = _dusk_scene()
    estimate = banded_airlight_map(scene["hazy"])
    assert estimate.shape == scene["hazy"].shape
    map_error = (estimate - scene["airlight"]).norm(dim=1).mean().item()
    colour_error = (bounded_airlight(scene["hazy"]) - scene["airlight"]).norm(dim=1).mean().item()
    assert map_error < 0.6 * colour_error
    # blue above, warm below: the fitted colour turns the way the sky does
    top, bottom = estimate[0, :, 0, 0], estimate[0, :, -1, 0]
    assert top[2] - top[0] > 0.1 and bottom[0] - bottom[2] > 0.1


def test_banded_dehaze_run_exports_a_map(make_cfg, tmp_path):
    hazy = _dusk_scene(64)["hazy"][0].permute(1, 2, 0).numpy()[..., ::-1] * 255
    path = write_png(tmp_path / "dusk.png", hazy.round().astype("uint8"))
    cfg = make_cfg(f"data.image={path}", "data.gt=null", "task.module.airlight=banded")
    train(cfg)
    run = Path(cfg.paths.output_dir)
    airlight = cv2.imread(str(run / "layers" / "airlight.png"))[..., ::-1] / 255.0
    assert airlight.shape[:2] == (64, 64)
    top, bottom = airlight[2].mean(axis=0), airlight[-3].mean(axis=0)
    assert top[2] - top[0] > 0.1 and bottom[0] - bottom[2] > 0.1
    assert json.loads((run / "metrics.json").read_text())["task"] == "dehaze"


def test_video_dehaze_refuses_a_banded_airlight(make_cfg):
    cfg = make_cfg("task=video_dehaze", "task.module.airlight=banded")
    with pytest.raises(InputError, match="banded"):
        train(cfg)
