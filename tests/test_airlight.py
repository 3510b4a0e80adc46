"""Airlight estimators (haze-lines voting, dark channel), haze left, non-local dehazing."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dipsys.ops.airlight import (
    AIRLIGHT_ESTIMATORS,
    airlight_estimator,
    color_clusters,
    haze_lines_airlight,
)
from dipsys.ops.dark_channel import estimate_airlight, haze_left
from dipsys.ops.haze import add_haze
from dipsys.ops.nonlocal_dehaze import nonlocal_dehaze, sphere_points

AIRLIGHT = torch.tensor([0.70, 0.78, 0.88]).view(1, 3, 1, 1)


def _haze_line_scene(size: int = 64) -> dict[str, torch.Tensor]:
    """Eight scene colours in vertical stripes; the haze thickens left → right but never
    reaches the airlight (t ≥ 0.35), so the brightest pixels are far darker than A."""
    g = torch.Generator().manual_seed(0)
    palette = 0.05 + 0.6 * torch.rand(8, 3, generator=g)
    rows = torch.arange(size) * 8 // size
    clean = palette[rows].T.reshape(3, size, 1).expand(3, size, size)[None]
    t = torch.linspace(1.0, 0.35, size).view(1, 1, 1, size).expand(1, 1, size, size)
    return {"clean": clean, "t": t, "hazy": add_haze(clean, t, AIRLIGHT)}


def test_color_clusters_cover_the_image():
    image = torch.rand(3, 20, 30, generator=torch.Generator().manual_seed(1))
    colors, weights = color_clusters(image, levels=4)
    assert colors.shape[1] == 3 and colors.shape[0] == weights.shape[0] <= 64
    assert weights.sum().item() == pytest.approx(1.0)
    flat = torch.zeros(3, 5, 5)
    flat[:, :, :2] = 0.2  # two colours, 10 and 15 pixels
    colors, weights = color_clusters(flat, levels=8)
    assert sorted(weights.tolist()) == pytest.approx([0.4, 0.6])


def test_haze_lines_extrapolate_to_an_airlight_no_pixel_shows():
    scene = _haze_line_scene()
    voted = haze_lines_airlight(scene["hazy"])
    brightest = estimate_airlight(scene["hazy"])
    assert voted.shape == (1, 3, 1, 1)
    voted_error = (voted - AIRLIGHT).norm().item()
    assert voted_error < 0.15  # the brightest-pixel estimate is ≈ 0.2 off
    assert voted_error < (brightest - AIRLIGHT).norm().item() - 0.05


def test_estimator_registry():
    assert set(AIRLIGHT_ESTIMATORS) == {"haze_lines", "dark_channel", "haziest_region", "bounded"}
    assert airlight_estimator("dark_channel") is estimate_airlight
    with pytest.raises(ValueError, match="haze_lines"):
        airlight_estimator("brightest")


def test_haze_left_grows_with_haze():
    scene = _haze_line_scene()
    levels = [
        haze_left(add_haze(scene["clean"], torch.full_like(scene["t"], t), AIRLIGHT), AIRLIGHT)
        for t in (1.0, 0.7, 0.4)
    ]
    assert levels[0].shape == (1,)
    assert levels[0] < levels[1] < levels[2]
    assert levels[2].item() == pytest.approx(0.6, abs=0.15)  # ≈ 1 − t where J is dark


def test_nonlocal_dehaze_recovers_the_scene():
    scene = _haze_line_scene()
    out = nonlocal_dehaze(scene["hazy"], AIRLIGHT)
    assert out["clean"].shape == scene["hazy"].shape and out["transmission"].shape[1] == 1
    err_in = F.mse_loss(scene["hazy"], scene["clean"])
    err_out = F.mse_loss(out["clean"], scene["clean"])
    assert err_out < 0.25 * err_in
    points = sphere_points(100)
    assert torch.allclose(points.norm(dim=1), torch.ones(100), atol=1e-5)
