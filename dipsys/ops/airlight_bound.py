"""Airlight brightened to the least one under which the dehazed image stays below white.

The haziest region (:func:`dipsys.ops.airlight_region.haziest_region_airlight`) gives the
airlight's *colour* well, and its brightness too where some part of the scene is opaque haze
or sky. In lighter haze no pixel is pure airlight, and the haziest one still holds some of the
scene: the estimate is too dark, and dehazing under a dark airlight over-amplifies the far
scene (the clean image leaves [0, 1]). That gives a lower bound on the airlight's brightness.

With the colour ``â`` fixed and the brightness ``s`` free (``A = s·â``), the dark-channel
transmission is ``t = 1 − ω m / s`` with ``m = GF(D(I / â))`` (``D`` the dark channel, ``GF``
the guided filter), and the haze it removes, ``(1 − t) A = ω m â``, does not depend on ``s``.
The clean image ``J = (I − ω m â) / t`` stays at or below white where

.. math:: s \\ge \\frac{\\omega\\, m(x)}{1 - N(x)}, \\qquad
    N(x) = \\max_c \\big(I_c(x) - \\omega\\, m(x)\\, \\hat a_c\\big)

and at a white or bright surface (``J`` near 1) the bound is tight. The brightness taken is
the larger of the haziest region's and a high quantile of the bound over the image. Saturated
pixels (any channel above 0.97, and a patch around them) are left out: a clipped highlight is
not a surface whose colour the haze model describes, and it would push the bound up.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from dipsys.ops.airlight_region import haziest_region_airlight
from dipsys.ops.dark_channel import dark_channel, default_dcp_radius
from dipsys.ops.guided_filter import guided_filter
from dipsys.ops.resize import resize_longest_side

__all__ = ["brightness_bound", "bounded_airlight"]

# a channel above this is taken as clipped by the camera
_SATURATED = 0.97
# pixels whose haze-free part is this close to white say nothing reliable about the bound
_NEAR_WHITE = 0.98


def brightness_bound(
    image: Tensor, colour: Tensor, patch: int = 15, omega: float = 0.95, quantile: float = 0.999
) -> Tensor:
    """The least airlight brightness under which the dehazed image stays below white.

    .. math:: s_b = \\operatorname{quantile}_q \\Big\\{ \\frac{\\omega\\, m(x)}{1 - N(x)} \\Big\\}

    over the pixels not near a saturated one and with ``N(x) < 0.98`` (module docstring).

    Args:
        image: Hazy RGB images in [0, 1].
        colour: The airlight's colour per image (its direction; the norm is ignored).
        patch: Dark-channel window side.
        omega: Fraction of haze the dark-channel transmission removes.
        quantile: Quantile of the per-pixel bounds (1 → the largest).

    Returns:
        ``s_b`` per image (0 where no pixel qualifies).

    Shape:
        - image: ``(B, 3, H, W)``; colour: ``(B, 3, 1, 1)``
        - output: ``(B,)``
    """
    direction = colour / colour.flatten(1).norm(dim=1).clamp_min(1e-6).view(-1, 1, 1, 1)
    h, w = image.shape[-2:]
    m = dark_channel(image / direction.clamp_min(0.05), patch)
    m = guided_filter(image, m, default_dcp_radius(h, w, patch), 1e-3)
    left = (image - omega * m * direction).amax(dim=1, keepdim=True)
    clipped = (image.amax(dim=1, keepdim=True) > _SATURATED).float()
    near_clipped = F.max_pool2d(clipped, patch, stride=1, padding=patch // 2) > 0
    usable = (left < _NEAR_WHITE) & ~near_clipped
    bounds = omega * m / (1 - left).clamp_min(1e-3)
    out = []
    for b, ok in zip(bounds, usable, strict=True):
        values = b[ok]
        out.append(torch.quantile(values, quantile) if values.numel() else b.new_zeros(()))
    return torch.stack(out)


def bounded_airlight(image: Tensor, side: int = 128, quantile: float = 0.999) -> Tensor:
    """The haziest region's airlight, brightened to :func:`brightness_bound` where it is darker.

    .. math:: A = \\hat a \\cdot \\max(\\lVert A_r \\rVert, s_b), \\quad
        \\hat a = A_r / \\lVert A_r \\rVert

    with ``A_r`` the haziest region's airlight; each channel is then capped at 1. Works at a
    fixed longest side, so the result does not depend on the resolution.

    Args:
        image: Hazy RGB images in [0, 1].
        side: Working longest side (the image is resized to it, up or down).
        quantile: Quantile of the per-pixel bounds.

    Returns:
        The airlight colour per image.

    Shape:
        - image: ``(B, 3, H, W)``
        - output: ``(B, 3, 1, 1)``

    Example:
        >>> hazy = 0.5 * torch.rand(1, 3, 64, 96) + 0.4
        >>> bounded_airlight(hazy).shape
        torch.Size([1, 3, 1, 1])
    """
    small = resize_longest_side(image, side)
    region = haziest_region_airlight(small, side=side)
    norm = region.flatten(1).norm(dim=1)
    bound = brightness_bound(small, region, quantile=quantile)
    brightness = torch.maximum(norm, bound).view(-1, 1, 1, 1)
    airlight = region / norm.clamp_min(1e-6).view(-1, 1, 1, 1) * brightness
    return airlight.clamp(0, 1).to(image)
