"""Foreground / background hints for a clip from what moves against what stays.

A clip's strongest cue to its foreground is motion. The camera's global translation ``s_t``
of every frame is found first (zero for a still camera, the pan otherwise). Then, for each
frame ``t``, every other frame is shifted onto it, and the colour most of those aligned frames
agree on at each pixel is ``t``'s background (:func:`consensus_background`); a pixel moves where
the frame differs from it:

.. math::
    B_t(x) = \\operatorname{consensus}_u \\, I_u(x + s_u - s_t), \\qquad
    D_t(x) = \\max_c \\, G_\\sigma * d_{BT}(I_t, B_t)_c(x)

with ``d_BT`` the distance of ``I_t(x)`` from the range the background takes within half a
pixel of ``x`` (Birchfield–Tomasi's sampling-insensitive dissimilarity): a sub-pixel
misalignment along the scene's own edges (a real pan is never an integer shift) does not pass
as motion, a moving object differs from the background over its whole area. The moving region
``D_t > τ_fg`` is closed and its holes filled (a textured object matches the scene here and
there); ``fg`` is that region opened and eroded, so it keeps off the object's outline, ``bg``
where ``D_t < τ_bg`` outside the moving region dilated by a margin, and where no frame a third of
the clip or more away differs from frame ``t`` (a slow object lends the background its colour
where it lingers; the far frames show it elsewhere). Pixels that no other frame sees get no
hint. When no frame has a moving region the clip gives no motion hints
(``None``): the caller falls back to single-image hints.
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import torch
from torch import Tensor

__all__ = ["consensus_background", "global_shifts", "motion_hints"]

# Difference levels (RGB in [0, 1]) above which a pixel moves / below which it stays.
_FG_LEVEL, _BG_LEVEL = 0.12, 0.05
# Smoothing σ, the fg erosion and the bg margin, as fractions of the shorter side.
_SIGMA, _ERODE, _MARGIN = 0.01, 0.02, 0.06
# Colours (RGB in [0, 1]) closer than this in every channel agree (one background colour).
_AGREE = 0.06
# A clip "moves" when some frame has at least this fraction of moving pixels.
_MIN_MOVING = 0.01
# The largest pan searched, as a fraction of each side, and the coarsest search size (pixels).
_MAX_PAN, _COARSEST = 0.4, 24


def global_shifts(frames: np.ndarray, reference: int) -> np.ndarray:
    """Translation ``(dx, dy)`` of each frame relative to ``frames[reference]``, ``(T, 2)``.

    Content at ``x`` in the reference sits at ``x + s_t`` in frame ``t``. Each shift minimises
    the median absolute gray difference over the pixels both frames cover (the background
    covers most pixels, so a moving object does not pull the estimate), searched exhaustively
    over ±40% of each side on a coarse copy, then refined by ±2 pixels at each finer scale.

    Shape:
        - frames: ``(T, H, W, 3)`` RGB in [0, 1]; output: ``(T, 2)``
    """
    gray = [cv2.cvtColor(f.astype(np.float32), cv2.COLOR_RGB2GRAY) for f in frames]
    pyramids = [_pyramid(g) for g in gray]
    reference_pyramid = pyramids[reference]
    levels = len(reference_pyramid)
    shifts = []
    for index, pyramid in enumerate(pyramids):
        if index == reference:
            shifts.append(np.zeros(2))
            continue
        coarse_h, coarse_w = pyramid[-1].shape
        span = (round(_MAX_PAN * coarse_w), round(_MAX_PAN * coarse_h))
        best = _search(pyramid[-1], reference_pyramid[-1], np.zeros(2), span)
        for level in range(levels - 2, -1, -1):
            best = _search(pyramid[level], reference_pyramid[level], 2 * best, (2, 2))
        shifts.append(best)
    return np.array(shifts, dtype=np.float64)


def _pyramid(gray: np.ndarray) -> list[np.ndarray]:
    levels = [gray]
    while min(levels[-1].shape) >= 2 * _COARSEST:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels


def _search(frame: np.ndarray, reference: np.ndarray, centre: np.ndarray, span) -> np.ndarray:
    """The integer shift within ``centre ± span`` that best aligns ``frame`` to ``reference``."""
    best, best_error = centre, np.inf
    for dy in range(-span[1], span[1] + 1):
        for dx in range(-span[0], span[0] + 1):
            shift = centre + np.array([dx, dy], dtype=np.float64)
            # ties: the smaller shift (a still camera stays still on flat scenes)
            error = _misalignment(frame, reference, shift) + 1e-6 * float(np.abs(shift).sum())
            if error < best_error:
                best, best_error = shift, error
    return best


def _misalignment(frame: np.ndarray, reference: np.ndarray, shift: np.ndarray) -> float:
    """Median |frame shifted by −shift − reference| where both cover (at least a third)."""
    height, width = reference.shape
    dx, dy = int(round(shift[0])), int(round(shift[1]))
    if abs(dx) * 3 > 2 * width or abs(dy) * 3 > 2 * height:
        return np.inf
    # reference pixel x matches frame pixel x + shift
    ref = reference[max(0, -dy) : height - max(0, dy), max(0, -dx) : width - max(0, dx)]
    own = frame[max(0, dy) : height - max(0, -dy), max(0, dx) : width - max(0, -dx)]
    return float(np.median(np.abs(own - ref)))


def _shift(image: np.ndarray, dx: float, dy: float, border: float) -> np.ndarray:
    height, width = image.shape[:2]
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(
        image,
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(border,) * 4,  # every channel (a scalar fills only the first)
    )


def _sampling_insensitive_difference(frame: np.ndarray, background: np.ndarray) -> np.ndarray:
    """How far ``frame`` lies outside the background's range within half a pixel, per channel.

    .. math:: d = \\max(0,\\; I - B^{\\max},\\; B^{\\min} - I), \\quad
        B^{\\min / \\max} = \\min / \\max \\{B(x),\\, \\tfrac12 (B(x) + B(x \\pm e_i))\\}

    (Birchfield–Tomasi's dissimilarity in two dimensions: a half-pixel misalignment of the
    background costs nothing, a different colour costs its distance.) NaN where the background
    is unknown.
    """
    padded = np.pad(background, ((1, 1), (1, 1), (0, 0)), mode="edge")
    height, width = frame.shape[:2]
    centre = padded[1:-1, 1:-1]
    halves = [
        (centre + padded[1 + oy : 1 + oy + height, 1 + ox : 1 + ox + width]) / 2
        for oy, ox in ((-1, 0), (1, 0), (0, -1), (0, 1))
    ]
    low = np.minimum.reduce([centre, *halves])
    high = np.maximum.reduce([centre, *halves])
    return np.maximum(np.maximum(frame - high, low - frame), 0)


def motion_hints(frames: Tensor) -> dict[str, Tensor] | None:
    """``fg`` / ``bg`` hints per frame from motion (module docstring), or None if nothing moves.

    Args:
        frames: the clip, RGB in [0, 1].

    Returns:
        ``{"fg": ..., "bg": ...}`` float masks in {0, 1}, or None.

    Shape:
        - frames: ``(T, 3, H, W)``; each hint ``(T, 1, H, W)``

    Example:
        >>> clip = torch.rand(1, 3, 32, 48).expand(6, -1, -1, -1).clone()
        >>> motion_hints(clip) is None  # nothing moves
        True
    """
    if frames.ndim != 4 or frames.shape[1] != 3:
        raise ValueError(f"expected a clip (T, 3, H, W), got shape {tuple(frames.shape)}")
    count, _, height, width = frames.shape
    if count < 3:
        return None
    rgb = frames.detach().to("cpu", torch.float32).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    rgb = np.ascontiguousarray(rgb)
    shifts = global_shifts(rgb, count // 2)
    side = min(height, width)
    sigma = max(0.5, _SIGMA * side)
    fg_all, bg_all = [], []
    for index, frame in enumerate(rgb):
        # every other frame shifted onto this one: content at x in u sits at x − s_u + s_t
        others = [
            _shift(other, *(shifts[index] - shifts[u]), np.nan)
            for u, other in enumerate(rgb)
            if u != index
        ]
        stack = np.stack(others + [frame])
        background = consensus_background(stack)
        seen = (~np.isnan(stack[:-1]).any(-1)).sum(0) >= 2
        difference, valid = _difference(frame, background, sigma)
        valid &= seen
        far = [
            _difference(frame, stack[u - (u > index)], sigma)
            for u in range(count)
            if abs(u - index) >= max(1, count // 3)
        ]
        fg, bg = _split(difference, valid, side, _far_largest(far))
        fg_all.append(fg)
        bg_all.append(bg)
    if max(f.mean() for f in fg_all) < _MIN_MOVING:
        return None
    return {
        name: torch.from_numpy(np.stack(masks)[:, None].astype(np.float32)).to(frames.device)
        for name, masks in (("fg", fg_all), ("bg", bg_all))
    }


def consensus_background(stack: np.ndarray, tolerance: float = _AGREE) -> np.ndarray:
    """Per pixel, the colour most frames agree on: the median of the largest agreeing set.

    .. math:: u^*(x) = \\arg\\max_u \\, \\big|\\{w : \\max_c |I_w(x) - I_u(x)|_c < \\tau\\}\\big|,
        \\qquad B(x) = \\operatorname{median}\\{I_w(x) : \\max_c |I_w(x) - I_{u^*}(x)|_c < \\tau\\}

    A plain median fails where a slow object covers a pixel in most frames; the background's
    colour still recurs in every frame that sees it, while a moving textured object shows a
    different part of itself in each. NaN entries (frames that do not see the pixel) count for
    nothing.

    Shape:
        - stack: ``(T, H, W, 3)``; output: ``(H, W, 3)``
    """
    known = ~np.isnan(stack).any(-1)  # (T, H, W)
    best_count = np.full(stack.shape[1:3], -1)
    best = np.full(stack.shape[1:], np.nan, dtype=stack.dtype)
    for u in range(stack.shape[0]):
        with np.errstate(invalid="ignore"):
            agree = (np.abs(stack - stack[u]).max(-1) < tolerance) & known & known[u]
        count = agree.sum(0)
        better = count > best_count
        if better.any():
            # only the pixels whose best set changes: (T, n, 3), not the whole stack
            members = np.where(agree[:, better][..., None], stack[:, better], np.nan)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # no frame agrees: stays NaN
                centre = np.nanmedian(members, axis=0)
            best[better] = centre
            best_count = np.where(better, count, best_count)
    return best


def _difference(
    frame: np.ndarray, other: np.ndarray, sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed largest-channel sampling-insensitive difference, and where it is known."""
    difference = _sampling_insensitive_difference(frame, other)
    known = ~np.isnan(difference).any(-1)
    difference = np.where(known[..., None], difference, 0).astype(np.float32)
    return cv2.GaussianBlur(difference, (0, 0), sigma).max(-1), known


