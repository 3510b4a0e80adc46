"""Haze with exact ground truth: I = t·J + (1 − t)·A, t = exp(−β·d) for a smooth depth d."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from dipsys.data.synthetic.samples import (
    random_field,
    uniform,
)
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


def _draw_airlight(gen: torch.Generator) -> torch.Tensor:
    """A grayish airlight: channels in [0.75, 0.95] that differ by at most 0.1.

    Shape:
        - Output: :math:`(3, 1, 1)`
    """
    base = uniform(gen, 0.80, 0.90)
    offsets = (torch.rand(3, generator=gen) - 0.5) * 0.1
    return (base + offsets).view(3, 1, 1)


def haze_case(
    clean: torch.Tensor,
    seed: int = 0,
    beta: float | None = None,
    airlight: Sequence[float] | None = None,
    spatial_airlight: bool = False,
    depth: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """A hazy image with its exact layers.

    .. math:: I = t \\cdot J + (1 - t) \\cdot A, \\quad t = \\exp(-\\beta d)

    Args:
        clean: haze-free image ``J`` in [0, 1].
        seed: draws ``beta`` in [1, 2], a grayish ``A`` in [0.75, 0.95]³ and the depth, when
            they are not given.
        beta: haze density.
        airlight: the airlight colour (its mean colour when ``spatial_airlight``).
        spatial_airlight: make ``A`` a smooth map varying by ±0.04 around its colour.
        depth: depth map ``d`` in [0, 1]; :func:`smooth_depth` of the seed when None.

    Returns:
        ``hazy``, ``clean``, ``transmission`` and ``airlight``.

    Shape:
        - clean: :math:`(3, H, W)`; depth: :math:`(1, H, W)`
        - hazy: :math:`(3, H, W)`; transmission: :math:`(1, H, W)`
        - airlight: :math:`(3, 1, 1)`, or :math:`(3, H, W)` when ``spatial_airlight``
    """
    height, width = clean.shape[-2:]
    gen = torch.Generator().manual_seed(seed)
    drawn_beta = uniform(gen, 1.0, 2.0)
    drawn_light = _draw_airlight(gen)
    beta = drawn_beta if beta is None else float(beta)
    if airlight is None:
        light = drawn_light
    else:
        light = torch.as_tensor(airlight, dtype=torch.float32).view(3, 1, 1)
    if depth is None:
        depth = smooth_depth(height, width, seed=seed)
    elif depth.shape != (1, height, width):
        raise ValueError(f"depth must have shape (1, {height}, {width}), got {tuple(depth.shape)}")
    if spatial_airlight:
        light = (light + 0.08 * (random_field(height, width, gen, grid=3) - 0.5)).clamp(0, 1)
    transmission = torch.exp(-beta * depth.float())
    hazy = add_haze(clean[None].float(), transmission[None], light[None])[0].clamp(0, 1)
    return {"hazy": hazy, "clean": clean.float(), "transmission": transmission, "airlight": light}


def hazy_video(
    clean: torch.Tensor, frames: int = 8, seed: int = 0, betas: tuple[float, float] = (0.8, 2.0)
) -> dict[str, torch.Tensor]:
    """A static scene under haze whose density rises smoothly over time.

    .. math:: I_k = t_k \\cdot J + (1 - t_k) \\cdot A, \\quad t_k = \\exp(-\\beta_k d)

    with ``β_k`` easing from ``betas[0]`` to ``betas[1]`` (a half cosine) and depth ``d`` and
    airlight ``A`` drawn from the seed as in :func:`haze_case`.

    Returns:
        ``frames``, ``clean``, ``transmission``, ``airlight``, ``beta`` and ``depth``.

    Shape:
        - clean: :math:`(3, H, W)`
        - frames: :math:`(T, 3, H, W)`; transmission: :math:`(T, 1, H, W)`
        - airlight: :math:`(3, 1, 1)`; beta: :math:`(T,)`; depth: :math:`(1, H, W)`
    """
    height, width = clean.shape[-2:]
    gen = torch.Generator().manual_seed(seed)
    light = _draw_airlight(gen)
    depth = smooth_depth(height, width, seed=seed)
    ease = (1 - torch.cos(torch.linspace(0, math.pi, frames))) / 2
    beta = betas[0] + (betas[1] - betas[0]) * ease
    transmission = torch.exp(-beta.view(frames, 1, 1, 1) * depth[None])
    hazy = add_haze(clean[None].float(), transmission, light[None]).clamp(0, 1)
    return {
        "frames": hazy,
        "clean": clean.float(),
        "transmission": transmission,
        "airlight": light,
        "beta": beta,
        "depth": depth,
    }
