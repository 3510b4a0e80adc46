"""Every task decomposes a small synthetic case with exact ground truth better than its input.

Each test builds a case in code (``dipsys.data.synthetic``), runs the task through
``dipsys.run.train`` at 48–96 px for at most 300 steps and asserts a margin over the input that a
broken task (a skipped generator, a zeroed term, swapped layers, a lost handoff) cannot reach.
The runs are seeded and use one thread, so a figure does not depend on the machine's core count.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from dipsys.data.io import read_image, write_image
from dipsys.data.synthetic import (
    colorize,
    fg_bg_composite,
    haze_case,
    hazy_video,
    load_sample,
    moving_object_video,
    region_composite,
)
from dipsys.data.synthetic.samples import fit_to_size
from dipsys.data.video_io import write_frames
from dipsys.ops.metrics import image_metrics
from dipsys.run import train

pytestmark = pytest.mark.usefixtures("one_thread")

#: cheap logging: no TensorBoard images or checkpoints mid-run
FAST = (
    "callbacks.layer_images.every_n_steps=100000",
    "callbacks.model_checkpoint.every_n_train_steps=100000",
    "data.steps_per_epoch=100",
)


@pytest.fixture
def run(make_cfg):
    def factory(*overrides: str, name: str = "run") -> tuple[dict, Path]:
        cfg = make_cfg(*FAST, *overrides, name=name)
        return train(cfg), Path(cfg.paths.output_dir)

    return factory


def _photo(name: str, size: tuple[int, int], seed: int = 0) -> torch.Tensor:
    return fit_to_size(load_sample(name), size, torch.Generator().manual_seed(seed))


def _texture(name: str, color: tuple[float, float, float]) -> torch.Tensor:
    return colorize(load_sample(name), color)


def _save(path: Path, image: torch.Tensor) -> str:
    write_image(path, image)
    return str(path)


def _at_least(what: str, figure: float, floor: float) -> None:
    """Assert ``figure >= floor``; the margin is printed (``pytest -s``) for the record."""
    print(f"quality: {what} = {figure:.3f}, floor {floor:.3f}, margin {figure - floor:+.3f}")
    assert figure >= floor, f"{what} = {figure:.3f} is below its floor {floor:.3f}"


def _psnr(estimate: torch.Tensor, truth: torch.Tensor) -> float:
    return image_metrics(estimate, truth)["psnr"]


# -- dehazing -------------------------------------------------------------------------------------
def _haze(tmp_path: Path) -> list[str]:
    case = haze_case(_photo("chelsea", (64, 64)), seed=3, beta=1.6)
    return [
        f"data.image={_save(tmp_path / 'hazy.png', case['hazy'])}",
        f"data.gt={_save(tmp_path / 'clean.png', case['clean'])}",
        "data.max_side=64",
    ]


def test_dehaze_clears_synthetic_haze(run, tmp_path):
    metrics, _ = run("task=dehaze", *_haze(tmp_path), "trainer.max_steps=200")
    _at_least("dehaze psnr", metrics["psnr"], metrics["input"]["psnr"] + 3.0)


def test_iterative_dehazing_hands_each_stage_the_last_clean_layer(run, tmp_path, monkeypatch):
    from dipsys.systems.system import System

    inputs, cleans = [], []
    original_train = System._train

    def recording(self, index, stage, handoff, stage_dir, ckpt_path):
        result = original_train(self, index, stage, handoff, stage_dir, ckpt_path)
        inputs.append(result.datamodule.original.clone())
        cleans.append(result.layers["clean"].clone())
        return result

    monkeypatch.setattr(System, "_train", recording)
    metrics, out = run(
        "task=dehaze_iterative", *_haze(tmp_path), "task.steps=[60,120]", "task.haze_stop=null"
    )
    assert len(inputs) == 2
    assert torch.equal(inputs[1], cleans[0])  # stage 1 dehazes exactly stage 0's clean layer
    assert not torch.equal(inputs[1], inputs[0])
    written = read_image(out / "stage_0" / "layers" / "clean.png")
    assert torch.equal(written, cleans[0].mul(255).round().div(255))
    _at_least("dehaze_iterative psnr", metrics["psnr"], metrics["input"]["psnr"] + 3.0)


def test_restarts_merge_within_the_runs(run, tmp_path):
    metrics, out = run("task=dehaze", *_haze(tmp_path), "trainer.max_steps=40", "+task.restarts=3")
    runs = [stage["psnr"] for stage in metrics["stages"]]
    assert len(runs) == 3 and max(runs) - min(runs) > 0  # three different seeds
    _at_least("restarts merged psnr", metrics["psnr"], min(runs) - 0.1)
    layers = torch.stack(
        [read_image(out / f"stage_{i}" / "layers" / "clean.png") for i in range(3)]
    )
    merged = read_image(out / "layers" / "clean.png")
    step = 1.5 / 255  # each is rounded to 8 bits on its own
    assert (merged >= layers.min(dim=0).values - step).all()
    assert (merged <= layers.max(dim=0).values + step).all()


def test_video_dehaze_clears_every_frame(run, tmp_path):
    video = hazy_video(_photo("coffee", (48, 64)), frames=4, seed=1)
    write_frames(tmp_path / "frames", video["frames"])
    write_frames(tmp_path / "clean", video["clean"].expand(4, -1, -1, -1))
    metrics, _ = run(
        "task=video_dehaze",
        f"data.video={tmp_path / 'frames'}",
        f"data.gt={tmp_path / 'clean'}",
        "trainer.max_steps=100",
    )
    # a constant transmission alone already clears 4 dB of this haze: ask for more than the
    # per-frame dark channel prior too
    floor = max(metrics["input"]["psnr"] + 3.0, metrics["baselines"]["dcp"]["psnr"] + 1.0)
    _at_least("video_dehaze psnr", metrics["psnr"], floor)


# -- segmentation ---------------------------------------------------------------------------------
def _core_and_ring(masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Hints from true masks: an eroded core of the object as fg, beyond a dilated ring as bg.

    Shape:
        - masks: ``(..., 1, H, W)``; fg, bg: the same
    """
    binary = (masks.reshape(-1, *masks.shape[-2:]).numpy() > 0.5).astype(np.uint8)
    kernel = np.ones((7, 7), np.uint8)
    fg = np.stack([cv2.erode(m, kernel) for m in binary])
    bg = 1 - np.stack([cv2.dilate(m, kernel) for m in binary])
    return tuple(torch.from_numpy(x).float().reshape(masks.shape) for x in (fg, bg))


