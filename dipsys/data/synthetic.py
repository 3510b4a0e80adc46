"""Synthetic test cases with exact ground truth, deterministic from a seed.

Haze follows the atmospheric scattering model I = t·J + (1 − t)·A with t = exp(−β·d) for a
smooth depth map d in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from dipsys.ops.haze import add_haze


def smooth_depth(
    height: int,
    width: int,
    seed: int = 0,
    horizon: float = 0.7,
    bumps: float = 0.25,
    near: float = 0.05,
) -> torch.Tensor:
    """A smooth depth map in [near, 1]: farther towards the top, with low-frequency variation.

    Args:
        height, width: size of the map.
        seed: seed of the low-frequency variation.
        horizon: weight of the bottom-to-top ramp (a ground plane seen from eye level).
        bumps: weight of the smooth random variation (bicubic upsampling of a 4×6 grid).
        near: depth of the nearest point (even the foreground sees some haze).

    Shape:
        - Output: :math:`(1, H, W)`
    """
    gen = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(1.0, 0.0, height).view(height, 1).expand(height, width)
    coarse = torch.rand(1, 1, 4, 6, generator=gen)
    field = F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=True)[0, 0]
    field = (field - field.min()) / (field.max() - field.min()).clamp_min(1e-6)
    depth = horizon * ramp + bumps * field
    depth = (depth - depth.min()) / (depth.max() - depth.min()).clamp_min(1e-6)
    return (near + (1 - near) * depth)[None]


def hazy_image(
    clean: torch.Tensor,
    depth: torch.Tensor,
    beta: float = 1.5,
    airlight: Sequence[float] = (0.85, 0.88, 0.92),
) -> dict[str, torch.Tensor]:
    """Add haze of density ``beta`` to a clean image.

    Returns:
        ``hazy`` (3, H, W), ``transmission`` (1, H, W) = exp(−β·depth), ``airlight`` (3, 1, 1).

    Shape:
        - clean: :math:`(3, H, W)` in [0, 1]; depth: :math:`(1, H, W)`.
    """
    transmission = torch.exp(-beta * depth)
    light = torch.tensor([float(a) for a in airlight]).view(3, 1, 1)
    hazy = add_haze(clean[None], transmission[None], light[None])[0].clamp(0, 1)
    return {"hazy": hazy, "transmission": transmission, "airlight": light}
