"""Video hints: from motion when none is given, from each frame when nothing moves."""

from __future__ import annotations

import pytest
import torch

from dipsys.data.synthetic import colorize, load_sample, moving_object_video, panning_video
from dipsys.data.video import VideoDataModule
from dipsys.data.video_io import read_video, write_frames
from dipsys.errors import InputError
from dipsys.ops.labels import binary_iou
from dipsys.ops.motion import motion_hints
from dipsys.ops.refine import refine_probability
from dipsys.run import train

FRAMES, SIZE = 8, (64, 96)


def _clip(tmp_path, frames: torch.Tensor) -> str:
    write_frames(tmp_path / "frames", frames)
    return str(tmp_path / "frames")


def _moving(tmp_path) -> tuple[str, torch.Tensor]:
    brick = colorize(load_sample("brick"), (0.9, 0.45, 0.3))
    grass = colorize(load_sample("grass"), (0.35, 0.8, 0.3))
    clip = moving_object_video(brick, grass, FRAMES, SIZE, seed=1)
    return _clip(tmp_path, clip["frames"]), clip["masks"]


def test_no_hint_given_takes_the_hints_from_motion(tmp_path):
    video, masks = _moving(tmp_path)
    data = VideoDataModule(video=video, hints={"layers": 2, "method": "auto"}, multiple=8)
    data.prepare()
    assert data.hint_source == "motion"
    fg, bg = data.hints["fg"] > 0.5, data.hints["bg"] > 0.5
    truth = masks > 0.5
    assert fg.sum() > 0.2 * truth.sum()
    assert (fg & truth).sum() >= 0.97 * fg.sum()  # the moving object, not the scene
    assert (bg & ~truth).sum() >= 0.99 * bg.sum()
    assert bg.float().mean() > 0.4


def test_a_still_clip_falls_back_to_each_frames_own_hints(tmp_path):
    still = colorize(load_sample("brick"), (0.9, 0.45, 0.3))[:, : SIZE[0], : SIZE[1]]
    video = _clip(tmp_path, still[None].expand(FRAMES, -1, -1, -1))
    data = VideoDataModule(video=video, hints={"layers": 2, "method": "motion"}, multiple=8)
    data.prepare()
    assert data.hint_source == "frames"
    assert data.hints["fg"].any() and data.hints["bg"].any()


def test_given_hints_are_not_replaced_by_motion(tmp_path):
    video, _ = _moving(tmp_path)
    hints = {"layers": 2, "method": "auto", "boxes": {"fg": [[40, 20, 60, 40]]}}
    data = VideoDataModule(video=video, hints=hints, multiple=8)
    data.prepare()
    assert data.hint_source == "given"
    assert data.hints["fg"][:, :, 20:40, 40:60].all()


def test_motion_hints_for_three_layers_is_an_input_error(tmp_path):
    video, _ = _moving(tmp_path)
    data = VideoDataModule(video=video, hints={"layers": 3, "method": "motion"}, multiple=8)
    with pytest.raises(InputError, match="layers=2"):
        data.prepare()


def test_motion_hints_and_the_cut_segment_a_clip_with_a_panning_camera():
    """No hint given, no DIP: what motion and the full-resolution cut alone give."""
    brick = colorize(load_sample("brick"), (0.9, 0.45, 0.3))
    grass = colorize(load_sample("grass"), (0.35, 0.8, 0.3))
    clip = moving_object_video(brick, grass, FRAMES, SIZE, seed=2)
    # this draw pans with the object (content and object both move right); reversed, the scene
    # moves against it, a camera that does not follow the object
    scene = panning_video(grass, frames=FRAMES, size=SIZE, travel=0.4, seed=4).flip(0)
    frames = clip["masks"] * clip["frames"] + (1 - clip["masks"]) * scene
    hints = motion_hints(frames)
    assert hints is not None
    ious = []
    for t in range(FRAMES):
        prior = torch.full_like(clip["masks"][t], 0.5)
        cut = refine_probability(frames[t], prior, hints["fg"][t], hints["bg"][t])
        ious.append(binary_iou(cut[0] > 0.5, clip["masks"][t, 0] > 0.5))
    assert sum(ious) / FRAMES > 0.85, ious  # 0.999 measured


def test_the_default_video_segmentation_run_uses_motion_and_each_frames_own_hints(
    tmp_path, make_cfg
):
    """End to end with no hint given: motion hints, then each frame cut with its own hints.

    The masks are read back from the written frames and scored here, not taken from
    metrics.json; a cut given one frame's hints for every frame would misplace the others.
    """
    brick = colorize(load_sample("brick"), (0.9, 0.45, 0.3))
    grass = colorize(load_sample("grass"), (0.35, 0.8, 0.3))
    clip = moving_object_video(brick, grass, 6, (48, 64), seed=3)
    write_frames(tmp_path / "frames", clip["frames"])
    write_frames(tmp_path / "masks", clip["masks"])
    cfg = make_cfg(
        "task=video_segmentation",
        f"data.video={tmp_path / 'frames'}",
        f"data.gt_mask={tmp_path / 'masks'}",
        "trainer.max_steps=10",
    )
    metrics = train(cfg)
    assert metrics["hint_source"] == "motion"
    written = read_video(tmp_path / "run" / "layers" / "mask", masks=True)
    ious = [binary_iou(w[0] > 0.5, m[0] > 0.5) for w, m in zip(written, clip["masks"], strict=True)]
    assert min(ious) > 0.8, ious
    assert metrics["iou"] == pytest.approx(sum(ious) / len(ious), abs=1e-3)
