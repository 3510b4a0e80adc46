"""Video: I/O round trips, the drifting-code law, the three video tasks and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
import torch

from dipsys.config import REPO_ROOT
from dipsys.data.synthetic import (
    colorize,
    hazy_video,
    load_sample,
    moving_object_video,
    transparent_video,
)
from dipsys.data.video import VideoDataModule
from dipsys.data.video_io import read_video, write_frames, write_video
from dipsys.errors import InputError
from dipsys.nn import NoiseSpec, SkipGenerator
from dipsys.run import train
from dipsys.tasks import VideoSegmentation
from dipsys.tasks.video import drift_noise
from tests.test_cli import run_train

FRAMES, SIZE = 4, (56, 80)  # non-square, not a multiple of the generators' 32


def test_folder_round_trip_is_exact_and_file_round_trip_is_close(tmp_path):
    video = torch.rand(FRAMES, 3, *SIZE).mul(255).round().div(255)
    files = write_frames(tmp_path / "frames", video)
    assert [f.name for f in files] == ["000.png", "001.png", "002.png", "003.png"]
    assert torch.equal(read_video(tmp_path / "frames"), video)
    smooth = torch.linspace(0, 1, SIZE[1]).expand(FRAMES, 3, *SIZE).contiguous()
    write_video(tmp_path / "clip.mp4", smooth)
    decoded = read_video(tmp_path / "clip.mp4")
    assert decoded.shape == (FRAMES, 3, *SIZE)
    assert (decoded - smooth).abs().mean() < 0.03
    masks = read_video(tmp_path / "frames", masks=True)
    assert masks.shape == (FRAMES, 1, *SIZE)


def test_mask_codes_drift_much_less_than_independent_draws():
    gen = torch.Generator().manual_seed(0)
    spec = NoiseSpec("uniform", 2, 0.01)
    first, other = spec.make(32, 32, gen), spec.make(32, 32, gen)
    codes = drift_noise(first, 8, 0.1, gen)
    assert codes.shape == (8, 2, 32, 32) and torch.equal(codes[:1], first)
    step = (codes[1:] - codes[:-1]).std()
    independent = (first - other).std()
    assert step < 0.15 * independent
    assert step.item() == pytest.approx(0.1 * first.std().item(), rel=0.1)


def test_video_segmentation_feeds_drifting_codes_to_the_mask_only_where_asked():
    net = lambda out: SkipGenerator(2, out, channels_down=(8, 8), channels_skip=(0, 0))  # noqa: E731
    spec = NoiseSpec("uniform", 2, 0.01)
    task = VideoSegmentation(
        {"foreground": net(3), "background": net(3), "mask": net(1)},
        frames=5,
        drifting=["mask"],
        inputs={"foreground": spec, "background": spec, "mask": spec},
        size=(16, 16),
        loss_weights={"recon": 1.0},
    )
    sigma = torch.tensor(0.0)
    mask = task.generator_input("mask", 2, [0] * 5, sigma)
    background = task.generator_input("background", 1, [0] * 5, sigma)
    assert mask.shape == background.shape == (5, 2, 16, 16)
    assert torch.equal(background[0], background[4])
    assert not torch.equal(mask[0], mask[1])
    with pytest.raises(InputError, match="built for 5 frames"):
        task.generator_input("mask", 2, [0] * 3, sigma)


def test_still_pixels_join_every_frames_background_hint(tmp_path):
    brick = colorize(load_sample("brick"), (0.9, 0.45, 0.3))
    moving = moving_object_video(brick, load_sample("grass"), FRAMES, SIZE)
    write_frames(tmp_path / "frames", moving["frames"])
    hints = {"layers": 2, "method": "auto"}
    kwargs = {"video": str(tmp_path / "frames"), "hints": hints, "multiple": 8}
    plain, still = VideoDataModule(**kwargs), VideoDataModule(still_background=0.02, **kwargs)
    plain.prepare(), still.prepare()
    ever_covered = moving["masks"].amax(dim=0, keepdim=True) > 0.5
    assert still.hints["bg"].sum() > plain.hints["bg"].sum()
    assert torch.equal(still.hints["fg"], plain.hints["fg"])
    added = (still.hints["bg"] > plain.hints["bg"]).expand_as(moving["masks"])
    assert not (added & ever_covered.expand_as(added)).any()


def _videos(root: Path) -> dict[str, list[str]]:
    """Tiny clips with ground truth on disk; the overrides that run each task on them."""
    brick = colorize(load_sample("brick"), (0.9, 0.45, 0.3))
    grass = colorize(load_sample("grass"), (0.35, 0.8, 0.3))
    moving = moving_object_video(brick, grass, frames=FRAMES, size=SIZE)
    write_frames(root / "seg" / "frames", moving["frames"])
    write_frames(root / "seg" / "masks", moving["masks"])
    mixed = transparent_video(moving["frames"], load_sample("coffee")[:, : SIZE[0], : SIZE[1]])
    write_video(root / "mix.mp4", mixed["frames"])
    write_frames(root / "mix" / "layer1", mixed["transmission"])
    write_frames(root / "mix" / "layer2", mixed["reflection"].expand(FRAMES, -1, -1, -1))
    haze = hazy_video(moving["background"], frames=FRAMES)
    write_frames(root / "haze" / "frames", haze["frames"])
    write_frames(root / "haze" / "clean", haze["clean"].expand(FRAMES, -1, -1, -1))
    return {
        "video_segmentation": [
            f"data.video={root / 'seg' / 'frames'}",
            f"data.gt_mask={root / 'seg' / 'masks'}",
        ],
        "video_transparency": [
            f"data.video={root / 'mix.mp4'}",
            f"data.gt={root / 'mix' / 'layer1'}",
            f"data.gt2={root / 'mix' / 'layer2'}",
        ],
        "video_dehaze": [
            f"data.video={root / 'haze' / 'frames'}",
            f"data.gt={root / 'haze' / 'clean'}",
        ],
    }


EXPECTED = {
    "video_segmentation": (("foreground", "background", "mask"), ("iou", "mask_change_gt")),
    "video_transparency": (("layer1", "layer2"), ("psnr", "psnr2", "alpha")),
    "video_dehaze": (("clean", "transmission", "airlight"), ("psnr", "baselines")),
}


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_video_task_writes_the_output_contract(tmp_path, make_cfg, task):
    metrics = train(make_cfg(f"task={task}", *_videos(tmp_path)[task], "trainer.max_steps=4"))
    run = tmp_path / "run"
    names, keys = EXPECTED[task]
    for name in names:
        frames = sorted((run / "layers" / name).glob("*.png"))
        assert [f.name for f in frames] == [f"{i:03d}.png" for i in range(FRAMES)]
        assert cv2.imread(str(frames[-1])).shape[:2] == SIZE
        capture = cv2.VideoCapture(str(run / "layers" / f"{name}.mp4"))
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
        assert capture.read()[1].shape[:2] == SIZE
        capture.release()
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["task"] == task and saved["steps"] == 4 and saved["frames"] == FRAMES
    for key in ("wall_s", "it_per_s", "psnr_recon", *keys):
        assert key in saved and key in metrics
    assert list((run / "tb").rglob("events.out.tfevents.*"))
    assert (run / "checkpoints" / "last.ckpt").is_file()


def _bad(root: Path, case: str) -> tuple[list[str], str]:
    (root / "empty").mkdir()
    frames = moving_object_video(torch.rand(3, 8, 8), torch.rand(3, 8, 8), 3, (40, 40))["frames"]
    write_frames(root / "three", frames)
    write_frames(root / "two", frames[:2])
    return {
        "missing": ([f"data.video={root / 'nope.mp4'}"], "video not found"),
        "empty": ([f"data.video={root / 'empty'}"], "no image frames in folder"),
        "frame_count": (
            [f"data.video={root / 'three'}", f"data.gt_mask={root / 'two'}"],
            "has 2 frames but the video has 3",
        ),
        "image": ([f"data.image={root / 'three' / '000.png'}"], "give data.video"),
    }[case]


@pytest.mark.parametrize("case", ["missing", "empty", "frame_count", "image"])
def test_bad_video_input_is_a_clear_error_before_training(tmp_path, make_cfg, case):
    overrides, message = _bad(tmp_path, case)
    with pytest.raises(Exception) as caught:  # Hydra wraps errors raised while instantiating
        train(make_cfg("task=video_segmentation", *overrides))
    error = caught.value
    while error is not None and not isinstance(error, InputError):
        error = error.__cause__
    assert error is not None and message in str(error)
    assert not (tmp_path / "run" / "checkpoints").exists()
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_bad_video_on_the_command_line_is_one_line(tmp_path):
    result = run_train(tmp_path, "task=video_dehaze", f"data.video={tmp_path / 'nope'}")
    assert result.returncode == 2
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert lines == [f"error: video not found: {tmp_path / 'nope'}"]


def test_video_dehaze_takes_the_airlight_of_the_haziest_frame(make_cfg):
    """The bundled clip thickens from β 0.8 to 2.0: the haziest frame's estimate is within 0.05
    of the true airlight, the first frame's (the brightest estimate, after the bound raises thin
    haze) 0.12 off."""
    truth = json.loads((REPO_ROOT / "assets" / "video" / "dehaze" / "meta.json").read_text())
    metrics = train(make_cfg("task=video_dehaze", "trainer.max_steps=2"))
    error = torch.tensor(metrics["airlight"]) - torch.tensor(truth["airlight"])
    assert error.norm().item() < 0.06
