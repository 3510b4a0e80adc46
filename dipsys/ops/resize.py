"""Image resizing for images in [0, 1] (working resolution ↔ original resolution)."""

from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from torch import Tensor

__all__ = ["resize", "resize_longest_side"]

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


def resize_longest_side(x: Tensor, side: int, min_size: int = 2) -> Tensor:
    """Resize (bilinear, antialiased when shrinking) so the longest side is ``side`` pixels.

    .. math:: (H', W') = \\big(\\max(m, [H s]), \\max(m, [W s])\\big), \\quad
        s = \\frac{\\text{side}}{\\max(H, W)}

    The aspect ratio is kept; up or down, so a figure computed at the working size does not
    depend on the input's resolution. The output is clamped to [0, 1].

    Args:
        x: images in [0, 1].
        side: the working longest side.
        min_size: the least height and width (``m``).

    Shape:
        - x: ``(B, C, H, W)``
        - output: ``(B, C, H', W')``

    Example:
        >>> import torch
        >>> resize_longest_side(torch.rand(1, 3, 300, 400), 128).shape
        torch.Size([1, 3, 96, 128])
    """
    height, width = x.shape[-2:]
    scale = side / max(height, width)
    size = (max(min_size, round(height * scale)), max(min_size, round(width * scale)))
    return resize(x.float(), size, mode="bilinear").clamp(0, 1)
