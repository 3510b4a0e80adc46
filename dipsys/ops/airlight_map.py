"""A vertically varying airlight map: the haze's colour band by band, pulled to one colour.

At dusk or dawn the airlight changes colour from the horizon to the top of the frame (the
Coupled Deep Image Prior Systems paper, Fig. 10); one airlight colour then leaves a colour cast
in every part of the image it does not match. Here the image is cut into horizontal bands; in
each band the haziest pixels (the top 5 % of the dark channel of ``I / A₀``) give that band's
haze colour, and a line in the height is fitted through the bands' colour directions with a
prior at the global estimate's colour ``A₀`` (:mod:`dipsys.ops.airlight`).

A band's haziest pixels are haze mixed with scene: their colour is off the airlight's by an
angle that grows with the transmission left in them. On the 13 real hazy photos with an
annotated (uniform) airlight that angle is ≈ 6.7° × (1 − D̄), D̄ the band's mean dark channel of
the chosen pixels, and the global colour is off by 0.47° on average: those are the noise
levels of the weighted fit. A band of light haze therefore counts little beside the prior, so
on uniform haze the map stays at ``A₀``'s colour, and it turns only where bands of dense haze
agree on another colour (a sky gradient). The map takes ``A₀``'s brightness.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from dipsys.ops.airlight_bound import bounded_airlight
from dipsys.ops.dark_channel import dark_channel
from dipsys.ops.resize import resize_longest_side

__all__ = ["banded_airlight_map", "haziest_band_colours"]


def haziest_band_colours(
    picture: Tensor, airlight: Tensor, bands: int = 4, patch: int = 15, top_fraction: float = 0.05
) -> tuple[Tensor, Tensor, Tensor]:
    """Each horizontal band's haziest colour: the mean of its top ``top_fraction`` of pixels by
    the dark channel of ``I / A₀``.

    Args:
        picture: One hazy RGB image in [0, 1].
        airlight: Its global airlight ``A₀``, three numbers.
        bands: Horizontal bands.
        patch: Dark-channel window.
        top_fraction: Share of each band's pixels taken as its haziest.

    Returns:
        ``(colours, heights, darkness)``: the bands' mean colours ``(bands, 3)``, their centre
        heights in [−½, ½] ``(bands,)`` and the mean dark channel of the chosen pixels
        ``(bands,)`` (1: pure haze).

    Shape:
        - picture: ``(3, H, W)``; airlight: ``(3,)``
    """
    height = picture.shape[-2]
    ratio = picture[None] / airlight.view(1, 3, 1, 1).clamp_min(0.05)
    darkness = dark_channel(ratio, patch)[0, 0]
    colours, heights, depths = [], [], []
    for b in range(bands):
        r0, r1 = b * height // bands, (b + 1) * height // bands
        depth = darkness[r0:r1].flatten()
        chosen = depth.topk(max(1, int(top_fraction * depth.numel()))).indices
        colours.append(picture[:, r0:r1].reshape(3, -1)[:, chosen].mean(dim=1))
        heights.append((r0 + r1) / 2 / height - 0.5)
        depths.append(depth[chosen].mean())
    return torch.stack(colours), torch.tensor(heights).to(picture), torch.stack(depths)


def banded_airlight_map(
    image: Tensor,
    global_airlight: Tensor | None = None,
    bands: int = 4,
    side: int = 128,
    patch: int = 15,
    top_fraction: float = 0.05,
    band_error: float = 6.7,
    band_error_floor: float = 0.25,
    colour_error: float = 0.47,
) -> Tensor:
    """An airlight map whose colour varies linearly with the height, at the image's size.

    .. math::
        (d_0, d_1) = \\arg\\min \\sum_b \\frac{\\lVert u_b - d_0 - d_1 y_b \\rVert^2}{\\sigma_b^2}
        + \\frac{\\lVert d_0 - \\hat a \\rVert^2}{\\sigma_0^2}, \\quad
        A(y) = \\lVert A_0 \\rVert \\, \\frac{d_0 + d_1 y}{\\lVert d_0 + d_1 y \\rVert}

    with ``u_b`` the unit colour of band ``b``'s haziest pixels, ``y_b`` its centre height in
    [−½, ½], ``σ_b = max(band_error · (1 − D̄_b), band_error_floor)`` degrees (``D̄_b`` their mean
    dark channel of ``I / A₀``), ``â`` the unit colour of ``A₀`` and ``σ₀ = colour_error``
    degrees.

    Args:
        image: Hazy RGB images in [0, 1].
        global_airlight: ``A₀`` per image, ``(B, 3, 1, 1)``; None estimates it with
            :func:`dipsys.ops.airlight_bound.bounded_airlight`.
        bands: Horizontal bands.
        side: Working longest side.
        patch: Dark-channel window at the working side.
        top_fraction: Share of each band's pixels taken as its haziest.
        band_error: Angle (degrees) of a band's colour error per unit of transmission left.
        band_error_floor: Smallest band error (degrees).
        colour_error: Angle (degrees) of ``A₀``'s colour error.

    Returns:
        The airlight map, each channel in [0, 1]: one column broadcast along the width (a view;
        ``.contiguous()`` it before writing into it or loading a checkpoint into it).

    Shape:
        - image: ``(B, 3, H, W)``; global_airlight: ``(B, 3, 1, 1)``
        - output: ``(B, 3, H, W)``

    Example:
        >>> hazy = 0.5 * torch.rand(1, 3, 64, 96) + 0.4
        >>> banded_airlight_map(hazy).shape
        torch.Size([1, 3, 64, 96])
    """
    height, width = image.shape[-2:]
    small = resize_longest_side(image, side, min_size=bands)
    if global_airlight is None:
        global_airlight = bounded_airlight(small, side=side)
    global_airlight = global_airlight.to(small).view(-1, 3)
    rows = torch.linspace(-0.5, 0.5, height, device=small.device).view(1, height, 1)
    prior_weight = 1.0 / math.radians(colour_error) ** 2
    maps = []
    for picture, airlight in zip(small, global_airlight, strict=True):
        colours, heights, darkness = haziest_band_colours(
            picture, airlight, bands, patch, top_fraction
        )
        errors = (band_error * (1.0 - darkness)).clamp_min(band_error_floor)
        weights = torch.deg2rad(errors) ** -2  # (bands,)
        design = torch.stack([torch.ones_like(heights), heights], dim=1)  # (bands, 2)
        units = colours / colours.norm(dim=1, keepdim=True).clamp_min(1e-6)
        normal = design.T @ (weights[:, None] * design)
        target = design.T @ (weights[:, None] * units)
        normal[0, 0] += prior_weight
        target[0] += prior_weight * airlight / airlight.norm().clamp_min(1e-6)
        fit = torch.linalg.solve(normal, target)  # (2, 3): d0, d1
        direction = fit[0].view(3, 1, 1) + fit[1].view(3, 1, 1) * rows
        direction = direction / direction.norm(dim=0, keepdim=True).clamp_min(1e-6)
        maps.append(direction * airlight.norm())  # (3, H, 1): constant along each row
    return torch.stack(maps).clamp(0, 1).expand(-1, -1, -1, width).to(image)
