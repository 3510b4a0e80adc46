"""Hints a user draws (boxes, scribbles), and making a set of hints mutually exclusive.

Boxes and scribbles are given in pixels of the image they refer to; masks are ``(1, H, W)``
float tensors in {0, 1}.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
import torch
from torch import Tensor

from dipsys.errors import InputError

__all__ = ["box_mask", "exclusive", "scribble_mask"]


def _real(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _as_list(value: Any) -> list | None:
    """A list of the items of a sequence-like value (list, tuple, ListConfig, array), else None."""
    if isinstance(value, str | bytes | Mapping) or _real(value):
        return None
    if isinstance(value, Tensor | np.ndarray):
        return value.tolist() if value.ndim > 0 else None
    try:
        return list(value)
    except TypeError:
        return None


def _check_size(size: Sequence[int]) -> tuple[int, int]:
    height, width = (int(v) for v in size)
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {tuple(size)}")
    return height, width


def box_mask(size: Sequence[int], boxes: Sequence[Sequence[float]]) -> Tensor:
    """Union of axis-aligned boxes as a mask.

    .. math:: m(y, x) = [\\exists b: x_0 \\le x < x_1 \\wedge y_0 \\le y < y_1]

    Boxes are ``[x0, y0, x1, y1]`` in pixels with ``x1``, ``y1`` exclusive (so
    ``[0, 0, W, H]`` is the whole image); fractional corners cover every pixel they touch.

    Args:
        size: Image size ``(H, W)``.
        boxes: The boxes; an empty list gives an empty mask.

    Returns:
        The mask, float in {0, 1}.

    Raises:
        InputError: a box is not 4 numbers, is empty (``x1 ≤ x0`` or ``y1 ≤ y0``) or reaches
            outside the image.

    Shape:
        - output: ``(1, H, W)``
    """
    height, width = _check_size(size)
    items = _as_list(boxes)
    if items is None:
        raise InputError(f"boxes must be a list of [x0, y0, x1, y1] boxes, got {boxes!r}")
    mask = torch.zeros(1, height, width)
    for box in items:
        coords = _as_list(box)
        if coords is None or len(coords) != 4 or not all(_real(v) for v in coords):
            raise InputError(
                f"a box must be 4 numbers [x0, y0, x1, y1], got {box!r}"
                + (" (boxes is a list of boxes: [[x0, y0, x1, y1], ...])" if _real(box) else "")
            )
        x0, y0, x1, y1 = (float(v) for v in coords)
        shown = [v.item() if hasattr(v, "item") else v for v in coords]
        if x1 <= x0 or y1 <= y0:
            raise InputError(f"box {shown} is empty: it needs x0 < x1 and y0 < y1")
        if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
            raise InputError(
                f"box {shown} lies outside the {width}×{height} image "
                f"(x in [0, {width}], y in [0, {height}])"
            )
        mask[0, math.floor(y0) : math.ceil(y1), math.floor(x0) : math.ceil(x1)] = 1.0
    return mask


def scribble_mask(
    size: Sequence[int], scribbles: Sequence[Sequence[Sequence[float]]], width: int = 5
) -> Tensor:
    """Union of polylines drawn ``width`` pixels wide.

    .. math:: m = \\bigcup_s \\operatorname{stroke}_{w}(p_{s,1} \\to p_{s,2} \\to \\dots)

    Each scribble is a list of ``[x, y]`` points in pixels (rounded to the nearest pixel); a
    single point draws a dot of diameter ``width``. Drawn with ``cv2.polylines``/``cv2.circle``.

    Args:
        size: Image size ``(H, W)``.
        scribbles: The polylines; an empty list gives an empty mask.
        width: Stroke width in pixels (>= 1).

    Returns:
        The mask, float in {0, 1}.

    Raises:
        InputError: a scribble is not a non-empty list of ``[x, y]`` points, a point lies
            outside the image, or ``width < 1``.

    Shape:
        - output: ``(1, H, W)``
    """
    height, image_width = _check_size(size)
    if isinstance(width, bool) or not _real(width) or width < 1:
        raise InputError(f"scribble width must be at least 1 pixel, got {width!r}")
    thickness = max(1, round(float(width)))
    items = _as_list(scribbles)
    if items is None:
        raise InputError(f"scribbles must be a list of polylines [[x, y], ...], got {scribbles!r}")
    canvas = np.zeros((height, image_width), dtype=np.uint8)
    for scribble in items:
        points = _as_list(scribble)
        if not points:
            raise InputError(
                f"a scribble must be a non-empty list of [x, y] points, got {scribble!r}"
            )
        pixels = []
        for point in points:
            xy = _as_list(point)
            if xy is None or len(xy) != 2 or not all(_real(v) for v in xy):
                raise InputError(
                    f"a scribble point must be 2 numbers [x, y], got {point!r} in {scribble!r}"
                )
            x, y = float(xy[0]), float(xy[1])
            if not (0 <= x < image_width and 0 <= y < height):
                raise InputError(
                    f"scribble point [{xy[0]}, {xy[1]}] lies outside the {image_width}×{height} "
                    f"image (x in [0, {image_width}), y in [0, {height}))"
                )
            # Rounding can reach the far edge (x = W − 0.2 → W); clamp it back onto the image.
            pixels.append([min(round(x), image_width - 1), min(round(y), height - 1)])
        if len(pixels) == 1:
            cv2.circle(canvas, tuple(pixels[0]), (thickness - 1) // 2, 1, thickness=-1)
        else:
            polyline = np.array(pixels, dtype=np.int32).reshape(-1, 1, 2)
            cv2.polylines(canvas, [polyline], isClosed=False, color=1, thickness=thickness)
    return torch.from_numpy(canvas.astype(np.float32))[None]


def exclusive(hints: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Drop the pixels claimed by two or more hints from all of them.

    .. math:: h'_k = h_k \\cdot \\big[\\textstyle\\sum_j h_j = 1\\big]

    A contested pixel says nothing reliable about either layer, so neither keeps it.

    Args:
        hints: name → mask (values > 0.5 count as claimed); all of one shape.

    Returns:
        name → float mask in {0, 1} (the input's dtype), in the input's order.

    Shape:
        - each hint: ``(1, H, W)`` (any shape, equal for all)
    """
    if not hints:
        return {}
    claimed = {name: mask > 0.5 for name, mask in hints.items()}
    shapes = {tuple(mask.shape) for mask in claimed.values()}
    if len(shapes) > 1:
        raise ValueError(f"hints differ in shape: {sorted(shapes)}")
    count = torch.stack([mask.to(torch.int32) for mask in claimed.values()]).sum(dim=0)
    single = count == 1
    out = {}
    for name, mask in claimed.items():
        dtype = hints[name].dtype if hints[name].is_floating_point() else torch.float32
        out[name] = (mask & single).to(dtype)
    return out
