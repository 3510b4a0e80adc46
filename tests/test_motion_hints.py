"""Video hints from motion: what moves against a median background (still or panning camera)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dipsys.ops.motion import (
    _sampling_insensitive_difference,
    consensus_background,
    global_shifts,
    motion_hints,
)


def _texture(height: int, width: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, height // 4, width // 4, generator=gen)
    return torch.nn.functional.interpolate(coarse, (height, width), mode="bilinear")[0]


def _clip(pan: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A textured square moving right over a textured scene seen by a camera panning ``pan``."""
    frames, masks = [], []
    scene = _texture(64, 96 + 8 * pan, seed=1)
    patch = _texture(16, 16, seed=2) * 0.5 + 0.5
    for t in range(8):
        frame = scene[:, :, t * pan : t * pan + 96].clone()
        mask = torch.zeros(1, 64, 96)
        left = 8 + 8 * t
        frame[:, 24:40, left : left + 16] = patch
        mask[:, 24:40, left : left + 16] = 1
        frames.append(frame)
        masks.append(mask)
    return torch.stack(frames), torch.stack(masks)


@pytest.mark.parametrize("pan", [0, 2])
def test_moving_square_gets_the_fg_hint_and_the_scene_the_bg_hint(pan):
    frames, masks = _clip(pan)
    hints = motion_hints(frames)
    assert hints is not None and hints["fg"].shape == masks.shape
    fg, bg = hints["fg"] > 0.5, hints["bg"] > 0.5
    assert fg.sum() > 0.2 * masks.sum()
    # fg hints on the object (a pan leaves alignment residue at the scene's own edges)
    assert (fg & (masks > 0.5)).sum() >= (0.95 if pan == 0 else 0.85) * fg.sum()
    assert (bg & (masks < 0.5)).sum() >= 0.99 * bg.sum()  # bg hints off it
    assert bg.float().mean() > 0.3


def test_still_clip_gives_no_motion_hints():
    frames = _texture(48, 64, seed=3)[None].expand(6, -1, -1, -1).clone()
    assert motion_hints(frames) is None
    with pytest.raises(ValueError, match="clip"):
        motion_hints(frames[0])


def test_the_pan_is_found_under_a_large_textured_object():
    """The background covers most pixels: the search follows it, not the object."""
    scene = _texture(64, 96 + 7 * 5, seed=4)
    patch = _texture(32, 32, seed=5)
    frames = []
    for t in range(6):
        frame = scene[:, :, 7 * t : 7 * t + 96].clone()
        frame[:, 16:48, 30:62] = patch  # fixed in the frame: moves against the scene
        frames.append(frame)
    rgb = torch.stack(frames).permute(0, 2, 3, 1).contiguous().numpy()
    shifts = global_shifts(rgb, reference=3)
    expected = [7.0 * (3 - t) for t in range(6)]  # the scene slides left as the camera pans
    assert shifts[:, 0].tolist() == expected
    assert not shifts[:, 1].any()


def test_half_pixel_misalignment_is_not_motion_but_a_new_colour_is():
    background = _texture(32, 48, seed=6).permute(1, 2, 0).numpy()
    half = 0.5 * (background + np.roll(background, 1, axis=1))  # shifted by half a pixel
    assert np.abs(half - background)[:, 1:-1].max() > 0.02  # a plain difference sees it
    assert _sampling_insensitive_difference(half, background)[:, 1:-1].max() < 1e-6
    moved = background.copy()
    moved[8:16, 8:16] = np.clip(moved[8:16, 8:16] + 0.3, 0, 1)
    difference = _sampling_insensitive_difference(moved, background)
    assert difference[10:14, 10:14].max(-1).min() > 0.05


def test_consensus_background_is_the_colour_the_frames_agree_on_not_the_median():
    """A textured object over a pixel in 5 of 8 frames, each time a different colour."""
    values = [0.1, 0.2, 0.3, 0.4, 0.9, 0.5, 0.5, 0.5]
    stack = np.array(values, dtype=np.float32)[:, None, None, None].repeat(3, axis=-1)
    stack = np.concatenate([stack, np.full_like(stack, np.nan)], axis=2)  # a pixel no frame sees
    background = consensus_background(stack)
    assert np.median(values) == pytest.approx(0.45)
    assert background[0, 0] == pytest.approx([0.5] * 3)
    assert np.isnan(background[0, 1]).all()


def test_a_slow_object_lingering_over_its_track_gets_no_background_hint():
    """The object covers its path's middle in most frames: the median there is the object.

    (Every pixel of the track is uncovered in some frame; one covered in all is undecidable.)
    """
    scene = _texture(48, 96, seed=7)
    patch = _texture(24, 32, seed=8) * 0.3 + 0.6
    frames, masks = [], []
    for t in range(8):
        frame, mask = scene.clone(), torch.zeros(1, 48, 96)
        left = 16 + 5 * t  # 35 px travel for a 32 px wide object
        frame[:, 12:36, left : left + 32] = patch
        mask[:, 12:36, left : left + 32] = 1
        frames.append(frame)
        masks.append(mask)
    hints = motion_hints(torch.stack(frames))
    assert hints is not None
    truth = torch.stack(masks) > 0.5
    assert not ((hints["bg"] > 0.5) & truth).any()
    assert (hints["bg"] > 0.5).float().mean() > 0.3
