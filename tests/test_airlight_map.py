"""Banded airlight map: the haze colour fitted band by band, for skies that change colour."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
import torch
import torch.nn.functional as F

from dipsys.data.synthetic.haze_suite import gradient_airlight, haze_suite
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
    assert map_error < 0.7 * colour_error
    # blue above, warm below: the fitted colour turns the way the sky does
    top, bottom = estimate[0, :, 0, 0], estimate[0, :, -1, 0]
    assert top[2] - top[0] > 0.1 and bottom[0] - bottom[2] > 0.05


def _angles(airlight_map: torch.Tensor) -> torch.Tensor:
    """Degrees between each row's colour and the map's mean colour."""
    rows = F.normalize(airlight_map[0, :, :, 0].T, dim=1)  # (H, 3)
    mean = F.normalize(rows.mean(dim=0), dim=0)
    return torch.rad2deg(torch.acos((rows @ mean).clamp(-1, 1)))


def test_map_stays_one_colour_under_uniform_haze():
    """The dehazing suite's 16 uniform-airlight cases: each band's haziest pixels are partly
    scene (light haze over a brown coffee cup, a white suit), so a fit through them alone tilts
    the map by up to ~10°; weighted by how dense their haze is, against the prior at the global
    colour, the map stays within a few degrees of one colour."""
    uniform = [c["hazy"][None] for c in haze_suite(96, 24).values() if bool(c["uniform"])]
    assert len(uniform) == 16
    tilt = max(float(_angles(banded_airlight_map(hazy)).max()) for hazy in uniform)
    unanchored = max(
        float(_angles(banded_airlight_map(hazy, colour_error=90.0)).max()) for hazy in uniform
    )
    assert tilt < 2.5 and unanchored > 8.0


def test_banded_dehaze_run_exports_a_map(make_cfg, tmp_path):
    hazy = _dusk_scene(64)["hazy"][0].permute(1, 2, 0).numpy()[..., ::-1] * 255
    path = write_png(tmp_path / "dusk.png", hazy.round().astype("uint8"))
    cfg = make_cfg(f"data.image={path}", "data.gt=null")  # banded: the default
    train(cfg)
    run = Path(cfg.paths.output_dir)
    airlight = cv2.imread(str(run / "layers" / "airlight.png"))[..., ::-1] / 255.0
    assert airlight.shape[:2] == (64, 64)
    top, bottom = airlight[2].mean(axis=0), airlight[-3].mean(axis=0)
    assert top[2] - top[0] > 0.1 and bottom[0] - bottom[2] > 0.05
    assert json.loads((run / "metrics.json").read_text())["task"] == "dehaze"


def test_video_dehaze_refuses_a_banded_airlight(make_cfg):
    cfg = make_cfg("task=video_dehaze", "task.module.airlight=banded")
    with pytest.raises(InputError, match="banded"):
        train(cfg)


def test_a_banded_map_at_the_working_size_reloads_from_a_checkpoint(make_cfg, tmp_path):
    """The map is broadcast along the width; at a working size equal to the image's it must
    still be a buffer a checkpoint can be loaded into (a stopped system trains stage 0 on from
    its checkpoint)."""
    hazy = _dusk_scene(64)["hazy"][0].permute(1, 2, 0).numpy()[..., ::-1] * 255
    path = write_png(tmp_path / "dusk.png", hazy.round().astype("uint8"))
    cfg = make_cfg(
        "task=dehaze_iterative", f"data.image={path}", "data.gt=null", "data.max_side=64",
        "task.steps=[3,2]", "task.haze_stop=1.0",
    )  # fmt: skip
    metrics = train(cfg)
    assert metrics["steps"] == 5 and metrics["stages"][0]["extended_from"]["steps"] == 3
