"""Watermark removal: compositing, the box hint and its errors, the two-stage schedule, runs."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import torch

from dipsys.data import SingleImageDataModule
from dipsys.errors import InputError
from dipsys.nn import NoiseSpec, SkipGenerator
from dipsys.ops.compositing import overlay_watermark, remove_watermark
from dipsys.ops.inpaint import inpaint
from dipsys.ops.metrics import masked_psnr
from dipsys.run import train
from dipsys.tasks import Watermark
from dipsys.tasks.watermark import check_bbox
from tests.conftest import ROOT

SIZE = (32, 48)
BOX_KEY = "aligned/box_watermark"


def _task(**kwargs) -> Watermark:
    spec = NoiseSpec("uniform", 2, 0.01)

    def net(out_channels: int) -> SkipGenerator:
        return SkipGenerator(2, out_channels, channels_down=(8, 8), channels_skip=(0, 4))

    return Watermark(
        generators={"clean": net(3), "watermark": net(3), "mask": net(1)},
        inputs={"clean": spec, "watermark": spec, "mask": spec},
        size=SIZE,
        loss_weights={
            "clean_outside": 1.0,
            "recon": 0.5,
            "smooth_watermark": 1.0,
            "sparse_mask": 0.1,
        },
        **{"bbox": [8, 4, 24, 20], **kwargs},
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"removal": "inpaint"}, "task.removal must be one of"),
        ({"bbox": [8, 4, 14, 40]}, "too small for the logo removal"),
    ],
)
def test_bad_removal_options(options, message):
    with pytest.raises(InputError, match=message):
        _task(**options)
    if "bbox" in options:  # the Double-DIP layers take a thin box
        _task(removal="dip", **options)


def _batch(step: int, hint: torch.Tensor, target: torch.Tensor) -> dict:
    return {
        "k": [0],
        "sigma": torch.tensor(0.0),
        "step": step,
        "last": False,
        "target": target,
        BOX_KEY: hint,
    }


def test_overlay_and_removal_are_inverse():
    clean, colour = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    mask = 0.8 * torch.rand(2, 1, 8, 8)
    image = overlay_watermark(clean, colour, mask)
    assert torch.allclose(image, mask * colour + (1 - mask) * clean)
    assert torch.allclose(remove_watermark(image, colour, mask), clean, atol=1e-5)
    assert torch.equal(overlay_watermark(clean, colour, torch.zeros_like(mask)), clean)


def test_masked_psnr_counts_only_the_box():
    reference = torch.zeros(3, 10, 10)
    estimate = reference.clone()
    estimate[:, :5] = 0.1  # error only in the top half
    top, bottom = torch.zeros(1, 10, 10), torch.zeros(1, 10, 10)
    top[:, :5], bottom[:, 5:] = 1, 1
    assert masked_psnr(estimate, reference, top) == pytest.approx(20.0)
    assert masked_psnr(estimate, reference, bottom) == math.inf
    assert math.isnan(masked_psnr(estimate, reference, torch.zeros(1, 10, 10)))


def test_inpaint_changes_only_the_box():
    image = torch.rand(3, 24, 24)
    box = torch.zeros(1, 24, 24)
    box[:, 8:16, 8:16] = 1
    filled = inpaint(image, box)
    outside = box.expand(3, -1, -1) == 0
    assert torch.allclose(filled[outside], image[outside], atol=1 / 255)
    assert not torch.allclose(filled[~outside], image[~outside], atol=1 / 255)


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        (None, "needs task.bbox"),
        ([1, 2, 3], "4 numbers"),
        ("abcd", "4 numbers"),
        ([10, 5, 10, 20], "empty"),
        ([-4, 0, 10, 10], "outside"),
    ],
)
def test_bad_boxes(bbox, message):
    with pytest.raises(InputError, match=message):
        check_bbox(bbox)


def test_box_outside_the_image_is_caught_when_the_data_is_read(rgb_image):
    with pytest.raises(InputError, match="outside the 100×72 image"):
        SingleImageDataModule(str(rgb_image), boxes={"watermark": [50, 10, 120, 30]}).prepare()
    dm = SingleImageDataModule(str(rgb_image), max_side=128, boxes={"watermark": [0, 0, 50, 36]})
    dm.prepare()  # working size 64×96: the box covers the top-left quarter, rounded outwards
    assert dm.boxes["watermark"].sum() == 50 * 36
    assert dm.aligned["box_watermark"].shape == (1, 64, 96)
    assert dm.aligned["box_watermark"][0, :32, :48].all()
    assert not dm.aligned["box_watermark"][0, 34:, 50:].any()


def test_two_stages_switch_terms_selection_and_reset_adam():
    task = _task(hint_fraction=0.4)
    task.set_schedule(10)
    assert task.split == 4
    assert not task.selectable(3) and task.selectable(4)
    hint = torch.zeros(1, 1, *SIZE)
    hint[..., 4:20, 8:24] = 1
    target = torch.rand(1, 3, *SIZE)
    for step, stage2 in ((3, False), (4, True)):
        batch = _batch(step, hint, target)
        layers = task.decompose(task(batch["k"], batch["sigma"]), batch)
        outside = (layers["mask"].detach() * (1 - hint)).abs().sum()
        assert float(outside) == 0.0  # no watermark outside the box
        terms = task.loss_terms(layers, task.composite(layers), batch)
        for name in ("recon", "smooth_watermark", "sparse_mask"):
            assert (float(terms[name].detach()) > 0) == stage2, name
    adam = torch.optim.Adam(task.parameters())
    task.loss_terms(layers, task.composite(layers), batch)["recon"].backward()
    adam.step()

    class Trainer:
        optimizers = [adam]

    task._trainer = Trainer()
    task.on_train_batch_start(_batch(3, hint, target), 0)
    assert adam.state
    task.on_train_batch_start(_batch(4, hint, target), 0)
    assert not adam.state


def test_watermark_writes_the_output_contract(make_cfg):
    cfg = make_cfg("task=watermark")
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    for name in ("clean", "watermark", "mask"):
        layer = cv2.imread(str(run / "layers" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        assert layer.shape[:2] == (192, 256), name
    assert cv2.imread(str(run / "baselines" / "inpaint.png")).shape[:2] == (192, 256)
    assert json.loads((run / "metrics.json").read_text()) == metrics
    for key in ("psnr", "ssim", "psnr_box", "psnr_recon"):
        assert key in metrics, key
    assert {"psnr", "psnr_box"} <= set(metrics["baselines"]["inpaint"])
    assert metrics["input"]["psnr_box"] < metrics["input"]["psnr"]
    # the default removal: in the given box, at the original resolution, recorded
    assert metrics["removal"]["box"] == [39, 8, 141, 49]
    assert metrics["removal"]["box_source"] == "given"
    removal = metrics["removal"]
    assert 0.0 < removal["strength"] <= 1.0
    assert removal["opacity"] == pytest.approx(removal["strength"] * removal["found_opacity"], 1e-3)
    mask = cv2.imread(str(run / "layers" / "mask.png"), cv2.IMREAD_UNCHANGED)
    assert mask[8:49, 39:141].any() and not mask[49:].any() and not mask[:, 141:].any()
    assert list((run / "tb").glob("events.out.tfevents.*"))
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == cfg.trainer.max_steps


def test_box_outside_the_image_is_one_clear_line(tmp_path):
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    command = [sys.executable, str(ROOT / "train.py"), "task=watermark", "debug=ci"]
    command += [f"hydra.run.dir={tmp_path}/run", "task.bbox=[200,10,300,40]"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "outside the 256×192 image" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "run" / "layers").exists()


def test_box_over_the_whole_image_is_an_input_error(rgb_image):
    with pytest.raises(InputError, match="whole 100×72 image"):
        SingleImageDataModule(str(rgb_image), boxes={"watermark": [0, 0, 100, 72]}).prepare()