def _hints_from(mask: torch.Tensor, tmp_path: Path) -> list[str]:
    """Hint files (:func:`_core_and_ring`) of one mask."""
    fg, bg = _core_and_ring(mask)
    return [
        f"data.hints.fg={_save(tmp_path / 'fg.png', fg)}",
        f"data.hints.bg={_save(tmp_path / 'bg.png', bg)}",
    ]


def _two_textures(tmp_path: Path) -> tuple[list[str], torch.Tensor]:
    brick = _texture("brick", (0.9, 0.45, 0.3))
    grass = _texture("grass", (0.35, 0.8, 0.3))
    case = fg_bg_composite(brick, grass, seed=5, size=(48, 64))
    files = [
        f"data.image={_save(tmp_path / 'image.png', case['image'])}",
        f"data.gt_mask={_save(tmp_path / 'mask.png', case['mask'])}",
        "data.max_side=64",
    ]
    return files, case["mask"]


def test_segmentation_finds_the_textured_object(run, tmp_path):
    files, mask = _two_textures(tmp_path)
    metrics, _ = run(
        "task=segmentation",
        *files,
        *_hints_from(mask, tmp_path),
        "task.module.refine=guided",
        "trainer.max_steps=200",
    )
    _at_least("segmentation iou", metrics["iou"], 0.7)


def _three_textures(tmp_path: Path) -> list[str]:
    layers = [
        _texture("brick", (0.9, 0.45, 0.3)),
        _texture("grass", (0.35, 0.8, 0.3)),
        _texture("gravel", (0.3, 0.4, 0.9)),
    ]
    case = region_composite(layers, seed=2, size=(48, 64))
    labels = case["labels"].float() / 2  # gray levels 0, 127.5, 255 → labels 0, 1, 2
    return [
        f"data.image={_save(tmp_path / 'image.png', case['image'])}",
        f"data.gt_mask={_save(tmp_path / 'labels.png', labels)}",
        "data.max_side=64",
    ]


def test_nlayer_segmentation_beats_chance_widely(run, tmp_path):
    metrics, _ = run(
        "task=segmentation_nlayer", *_three_textures(tmp_path), "trainer.max_steps=150"
    )
    _at_least("segmentation_nlayer iou", metrics["iou"], 0.6)  # three labels: chance ~1/3


