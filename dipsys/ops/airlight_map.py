"""A vertically varying airlight map: the haze's colour band by band, one brightness.

At dusk or dawn the airlight changes colour from the horizon to the top of the frame (the
Coupled Deep Image Prior Systems paper, Fig. 10); one airlight colour then leaves a colour cast
in every part of the image it does not match. Here the image is cut into horizontal bands; in
each band the haziest pixels (the top 5 % of the dark channel of ``I / A₀``) give that band's
haze colour, a line in the height is fitted through the bands' colour directions (weighted by
how hazy the chosen pixels are, so bands of light haze, whose haziest pixels are mostly scene,
count little), and the map takes the brightness of the global estimate ``A₀``
(:func:`dipsys.ops.airlight_bound.bounded_airlight`).

On a scene whose airlight is uniform the bands' colours differ only by the scene they hold, so
the map adds a tilt the truth lacks: it is an opt-in (``task.module.airlight=banded``) for
scenes with a visible sky gradient, not a default.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dipsys.ops.airlight_bound import bounded_airlight
from dipsys.ops.dark_channel import dark_channel
from dipsys.ops.resize import resize_longest_side

__all__ = ["banded_airlight_map"]


def banded_airlight_map(
    image: Tensor,
    bands: int = 4,
    side: int = 128,
    patch: int = 15,
    top_fraction: float = 0.05,
    power: float = 4.0,
) -> Tensor:
    """An airlight map whose colour varies linearly with the height, at the image's size.

    .. math:: A(y) = \\lVert A_0 \\rVert \\,
        \\frac{d_0 + d_1 y}{\\lVert d_0 + d_1 y \\rVert}, \\quad
        (d_0, d_1) = \\arg\\min \\sum_b w_b \\Big\\lVert \\frac{c_b}{\\lVert c_b \\rVert}
        - d_0 - d_1 y_b \\Big\\rVert^2

    with ``c_b`` the mean colour of band ``b``'s haziest pixels, ``y_b`` its centre height in
    [−½, ½] and ``w_b`` their mean dark channel (of ``I / A₀``) to the power ``power``.

    Args:
        image: Hazy RGB images in [0, 1].
        bands: Horizontal bands.
        side: Working longest side.
        patch: Dark-channel window at the working side.
        top_fraction: Share of each band's pixels taken as its haziest.
        power: Exponent of the band weights.

    Returns:
        The airlight map, each channel in [0, 1].

    Shape:
        - image: ``(B, 3, H, W)``
        - output: ``(B, 3, H, W)``

    Example:
        >>> hazy = 0.5 * torch.rand(1, 3, 64, 96) + 0.4
        >>> banded_airlight_map(hazy).shape
        torch.Size([1, 3, 64, 96])
    """
    height, width = image.shape[-2:]
    small = resize_longest_side(image, side, min_size=bands)
    size = small.shape[-2:]
    global_airlight = bounded_airlight(small, side=side)
    dark = dark_channel(small / global_airlight.clamp_min(0.05), patch)
    rows = torch.linspace(-0.5, 0.5, height, device=small.device).view(1, height, 1)
    maps = []
    for picture, darkness, airlight in zip(small, dark, global_airlight, strict=True):
        colours, heights, weights = [], [], []
        for b in range(bands):
            r0, r1 = b * size[0] // bands, (b + 1) * size[0] // bands
            depth = darkness[0, r0:r1].flatten()
            count = max(1, int(top_fraction * depth.numel()))
            chosen = depth.topk(count).indices
            colour = picture[:, r0:r1].reshape(3, -1)[:, chosen].mean(dim=1)
            colours.append(colour / colour.norm().clamp_min(1e-6))
            heights.append((r0 + r1) / 2 / size[0] - 0.5)
            weights.append(depth[chosen].mean().clamp_min(1e-6) ** power)
        centres = torch.tensor(heights, device=small.device)
        design = torch.stack([torch.ones_like(centres), centres], dim=1)
        root = torch.stack(weights).sqrt().view(-1, 1)
        fit = torch.linalg.lstsq(design * root, torch.stack(colours) * root).solution  # (2, 3)
        direction = fit[0].view(3, 1, 1) + fit[1].view(3, 1, 1) * rows
        direction = direction / direction.norm(dim=0, keepdim=True).clamp_min(1e-6)
        maps.append(direction * airlight.norm())  # (3, H, 1): constant along each row
    return torch.stack(maps).clamp(0, 1).expand(-1, -1, -1, width).to(image)
