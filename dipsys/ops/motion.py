"""Foreground / background hints for a clip from what moves against what stays.

A clip's strongest cue to its foreground is motion. Every frame is aligned to the middle frame
by its global translation (phase correlation of the gray frames: zero for a still camera, the
pan otherwise), the background is the per-pixel median of the aligned frames, and a pixel
moves where its frame differs from that background:

.. math::
    B(x) = \\operatorname{median}_t \\, \\tilde I_t(x), \\qquad
    D_t(x) = \\max_c \\big| G_\\sigma * (\\tilde I_t - B) \\big|_c(x)

with ``Ĩ_t`` frame ``t`` shifted onto the reference. ``fg`` is where ``D_t > τ_fg`` (opened,
then eroded, so it keeps off the object's outline), ``bg`` where ``D_t < τ_bg`` outside the
moving region dilated by a margin. The hints are shifted back to each frame's own
coordinates; pixels no aligned frame covers get no hint. When no frame has a moving region
the clip gives no motion hints (``None``): the caller falls back to single-image hints.
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import torch
from torch import Tensor

__all__ = ["global_shifts", "motion_hints"]

# Difference levels (RGB in [0, 1]) above which a pixel moves / below which it stays.
_FG_LEVEL, _BG_LEVEL = 0.12, 0.05
# Smoothing σ, the fg erosion and the bg margin, as fractions of the shorter side.
_SIGMA, _ERODE, _MARGIN = 0.01, 0.02, 0.06
# A clip "moves" when some frame has at least this fraction of moving pixels.
_MIN_MOVING = 0.01


def global_shifts(frames: np.ndarray, reference: int) -> np.ndarray:
    """Translation ``(dx, dy)`` of each frame relative to ``frames[reference]``, ``(T, 2)``.

    Phase correlation can lock onto a textured moving object instead of the background, so
    its shift is kept only if it aligns the frame better than no shift at all, judged by the
    median absolute difference to the reference (the background covers most pixels).
    """
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float64) for f in frames]
    window = cv2.createHanningWindow(gray[0].shape[::-1], cv2.CV_64F)
    shifts = []
    for g in gray:
        # Copies: phaseCorrelate may apply the window to its inputs in place.
        found = np.array(cv2.phaseCorrelate(gray[reference].copy(), g.copy(), window)[0])
        candidates = [np.zeros(2), found, -found, _tracked_shift(gray[reference], g)]
        errors = [_misalignment(g, gray[reference], c) for c in candidates]
        shifts.append(candidates[int(np.argmin(errors))])
    return np.array(shifts, dtype=np.float64)


def _tracked_shift(reference: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Median displacement of corners tracked from ``reference`` to ``frame`` (Lucas–Kanade)."""
    first = np.clip(reference * 255, 0, 255).astype(np.uint8)
    second = np.clip(frame * 255, 0, 255).astype(np.uint8)
    corners = cv2.goodFeaturesToTrack(first, 200, 0.01, 3)
    if corners is None:
        return np.zeros(2)
    moved, status, _ = cv2.calcOpticalFlowPyrLK(first, second, corners, None, winSize=(15, 15))
    kept = status.ravel() == 1
    if not kept.any():
        return np.zeros(2)
    return np.median((moved - corners).reshape(-1, 2)[kept], axis=0).astype(np.float64)


def _misalignment(frame: np.ndarray, reference: np.ndarray, shift: np.ndarray) -> float:
    """Median |frame shifted by −shift − reference| over the pixels both cover."""
    moved = _shift(frame.astype(np.float32), -shift[0], -shift[1], np.nan)
    difference = np.abs(moved - reference)
    difference = difference[~np.isnan(difference)]
    return float(np.median(difference)) if difference.size else np.inf


def _shift(image: np.ndarray, dx: float, dy: float, border: float) -> np.ndarray:
    height, width = image.shape[:2]
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(
        image,
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=border,
    )


def motion_hints(frames: Tensor) -> dict[str, Tensor] | None:
    """``fg`` / ``bg`` hints per frame from motion (module docstring), or None if nothing moves.

    Args:
        frames: the clip, RGB in [0, 1].

    Returns:
        ``{"fg": ..., "bg": ...}`` float masks in {0, 1}, or None.

    Shape:
        - frames: ``(T, 3, H, W)``; each hint ``(T, 1, H, W)``
    """
    if frames.ndim != 4 or frames.shape[1] != 3:
        raise ValueError(f"expected a clip (T, 3, H, W), got shape {tuple(frames.shape)}")
    count, _, height, width = frames.shape
    if count < 3:
        return None
    rgb = frames.detach().to("cpu", torch.float32).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    rgb = np.ascontiguousarray(rgb)
    reference = count // 2
    shifts = global_shifts(rgb, reference)
    # Shift each frame onto the reference: content at x in frame t sits at x − s_t there.
    aligned = np.stack(
        [_shift(f, -dx, -dy, np.nan) for f, (dx, dy) in zip(rgb, shifts, strict=True)]
    )
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pixels no frame covers stay NaN
        background = np.nanmedian(aligned, axis=0)
    side = min(height, width)
    sigma = max(0.5, _SIGMA * side)
    fg_all, bg_all = [], []
    for frame, (dx, dy) in zip(aligned, shifts, strict=True):
        valid = ~np.isnan(frame).any(-1) & ~np.isnan(background).any(-1)
        difference = np.where(valid[..., None], np.abs(frame - background), 0).astype(np.float32)
        difference = cv2.GaussianBlur(difference, (0, 0), sigma).max(-1)
        fg, bg = _split(difference, valid, side)
        # Back to the frame's own coordinates (nearest: hints stay binary).
        fg_all.append(_shift(fg.astype(np.float32), dx, dy, 0.0) > 0.5)
        bg_all.append(_shift(bg.astype(np.float32), dx, dy, 0.0) > 0.5)
    if max(f.mean() for f in fg_all) < _MIN_MOVING:
        return None
    return {
        name: torch.from_numpy(np.stack(masks)[:, None].astype(np.float32)).to(frames.device)
        for name, masks in (("fg", fg_all), ("bg", bg_all))
    }


def _split(difference: np.ndarray, valid: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Moving core and still surroundings of one aligned frame's difference map."""
    moving = ((difference > _FG_LEVEL) & valid).astype(np.uint8)
    small = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    moving = cv2.morphologyEx(moving, cv2.MORPH_OPEN, small)
    erode = max(1, round(_ERODE * side))
    core = cv2.erode(moving, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode + 1,) * 2))
    if not core.any():
        core = moving
    margin = max(1, round(_MARGIN * side))
    near = cv2.dilate(moving, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1,) * 2))
    still = (difference < _BG_LEVEL) & valid & (near == 0)
    return core.astype(bool), still