def test_three_layer_system_beats_chance_widely(run, tmp_path):
    metrics, _ = run(
        "task=segmentation_3layer_system",
        *_three_textures(tmp_path),
        "task.module.refine=guided",
        "task.steps=100",
    )
    _at_least("segmentation_3layer_system iou", metrics["iou"], 0.6)


def test_video_segmentation_follows_the_moving_object(run, tmp_path):
    """Hints per frame from the truth (an eroded core, a far ring), as folders of masks: the
    task's own decomposition is held here, so the DIP mask is exported through the guided
    filter (the graph cut alone segments this clip from the hints). Motion hints are held in
    tests/test_video_hints.py and measured on clips from real photos in
    docs/results_segmentation.md."""
    brick = _texture("brick", (0.9, 0.45, 0.3))
    grass = _texture("grass", (0.35, 0.8, 0.3))
    video = moving_object_video(brick, grass, frames=4, size=(48, 64), seed=1)
    write_frames(tmp_path / "frames", video["frames"])
    write_frames(tmp_path / "masks", video["masks"])
    fg, bg = _core_and_ring(video["masks"])
    write_frames(tmp_path / "fg", fg)
    write_frames(tmp_path / "bg", bg)
    metrics, _ = run(
        "task=video_segmentation",
        f"data.video={tmp_path / 'frames'}",
        f"data.gt_mask={tmp_path / 'masks'}",
        f"+data.hints.fg={tmp_path / 'fg'}",
        f"+data.hints.bg={tmp_path / 'bg'}",
        "task.module.refine=guided",
        "trainer.max_steps=400",
    )
    coverage = float(video["masks"].mean())
    _at_least("video_segmentation iou", metrics["iou"], max(0.6, coverage + 0.3))


def test_video_transparency_separates_every_frame(run):
    """The bundled clip: a camera panning behind a static reflection (synthetic ground truth)."""
    metrics, _ = run("task=video_transparency", "data.max_side=64", "trainer.max_steps=300")
    _at_least("video_transparency psnr", metrics["psnr"], metrics["input"]["psnr"] + 1.0)


# -- watermarks -----------------------------------------------------------------------------------
def test_watermark_box_is_cleaner_than_the_input(run):
    """The bundled sample (synthetic text over a photo, box given), the default affine removal:
    the box beats the input (31.10 against 21.84 dB as measured; the DIP path gave 29.75).

    The removal does not depend on the DIP steps, so a few suffice.
    """
    metrics, _ = run("task=watermark", "trainer.max_steps=10")
    assert metrics["removal"]["kept_input"] is False
    _at_least("watermark psnr_box", metrics["psnr_box"], metrics["input"]["psnr_box"] + 5.0)


def test_watermark_dip_box_beats_inpainting_and_stays_near_the_input(run):
    """The same with ``task.removal=dip``, the Double-DIP layers: the box far above inpainting
    it, and not more than 1 dB below the input.

    At 600 steps the DIP box still turns on the seed and the machine's arithmetic: seeds 0-3
    gave 22.27 / 22.66 / 21.20 / 23.28 dB against the input's 21.84 and inpainting's 13.42 (one
    thread, AVX-512; seed 0 gave 23.38 on an earlier machine); at 1000 steps 21.49-25.16. So
    "above the input" is not a property of this budget; most expensive fast test.
    ``watermark_multi`` needs ~1500 steps (3 images) to beat its inputs without a box; no test
    holds it (docs/testing.md).
    """
    metrics, _ = run("task=watermark", "task.removal=dip", "trainer.max_steps=600")
    assert "removal" not in metrics
    box, given = metrics["psnr_box"], metrics["input"]["psnr_box"]
    _at_least("watermark psnr_box", box, given - 1.0)
    _at_least(
        "watermark psnr_box over inpainting", box, metrics["baselines"]["inpaint"]["psnr_box"] + 5.0
    )


def test_quality_runs_write_what_they_report(run, tmp_path):
    """The figure in metrics.json is the exported clean layer's, not a working-size copy's."""
    metrics, out = run("task=dehaze", *_haze(tmp_path), "trainer.max_steps=30")
    clean = read_image(out / "layers" / "clean.png")
    truth = read_image(tmp_path / "clean.png")
    assert abs(_psnr(clean, truth) - metrics["psnr"]) < 0.1
    assert json.loads((out / "metrics.json").read_text())["psnr"] == metrics["psnr"]
