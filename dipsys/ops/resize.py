"""Image resizing for images in [0, 1] (working resolution ↔ original resolution)."""

from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from torch import Tensor

__all__ = ["resize"]

Mode = Literal["bicubic", "bilinear", "nearest", "area"]


def resize(x: Tensor, size: tuple[int, int], mode: Mode = "bicubic") -> Tensor:
    """Resize a batch of images, antialiased when shrinking.

    .. math:: y = \\operatorname{interpolate}(x, (H', W'))

    For ``bicubic`` and ``bilinear`` the kernel is widened by the scale factor when an axis
    shrinks (``antialias=True``, like MATLAB's ``imresize`` that the reference uses), so
    downscaling does not alias; ``align_corners=False`` maps pixel areas, not pixel centres.
    Bicubic interpolation overshoots at edges, so its output is clamped to [0, 1]: inputs are
    expected to be images in [0, 1] (masks, transmissions, RGB).

    Args:
        x: Images.
        size: Output ``(H', W')``.
        mode: ``"bicubic"``, ``"bilinear"``, ``"nearest"`` or ``"area"``.

    Returns:
        The resized images (the input itself when the size is unchanged).

    Shape:
        - x: ``(B, C, H, W)``
        - output: ``(B, C, H', W')``
    """
    out_h, out_w = int(size[0]), int(size[1])
    if out_h < 1 or out_w < 1:
        raise ValueError(f"resize size must be positive, got {tuple(size)}")
    in_h, in_w = x.shape[-2:]
    if (out_h, out_w) == (in_h, in_w):
        return x
    if mode in ("bicubic", "bilinear"):
        downscale = out_h < in_h or out_w < in_w
        y = F.interpolate(
            x, size=(out_h, out_w), mode=mode, align_corners=False, antialias=downscale
        )
        return y.clamp(0.0, 1.0) if mode == "bicubic" else y
    if mode in ("nearest", "area"):
        return F.interpolate(x, size=(out_h, out_w), mode=mode)
    raise ValueError(f"unknown resize mode {mode!r}")
