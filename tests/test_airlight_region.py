"""Haziest-region airlight: quad-tree block, dark-channel band, quantile of its colours."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dipsys.ops.airlight import AIRLIGHT_ESTIMATORS, airlight_estimator
from dipsys.ops.airlight_region import haziest_block, haziest_region_airlight
from dipsys.ops.haze import add_haze

AIRLIGHT = torch.tensor([0.70, 0.78, 0.88]).view(1, 3, 1, 1)


def _dense_haze_scene(airlight: torch.Tensor, size: int = 64, seed: int = 0) -> torch.Tensor:
    """Random 4×4-pixel tiles of colour; the haze thickens from the bottom row (t = 1) to the
    top rows, which are opaque (t = 0.01). A few bright lamps sit in the dense haze."""
    g = torch.Generator().manual_seed(seed)
    tiles = 0.05 + 0.6 * torch.rand(1, 3, size // 4, size // 4, generator=g)
    clean = F.interpolate(tiles, scale_factor=4, mode="nearest")
    depth = torch.linspace(1.0, 0.0, size).view(1, 1, size, 1).expand(1, 1, size, size)
    t = (1.3 * depth - 0.3).clamp(0.01, 1.0)
    hazy = add_haze(clean, t, airlight)
    for row, col in ((4, 8), (6, 40), (10, 24)):  # lamps: white, 3×3
        hazy[..., row : row + 3, col : col + 3] = 1.0
    return hazy


def test_haziest_block_finds_the_bright_smooth_quadrant():
    g = torch.Generator().manual_seed(0)
    image = torch.rand(3, 32, 48, generator=g) * 0.5
    image[:, 16:, :24] = 0.85  # bottom-left: bright and flat
    image[:, :16, 24:] = 0.6 + 0.4 * torch.rand(3, 16, 24, generator=g)  # brighter, but noisy
    rows, cols = haziest_block(image, stop=8)
    assert rows.start >= 16 and rows.stop <= 32 and cols.start >= 0 and cols.stop <= 24
    assert min(rows.stop - rows.start, cols.stop - cols.start) <= 8


def test_recovers_the_airlight_of_dense_haze():
    hazy = _dense_haze_scene(AIRLIGHT)
    estimate = haziest_region_airlight(hazy)
    assert estimate.shape == (1, 3, 1, 1)
    assert (estimate - AIRLIGHT).norm().item() < 0.03  # the lamps (white) are not taken


def test_not_the_brightest_of_a_grainy_haze():
    """Grain (±0.05, grey) on the opaque haze: the band's quantile stays near A, where its
    maximum would be ≈ 0.065 off."""
    hazy = _dense_haze_scene(AIRLIGHT)
    grain = 0.1 * torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(3)) - 0.05
    hazy = (hazy + grain).clamp(0, 1)
    error = (haziest_region_airlight(hazy) - AIRLIGHT).norm().item()
    assert error < 0.04


def test_batch_and_resolution():
    warm = torch.tensor([0.90, 0.80, 0.62]).view(1, 3, 1, 1)
    batch = torch.cat([_dense_haze_scene(AIRLIGHT), _dense_haze_scene(warm, seed=1)])
    estimates = haziest_region_airlight(batch)
    assert (estimates[0] - AIRLIGHT[0]).norm() < 0.03
    assert (estimates[1] - warm[0]).norm() < 0.03
    large = F.interpolate(batch[:1], scale_factor=4, mode="nearest")
    assert (haziest_region_airlight(large) - estimates[:1]).norm() < 0.02


def test_registered():
    assert airlight_estimator("haziest_region") is haziest_region_airlight
    assert AIRLIGHT_ESTIMATORS["haziest_region"] is haziest_region_airlight
