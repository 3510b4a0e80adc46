"""Integration: the dehazing task through the Hydra config and dipsys.run.train."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from dipsys.errors import InputError
from dipsys.run import train
from tests.conftest import write_png


def _tensorboard(run_dir: Path) -> EventAccumulator:
    events = EventAccumulator(str(run_dir / "tb"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    return events


def test_dehaze_writes_the_output_contract(make_cfg, tmp_path):
    cfg = make_cfg()
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    height, width = cv2.imread(cfg.data.image).shape[:2]
    for name in ("clean", "transmission", "airlight"):
        layer = cv2.imread(str(run / "layers" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        assert layer.shape[:2] == (height, width), name
    saved = json.loads((run / "metrics.json").read_text())
    assert saved == metrics
    for key in ("task", "steps", "wall_s", "it_per_s", "psnr_recon", "psnr", "ssim"):
        assert key in saved
    assert saved["task"] == "dehaze" and saved["steps"] == cfg.trainer.max_steps
    assert "dcp" in saved["baselines"]
    tags = _tensorboard(run).Tags()
    scalars = ("loss/recon", "loss/smooth_t", "loss/total", "psnr/reconstruction")
    for term in (*scalars, "psnr/ground_truth", "schedule/sigma", "speed/it_per_s"):
        assert term in tags["scalars"], term
    assert "epoch" not in tags["scalars"]
    for layer in ("clean", "transmission", "airlight"):
        assert f"result/{layer}" in tags["images"], layer
    for raw in ("clean", "transmission", "airlight", "reconstruction", "target"):
        assert f"training_step/{raw}" in tags["images"], raw
    assert (run / "summary.png").is_file()
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == cfg.trainer.max_steps


def test_learned_airlight_and_batched_augmentation(make_cfg):
    cfg = make_cfg("task.module.airlight=learned", "data.augmentation=batch", "data.per_step=4")
    train(cfg)
    tags = _tensorboard(Path(cfg.paths.output_dir)).Tags()["scalars"]
    assert "loss/airlight_anchor" in tags and "loss/smooth_airlight" in tags


@pytest.mark.parametrize("kind", ["gray", "rgba"])
def test_any_size_and_channels(make_cfg, tmp_path, kind):
    rng = np.random.default_rng(0)
    shape = (70, 101) if kind == "gray" else (70, 101, 4)
    path = write_png(tmp_path / f"{kind}.png", rng.integers(0, 255, shape, dtype=np.uint8))
    cfg = make_cfg(f"data.image={path}", "data.gt=null", "trainer.max_steps=2")
    metrics = train(cfg)
    clean = cv2.imread(str(Path(cfg.paths.output_dir) / "layers" / "clean.png"))
    assert clean.shape == (70, 101, 3)
    assert "psnr" not in metrics


def test_resume_continues_from_checkpoint(make_cfg, monkeypatch):
    from dipsys.tasks.base import LayerDecomposition

    first = make_cfg()
    train(first)
    ckpt = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    trained: list[int] = []
    step = LayerDecomposition.training_step

    def counting(self, batch, batch_idx):
        trained.append(batch["step"])
        return step(self, batch, batch_idx)

    monkeypatch.setattr(LayerDecomposition, "training_step", counting)
    resumed = make_cfg(f"ckpt_path={ckpt}", "trainer.max_steps=9", name="resumed")
    metrics = train(resumed)
    assert metrics["steps"] == 9
    assert trained == [6, 7, 8]  # only the steps the checkpoint had not taken


def test_resume_needs_a_checkpoint_short_of_the_budget(make_cfg, tmp_path):
    first = make_cfg()
    train(first)
    ckpt = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    with pytest.raises(InputError, match="max_steps"):
        train(make_cfg(f"ckpt_path={ckpt}", name="again"))
    with pytest.raises(InputError, match="not found"):
        train(make_cfg(f"ckpt_path={tmp_path / 'none.ckpt'}", name="missing"))


def test_reconstruction_improves(make_cfg):
    short = train(make_cfg("trainer.max_steps=1", name="short"))
    longer = train(make_cfg("trainer.max_steps=40"))
    assert longer["psnr_recon"] > short["psnr_recon"] + 1.0