def _far_largest(far: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Largest difference to the far frames that see each pixel (0 where none does)."""
    values = np.stack([np.where(known, d, np.nan) for d, known in far])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no far frame sees the pixel
        return np.nan_to_num(np.nanmax(values, axis=0), nan=0.0)


def _split(
    difference: np.ndarray,
    valid: np.ndarray,
    side: int,
    far_largest: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Moving core and still surroundings of one frame's difference map.

    A pixel stays where it matches the background *and* every far frame that sees it (a third
    of the clip or more away in time): where a slow object covers a pixel in most frames, the
    background there takes the object's colour, but a far frame shows the object elsewhere, so
    the object is never hinted as background (its whole track is left unhinted instead).
    A textured object over a textured scene matches the scene's colour here and
    there, so its moving pixels are fragmented: they are closed and their holes filled before
    the opening and the erosion that keep the core off the object's outline.
    """
    moving = ((difference > _FG_LEVEL) & valid).astype(np.uint8)
    erode = max(1, round(_ERODE * side))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode + 1,) * 2)
    moving = _fill_holes(cv2.morphologyEx(moving, cv2.MORPH_CLOSE, disc))
    small = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    moving = cv2.morphologyEx(moving, cv2.MORPH_OPEN, small)
    core = cv2.erode(moving, disc)
    if not core.any():
        core = moving
    margin = max(1, round(_MARGIN * side))
    near = cv2.dilate(moving, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1,) * 2))
    still = (difference < _BG_LEVEL) & (far_largest < _BG_LEVEL) & valid & (near == 0)
    return core.astype(bool), still


def _fill_holes(region: np.ndarray) -> np.ndarray:
    """``region`` (uint8 0/1) with every hole it encloses filled."""
    height, width = region.shape
    outside = np.pad(region, 1).copy()
    cv2.floodFill(outside, np.zeros((height + 4, width + 4), np.uint8), (0, 0), 2)
    return (region | (outside[1:-1, 1:-1] == 0)).astype(np.uint8)
