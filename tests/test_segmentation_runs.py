"""Segmentation tasks run through train() (the files and figures they write), and their hints
resolved by the data module."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from dipsys.data import SingleImageDataModule
from dipsys.data.io import write_image
from dipsys.errors import InputError
from dipsys.ops.labels import binary_iou, labels_from_gray, mean_iou
from dipsys.run import train

ROOT = Path(__file__).resolve().parents[1]


def _two_regions(tmp_path: Path) -> tuple[Path, Path]:
    """A 64×80 image: a red textured disc on a green textured background, and its mask."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:64, 0:80]
    disc = ((y - 30) ** 2 + (x - 42) ** 2 < 18**2).astype(np.float32)
    noise = rng.uniform(-0.08, 0.08, (64, 80, 1)).astype(np.float32)
    red, green = np.array([0.85, 0.25, 0.2]), np.array([0.2, 0.7, 0.25])
    image = disc[..., None] * red + (1 - disc[..., None]) * green + noise
    image_path, mask_path = tmp_path / "disc.png", tmp_path / "disc_mask.png"
    write_image(image_path, torch.from_numpy(image).permute(2, 0, 1).float().clamp(0, 1))
    write_image(mask_path, torch.from_numpy(disc)[None])
    return image_path, mask_path


def _read(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def _labels(gray: np.ndarray) -> torch.Tensor:
    return labels_from_gray(torch.from_numpy(gray))


@pytest.mark.parametrize("hints", ["auto", "files"])
def test_segmentation_run_writes_the_contract(make_cfg, tmp_path, hints):
    image, mask = _two_regions(tmp_path)
    overrides = [f"data.image={image}", f"data.gt_mask={mask}", "task=segmentation"]
    if hints == "files":
        fg, bg = torch.zeros(2, 1, 64, 80)
        fg[:, 25:35, 37:47] = 1  # inside the disc
        bg[:, :4] = 1  # the top rows
        fg_path = write_image(tmp_path / "fg.png", fg)
        bg_path = write_image(tmp_path / "bg.png", bg)
        overrides += [f"data.hints.fg={fg_path}", f"data.hints.bg={bg_path}"]
    cfg = make_cfg(*overrides)
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    for name in ("foreground", "background", "mask", "mask_soft"):
        assert _read(run / "layers" / f"{name}.png").shape[:2] == (64, 80), name
    binary = _read(run / "layers" / "mask.png")
    assert set(np.unique(binary)) <= {0, 255}
    # the binary mask is its own soft mask thresholded at ½ (the cut decides both)
    soft = _read(run / "layers" / "mask_soft.png")
    assert np.array_equal(binary > 127, soft > 127)
    saved = json.loads((run / "metrics.json").read_text())
    assert saved == metrics and saved["task"] == "segmentation"
    # the figures are those of the written masks against the ground truth
    truth = torch.from_numpy(_read(mask) > 127)
    assert saved["iou"] == pytest.approx(
        binary_iou(torch.from_numpy(binary > 127), truth), abs=2e-3
    )
    grabcut = torch.from_numpy(_read(run / "baselines" / "grabcut.png") > 127)
    assert saved["baselines"]["grabcut"]["iou"] == pytest.approx(
        binary_iou(grabcut, truth), abs=2e-3
    )
    assert (run / "checkpoints" / "last.ckpt").is_file()


def test_nlayer_run_writes_labels(make_cfg):
    cfg = make_cfg("task=segmentation_nlayer")
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    labels = _read(run / "layers" / "labels.png")
    assert labels.shape[:2] == tuple(metrics["original_size"])
    assert set(np.unique(labels)) <= {0, 127, 128, 255}
    for name in ("layer0", "layer1", "layer2", "foreground", "background", "mask"):
        assert (run / "layers" / f"{name}.png").is_file(), name
    truth = _labels(_read(ROOT / "assets/segmentation/three_regions_labels.png"))
    assert metrics["iou"] == pytest.approx(mean_iou(_labels(labels), truth, 3)[0], abs=2e-3)
    assert "grabcut" in metrics["baselines"]


def test_three_layer_system_combines_pairwise_runs(make_cfg):
    cfg = make_cfg("task=segmentation_3layer_system", "task.steps=3")
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    assert [stage["steps"] for stage in metrics["stages"]] == [3, 3, 3]
    for index in range(3):
        assert (run / f"stage_{index}" / "layers" / "mask_soft.png").is_file()
        assert "iou" not in metrics["stages"][index]
    labels = _read(run / "layers" / "labels.png")
    assert set(np.unique(labels)) <= {0, 127, 128, 255}
    truth = _labels(_read(ROOT / "assets/segmentation/three_regions_labels.png"))
    assert metrics["iou"] == pytest.approx(mean_iou(_labels(labels), truth, 3)[0], abs=2e-3)
    grabcut = _labels(_read(run / "baselines" / "grabcut.png"))
    assert metrics["baselines"]["grabcut"]["iou"] == pytest.approx(
        mean_iou(grabcut, truth, 3)[0], abs=2e-3
    )
    assert json.loads((run / "metrics.json").read_text()) == metrics


def _datamodule(image: Path, **hints) -> SingleImageDataModule:
    return SingleImageDataModule(str(image), max_side=64, multiple=8, hints={"layers": 2, **hints})


def test_hints_from_files_boxes_and_automatic(tmp_path):
    image, _ = _two_regions(tmp_path)
    dm = _datamodule(image, boxes={"fg": [[30, 20, 50, 40]]})
    dm.prepare()
    fg, bg = dm.hints["fg"], dm.hints["bg"]
    assert fg.shape == (1, 64, 80) and fg[0, 20:40, 30:50].all() and fg.sum() == 400
    assert bg.any() and not (fg * bg).any()  # bg automatic, outside the given fg
    assert dm.aligned["hint_fg"].shape == (1, *dm.working_size)


@pytest.mark.parametrize(
    ("hints", "message"),
    [
        ({"boxes": {"fg": [[60, 20, 90, 40]]}}, "outside"),
        ({"boxes": {"xx": [[0, 0, 4, 4]]}}, "unknown hint 'xx'"),
        ({"fg": "wrong_size"}, "but the image is"),
        ({"fg": "empty"}, "empty"),
    ],
)
def test_bad_hints_are_input_errors(tmp_path, hints, message):
    image, _ = _two_regions(tmp_path)
    if hints.get("fg") == "wrong_size":
        hints["fg"] = str(write_image(tmp_path / "small.png", torch.ones(1, 10, 10)))
    elif hints.get("fg") == "empty":
        hints["fg"] = str(write_image(tmp_path / "empty.png", torch.zeros(1, 64, 80)))
    with pytest.raises(InputError, match=message):
        _datamodule(image, **hints).prepare()
