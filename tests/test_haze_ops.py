"""Haze model, dark channel prior, guided filter and resize."""

from __future__ import annotations

import importlib

import pytest
import torch
import torch.nn.functional as F

from dipsys.ops import (
    add_haze,
    dark_channel,
    dcp_dehaze,
    effective_radius,
    estimate_airlight,
    guided_filter,
    guided_filter_torch,
    remove_haze,
    resize,
)
from dipsys.ops.guided_filter import _HAS_XIMGPROC

AIRLIGHT = (0.8, 0.85, 0.9)


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return (10 * torch.log10(1 / F.mse_loss(a, b))).item()


def _smooth(generator: torch.Generator, channels: int, size: int) -> torch.Tensor:
    coarse = torch.rand(1, channels, 5, 5, generator=generator)
    return F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)


def _hazy_scene(size: int = 64) -> dict[str, torch.Tensor]:
    """Smooth texture with a dark pixel every 4 px, haze growing left→right, opaque sky at right."""
    g = torch.Generator().manual_seed(0)
    airlight = torch.tensor(AIRLIGHT).view(1, 3, 1, 1)
    clean = 0.3 + 0.65 * _smooth(g, 3, size)
    clean[:, :, ::4, ::4] = 0.02
    sky = torch.zeros(1, 1, size, size, dtype=torch.bool)
    sky[..., -size // 5 :] = True  # sky: radiance ≈ airlight, almost no transmission
    clean = torch.where(sky, airlight.expand_as(clean), clean)
    t = torch.linspace(0.95, 0.35, size).view(1, 1, 1, size).expand(1, 1, size, size)
    t = torch.where(sky, torch.full_like(t, 0.02), t)
    return {"clean": clean, "t": t, "airlight": airlight, "hazy": add_haze(clean, t, airlight)}


def test_haze_round_trip_exact_where_t_above_floor():
    g = torch.Generator().manual_seed(1)
    clean = torch.rand(2, 3, 16, 20, generator=g)
    t = torch.rand(2, 1, 16, 20, generator=g)
    for airlight in (torch.rand(2, 3, 1, 1, generator=g), torch.rand(2, 3, 16, 20, generator=g)):
        hazy = add_haze(clean, t, airlight)
        assert hazy.shape == clean.shape
        recovered = remove_haze(hazy, t, airlight, t_min=0.1, clip=False)
        ok = (t >= 0.1).expand_as(clean)
        torch.testing.assert_close(recovered[ok], clean[ok], atol=1e-5, rtol=0)
        assert remove_haze(hazy, t, airlight).clamp(0, 1).equal(remove_haze(hazy, t, airlight))


def test_dark_channel_matches_naive_loop():
    g = torch.Generator().manual_seed(2)
    image = torch.rand(2, 3, 7, 9, generator=g)
    for patch in (3, 4):
        lo, hi = (patch - 1) // 2, patch // 2
        expected = torch.empty(2, 1, 7, 9)
        channel_min = image.amin(dim=1)
        for b in range(2):
            for i in range(7):
                for j in range(9):
                    rows = [min(max(y, 0), 6) for y in range(i - lo, i + hi + 1)]
                    cols = [min(max(x, 0), 8) for x in range(j - lo, j + hi + 1)]
                    expected[b, 0, i, j] = channel_min[b][rows][:, cols].min()
        assert dark_channel(image, patch).equal(expected)


def test_airlight_estimate_close_to_truth_on_small_image():
    scene = _hazy_scene(64)  # 64² · 1e-4 < 1: the reference selected no pixel here
    estimate = estimate_airlight(scene["hazy"], patch=7)
    assert estimate.shape == (1, 3, 1, 1)
    assert (estimate - scene["airlight"]).abs().max() < 0.05


def test_dcp_dehaze_improves_psnr():
    scene = _hazy_scene(64)
    out = dcp_dehaze(scene["hazy"], patch=7)
    assert out["clean"].shape == (1, 3, 64, 64)
    assert out["transmission"].shape == (1, 1, 64, 64)
    assert out["airlight"].shape == (1, 3, 1, 1)
    assert out["transmission"].min() >= 0.1 and out["transmission"].max() <= 1
    hazy_psnr = _psnr(scene["hazy"], scene["clean"])
    assert _psnr(out["clean"], scene["clean"]) > hazy_psnr + 8


def test_guided_filter_shape_and_constant_source():
    g = torch.Generator().manual_seed(3)
    guide = torch.rand(2, 3, 20, 24, generator=g)
    src = torch.full((2, 2, 20, 24), 0.3)
    for backend in ("auto", "torch"):
        out = guided_filter(guide, src, radius=50, eps=1e-3, backend=backend)
        assert out.shape == src.shape
        torch.testing.assert_close(out, src, atol=1e-5, rtol=0)
    assert effective_radius(50, 20, 24) == 19


@pytest.mark.skipif(not _HAS_XIMGPROC, reason="needs opencv-contrib")
@pytest.mark.parametrize("guide_channels", [1, 3])
def test_guided_filter_opencv_and_torch_agree(guide_channels: int):
    g = torch.Generator().manual_seed(4)
    guide = torch.rand(2, guide_channels, 24, 31, generator=g)
    src = torch.rand(2, 2, 24, 31, generator=g)
    for radius in (3, 50):
        cv = guided_filter(guide, src, radius, 1e-2, backend="opencv")
        th = guided_filter_torch(guide, src, radius, 1e-2)
        torch.testing.assert_close(cv, th, atol=1e-4, rtol=0)


def test_guided_filter_torch_is_differentiable():
    g = torch.Generator().manual_seed(5)
    guide = torch.rand(1, 3, 12, 12, generator=g)
    src = torch.rand(1, 1, 12, 12, generator=g, requires_grad=True)
    guided_filter_torch(guide, src, 2, 1e-2).sum().backward()
    assert src.grad is not None and torch.isfinite(src.grad).all()


@pytest.mark.parametrize("mode", ["bicubic", "bilinear", "nearest", "area"])
def test_resize_shapes_and_range(mode: str):
    g = torch.Generator().manual_seed(6)
    x = torch.rand(2, 3, 32, 48, generator=g)
    for size in ((16, 24), (40, 50), (32, 20)):
        y = resize(x, size, mode=mode)
        assert y.shape == (2, 3, *size)
        assert y.min() >= 0 and y.max() <= 1
    assert resize(x, (32, 48), mode=mode) is x
    with pytest.raises(ValueError):
        resize(x, (0, 5), mode=mode)


def test_guided_filter_falls_back_to_torch_without_opencv(monkeypatch: pytest.MonkeyPatch):
    # importlib: the package attribute ``dipsys.ops.guided_filter`` is the function, not the module.
    gf_module = importlib.import_module("dipsys.ops.guided_filter")
    monkeypatch.setattr(gf_module, "_HAS_XIMGPROC", False)
    g = torch.Generator().manual_seed(7)
    guide, src = torch.rand(1, 3, 10, 12, generator=g), torch.rand(1, 1, 10, 12, generator=g)
    out = gf_module.guided_filter(guide, src, 4, 1e-2)
    torch.testing.assert_close(out, guided_filter_torch(guide, src, 4, 1e-2))
    with pytest.raises(RuntimeError, match="ximgproc"):
        gf_module.guided_filter(guide, src, 4, 1e-2, backend="opencv")
