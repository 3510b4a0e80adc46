"""Bad input, for every task: one clear InputError before any training, or a correct run.

Each case calls ``dipsys.run.train`` in-process and checks the error names the problem and that
nothing was trained (no TensorBoard folder, checkpoint or result in the run folder).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from dipsys.errors import InputError
from dipsys.run import train
from tests.conftest import write_png

IMAGE_TASKS = [
    "dehaze",
    "dehaze_iterative",
    "segmentation",
    "segmentation_nlayer",
    "segmentation_3layer_system",
    "transparency",
    "watermark",
]
MULTI_TASKS = ["transparency_pair", "watermark_multi"]
VIDEO_TASKS = ["video_segmentation", "video_transparency", "video_dehaze"]
ALL_TASKS = IMAGE_TASKS + MULTI_TASKS + VIDEO_TASKS
HINTED_TASKS = ["segmentation", "segmentation_nlayer", "segmentation_3layer_system"]


def _picture(height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    """A smooth BGR uint8 picture with some texture."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 0.03, (height, width, 3))
    image = np.stack([x / width, y / height, 0.5 + 0.3 * np.sin(x / 9)], axis=-1) + noise
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def _bad_file(folder: Path, case: str, video: bool = False) -> Path:
    """A missing, empty, corrupt or unsupported image (or video) file."""
    suffix = ".mp4" if video else ".png"
    path = folder / f"{case}{'.txt' if case == 'unsupported' else suffix}"
    content = {"empty": b"", "corrupt": b"\x00\x01 not an image at all", "unsupported": b"hi"}
    if case in content:
        path.write_bytes(content[case])
    return path


MESSAGES = {
    "missing": "not found",
    "empty": "empty",
    "corrupt": "cannot decode",
    "unsupported": "unsupported",
}


def _input_override(task: str, path: Path, good: Path) -> str:
    if task in MULTI_TASKS:
        return f"data.images=[{good},{path}]"
    if task in VIDEO_TASKS:
        return f"data.video={path}"
    return f"data.image={path}"


def _assert_nothing_trained(cfg) -> None:
    run = Path(cfg.paths.output_dir)
    for name in ("tb", "checkpoints", "metrics.json", "layers", "stage_0"):
        assert not (run / name).exists(), f"{name} was written before the error"


def _fails(make_cfg, *overrides: str, match: str) -> None:
    cfg = make_cfg(*overrides)
    with pytest.raises(InputError, match=match) as error:
        train(cfg)
    assert "\n" not in str(error.value)
    _assert_nothing_trained(cfg)


@pytest.mark.parametrize("case", list(MESSAGES))
@pytest.mark.parametrize("task", ALL_TASKS)
def test_bad_file_for_every_task(make_cfg, tmp_path, task, case):
    good = write_png(tmp_path / "good.png", _picture())
    path = _bad_file(tmp_path, case, video=task in VIDEO_TASKS)
    override = _input_override(task, path, good)
    _fails(make_cfg, f"task={task}", override, match=MESSAGES[case])


@pytest.mark.parametrize("task", IMAGE_TASKS + MULTI_TASKS + ["video_dehaze"])
def test_too_small_input(make_cfg, tmp_path, task):
    tiny = _picture(6, 7)  # below every generator's multiple (8 for 3 levels, 32 for 5)
    if task == "video_dehaze":
        for i in range(3):
            write_png(tmp_path / "frames" / f"{i}.png", tiny)
        override = f"data.video={tmp_path / 'frames'}"
    else:
        override = _input_override(task, write_png(tmp_path / "tiny.png", tiny), tmp_path / "x")
        if task in MULTI_TASKS:
            path = write_png(tmp_path / "tiny.png", tiny)
            override = f"data.images=[{path},{path}]"
    _fails(make_cfg, f"task={task}", override, match="7×6")


def test_empty_frame_folder(make_cfg, tmp_path):
    (tmp_path / "frames").mkdir()
    _fails(make_cfg, "task=video_dehaze", f"data.video={tmp_path / 'frames'}", match="no image")


@pytest.mark.parametrize(
    ("task", "key"),
    [
        ("dehaze", "data.gt"),
        ("transparency_pair", "data.gt2"),
        ("watermark_multi", "data.gt"),
        ("segmentation", "data.gt_mask"),
        ("segmentation_nlayer", "data.gt_mask"),
        ("segmentation_3layer_system", "data.gt_mask"),
    ],
)
def test_ground_truth_of_another_size(make_cfg, tmp_path, task, key):
    image = write_png(tmp_path / "image.png", _picture())
    other = write_png(tmp_path / "other.png", _picture(64, 80))
    inputs = f"data.images=[{image},{image}]" if task in MULTI_TASKS else f"data.image={image}"
    _fails(make_cfg, f"task={task}", inputs, f"{key}={other}", match="80×64")


