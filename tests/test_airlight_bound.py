"""Bounded airlight: the haziest region's colour, brightened until no dehazed pixel passes white."""

from __future__ import annotations

import statistics

import torch
import torch.nn.functional as F

from dipsys.data.synthetic.haze_suite import haze_suite
from dipsys.ops.airlight import airlight_estimator
from dipsys.ops.airlight_bound import bounded_airlight, brightness_bound
from dipsys.ops.airlight_region import haziest_region_airlight
from dipsys.ops.haze import add_haze

AIRLIGHT = torch.tensor([0.80, 0.84, 0.90]).view(1, 3, 1, 1)


def _light_haze_scene(size: int = 96, seed: int = 0) -> torch.Tensor:
    """A smooth blue sky over the top third, 6×6-pixel tiles of colour below it, one tile in
    five near white; the haze thickens from the bottom (t = 0.9) to the top (t = 0.45) and never
    hides the scene, so no pixel shows the airlight: the haziest, smoothest region is the sky,
    half of whose colour is its own blue."""
    g = torch.Generator().manual_seed(seed)
    tiles = 0.05 + 0.6 * torch.rand(1, 3, size // 6, size // 6, generator=g)
    white = torch.rand(1, 1, size // 6, size // 6, generator=g) < 0.2
    tiles = torch.where(white, 0.92 + 0.06 * torch.rand(tiles.shape, generator=g), tiles)
    clean = F.interpolate(tiles, scale_factor=6, mode="nearest")
    clean[..., : size // 3, :] = torch.tensor([0.50, 0.60, 0.75]).view(1, 3, 1, 1)
    t = torch.linspace(0.45, 0.9, size).view(1, 1, size, 1).expand(1, 1, size, size)
    return add_haze(clean, t, AIRLIGHT)


def _opaque_top_scene(size: int = 96) -> torch.Tensor:
    """Dark tiles under haze that is opaque (t = 0.01) in the top third: the sky is the airlight."""
    g = torch.Generator().manual_seed(1)
    clean = F.interpolate(0.05 + 0.5 * torch.rand(1, 3, 16, 16, generator=g), size=(size, size))
    depth = torch.linspace(0.0, 1.0, size).view(1, 1, size, 1).expand(1, 1, size, size)
    t = (1.4 * depth - 0.4).clamp(0.01, 1.0)
    return add_haze(clean, t, AIRLIGHT)


def test_light_haze_brightened_to_the_airlight():
    hazy = _light_haze_scene()
    region = haziest_region_airlight(hazy)
    bounded = bounded_airlight(hazy)
    assert bounded.shape == (1, 3, 1, 1)
    brightness = AIRLIGHT.norm().item()
    assert region.norm().item() < 0.9 * brightness  # the sky still holds half its own colour
    assert abs(bounded.norm().item() / brightness - 1) < 0.08
    region_error = (region - AIRLIGHT).norm().item()
    assert (bounded - AIRLIGHT).norm().item() < 0.6 * region_error


def test_opaque_haze_keeps_the_haziest_region():
    hazy = _opaque_top_scene()
    bounded, region = bounded_airlight(hazy), haziest_region_airlight(hazy)
    assert (bounded - AIRLIGHT).norm().item() < 0.04
    assert (bounded - region).norm().item() < 0.03  # the bound does not raise a right estimate


def test_clipped_highlights_do_not_raise_the_bound():
    """White-clipped lamps in the near scene would demand an airlight brighter than white."""
    hazy = _opaque_top_scene()
    for row, col in ((70, 10), (80, 50), (60, 70)):
        hazy[..., row : row + 4, col : col + 4] = 1.0
    assert (bounded_airlight(hazy) - AIRLIGHT).norm().item() < 0.04


def test_bound_is_a_lower_bound_on_the_brightness():
    hazy = _light_haze_scene(seed=2)
    bound = brightness_bound(hazy, AIRLIGHT)
    assert bound.shape == (1,)
    assert bound.item() <= AIRLIGHT.norm().item() * 1.03
    # the haze-free scene needs no brightening at all
    clean_like = F.interpolate(torch.rand(1, 3, 12, 12) * 0.5, size=(96, 96))
    assert brightness_bound(clean_like, AIRLIGHT).item() < 0.5


def test_batch_resolution_and_registry():
    batch = torch.cat([_light_haze_scene(seed=3), _opaque_top_scene()])
    estimates = bounded_airlight(batch)
    assert estimates.shape == (2, 3, 1, 1)
    assert (estimates[1] - bounded_airlight(batch[1:])[0]).norm() < 1e-5
    large = F.interpolate(batch[:1], scale_factor=3, mode="nearest")
    assert (bounded_airlight(large) - estimates[:1]).norm() < 0.03
    assert airlight_estimator("bounded") is bounded_airlight


def test_closer_than_the_other_estimators_on_the_synthetic_suite():
    """The suite's uniform-airlight cases (light to dense haze over four photos, 64 px): a
    quality gate, so an estimator change that loses to the dark channel is noticed."""
    errors: dict[str, list[float]] = {"bounded": [], "dark_channel": [], "haziest_region": []}
    for case in haze_suite(side=64, count=24).values():
        if not bool(case["uniform"]):
            continue
        for name in errors:
            estimate = airlight_estimator(name)(case["hazy"][None])
            errors[name].append((estimate - case["airlight"][None]).norm().item())
    mean = {name: statistics.mean(values) for name, values in errors.items()}
    median = {name: statistics.median(values) for name, values in errors.items()}
    for other in ("dark_channel", "haziest_region"):
        assert mean["bounded"] < mean[other] - 0.02, mean
        assert median["bounded"] < median[other] - 0.02, median
