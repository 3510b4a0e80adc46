"""TensorBoard shows what the run exports: the layer images, the figure against the truth."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from dipsys.callbacks.tensorboard import tensorboard_tag
from dipsys.run import train


def _events(run: Path) -> EventAccumulator:
    events = EventAccumulator(str(run / "tb"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    return events


def _last_image(events: EventAccumulator, tag: str) -> np.ndarray:
    encoded = events.Images(tag)[-1].encoded_image_string
    return cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)


def test_layer_images_are_the_exported_layers(make_cfg):
    """The last ``result/<name>`` image is ``layers/<name>.png`` (TensorBoard truncates to 8
    bits where the PNG rounds: one level apart at most)."""
    cfg = make_cfg("trainer.max_steps=5", "callbacks.layer_images.every_n_steps=2")
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    events = _events(run)
    for name in ("clean", "transmission", "airlight"):
        exported = cv2.imread(str(run / "layers" / f"{name}.png"), cv2.IMREAD_COLOR)
        shown = _last_image(events, f"result/{name}")
        assert shown.shape == exported.shape, name
        difference = np.abs(shown.astype(int) - exported.astype(int))
        assert difference.max() <= 1, (name, difference.max())
    truth = events.Scalars("psnr/ground_truth")
    assert truth[-1].step == cfg.trainer.max_steps - 1
    assert truth[-1].value == pytest.approx(metrics["psnr"], abs=1e-4)
    assert json.loads((run / "metrics.json").read_text())["psnr"] == metrics["psnr"]


def test_raw_generator_outputs_are_tagged_as_such(make_cfg):
    cfg = make_cfg("trainer.max_steps=3")
    train(cfg)
    tags = _events(Path(cfg.paths.output_dir)).Tags()
    raw = {tag for tag in tags["images"] if tag.startswith("training_step/")}
    assert raw == {f"training_step/{n}" for n in ("clean", "transmission", "airlight")} | {
        "training_step/reconstruction",
        "training_step/target",
    }
    assert not [tag for tag in tags["images"] if tag.startswith("layers/")]


def test_segmentation_logs_iou_against_the_true_mask(make_cfg):
    cfg = make_cfg("task=segmentation", "trainer.max_steps=4")
    metrics = train(cfg)
    iou = _events(Path(cfg.paths.output_dir)).Scalars("iou/ground_truth")
    assert iou[-1].value == pytest.approx(metrics["iou"], abs=1e-4)


@pytest.mark.parametrize(
    ("logged", "tag"),
    [
        ("epoch", None),
        ("sigma", "schedule/sigma"),
        ("psnr_recon", "psnr/reconstruction"),
        ("loss/recon", "loss/recon"),
        ("stage_1/sigma", "stage_1/schedule/sigma"),
        ("stage_0/epoch", None),
        ("stage_2/loss/total", "stage_2/loss/total"),
    ],
)
def test_scalar_tags(logged, tag):
    assert tensorboard_tag(logged) == tag