@pytest.mark.parametrize("task", HINTED_TASKS + ["video_segmentation"])
@pytest.mark.parametrize("case", ["wrong_size", "empty", "box_outside"])
def test_bad_hint(make_cfg, tmp_path, task, case):
    picture = _picture()
    if task == "video_segmentation":
        for i in range(3):
            write_png(tmp_path / "frames" / f"{i}.png", picture)
        inputs = f"data.video={tmp_path / 'frames'}"
    else:
        inputs = f"data.image={write_png(tmp_path / 'image.png', picture)}"
    if case == "box_outside":
        hint, match = "+data.hints.boxes.fg=[[100,80,200,150]]", "outside"
    else:
        mask = np.zeros((40, 50) if case == "wrong_size" else picture.shape[:2], np.uint8)
        path = write_png(tmp_path / "fg.png", mask)
        hint, match = f"data.hints.fg={path}", "50×40" if case == "wrong_size" else "empty"
    _fails(make_cfg, f"task={task}", inputs, hint, match=match)


@pytest.mark.parametrize(
    ("bbox", "match"),
    [
        ("null", "needs task.bbox"),
        ("[100,80,200,150]", "outside"),
        ("[10,10,10,30]", "empty"),
        ("[0,0,128,96]", "whole"),
    ],
)
def test_bad_watermark_box(make_cfg, tmp_path, bbox, match):
    image = write_png(tmp_path / "image.png", _picture())
    _fails(make_cfg, "task=watermark", f"data.image={image}", f"task.bbox={bbox}", match=match)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("trainer.max_steps=abc", "trainer.max_steps"),
        ("trainer.max_steps=0", "trainer.max_steps"),
        ("seed=one", "seed"),
        ("data.max_side=1.5", "data.max_side"),
        ("task.module.optimizer.lr=fast", "task.module.optimizer.lr"),
        ("task.module.loss_weights.recon=heavy", "loss_weights.recon"),
        ("memory_budget_gib=lots", "memory_budget_gib"),
        ("callbacks.nan_guard.every_n_steps=often", "every_n_steps"),
        ("retain_host_memory=yes", "retain_host_memory"),
    ],
)
def test_wrongly_typed_override(make_cfg, override, key):
    _fails(make_cfg, override, match=key)


def test_augmentations_that_do_not_split_over_the_devices(make_cfg):
    """Refused before the Trainer starts its processes."""
    overrides = ["trainer.strategy=ddp", "trainer.devices=2", "data.augmentation=batch"]
    _fails(make_cfg, *overrides, "data.per_step=3", match="split evenly over 2 devices")


@pytest.mark.parametrize(
    ("task", "override", "key"),
    [
        ("watermark", "task.bbox=[1,2]", "task.bbox"),
        ("dehaze_iterative", "task.steps=[3,x]", "task.steps"),
        ("segmentation_nlayer", "task.layers=three", "task.layers"),
        ("watermark", "task.removal=inpaint", "task.removal"),
    ],
)
def test_wrongly_typed_task_option(make_cfg, task, override, key):
    _fails(make_cfg, f"task={task}", override, match=key)


def test_a_box_too_thin_for_the_logo_removal(make_cfg):
    _fails(make_cfg, "task=watermark", "task.bbox=[10,10,13,40]", match="too small")


def test_a_box_to_find_needs_several_photos(make_cfg):
    _fails(make_cfg, "task=watermark", "task.bbox=auto", match="needs several photos")


@pytest.mark.parametrize("kind", ["gray", "rgba", "16bit", "exif"])
def test_formats_that_work(make_cfg, tmp_path, kind):
    """Gray, RGBA, 16-bit and EXIF-rotated inputs run, and outputs have the upright size."""
    picture = _picture(72, 100)
    if kind == "gray":
        path = write_png(tmp_path / "in.png", cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY))
    elif kind == "rgba":
        path = write_png(tmp_path / "in.png", cv2.cvtColor(picture, cv2.COLOR_BGR2BGRA))
    elif kind == "16bit":
        path = write_png(tmp_path / "in.png", picture.astype(np.uint16) * 257)
    else:
        path = tmp_path / "in.jpg"
        path.write_bytes(exif_rotated_jpeg(picture, orientation=6))
    cfg = make_cfg(f"data.image={path}", "trainer.max_steps=2")
    metrics = train(cfg)
    upright = (100, 72) if kind == "exif" else (72, 100)
    assert metrics["original_size"] == list(upright)
    clean = cv2.imread(str(Path(cfg.paths.output_dir) / "layers" / "clean.png"))
    assert clean.shape == (*upright, 3)


def exif_rotated_jpeg(picture: np.ndarray, orientation: int) -> bytes:
    """A JPEG of ``picture`` with an EXIF orientation tag (6: display rotated 90° clockwise)."""
    ok, encoded = cv2.imencode(".jpg", picture)
    assert ok
    tiff = b"MM\x00\x2a\x00\x00\x00\x08"  # big-endian TIFF header, first IFD at offset 8
    entry = b"\x01\x12\x00\x03\x00\x00\x00\x01" + orientation.to_bytes(2, "big") + b"\x00\x00"
    ifd = b"\x00\x01" + entry + b"\x00\x00\x00\x00"
    payload = b"Exif\x00\x00" + tiff + ifd
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    data = encoded.tobytes()
    return data[:2] + app1 + data[2:]  # right after the start-of-image marker
