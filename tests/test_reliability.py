"""Reliability: divergence, reproducibility, memory budget, run folders, one-line CLI errors."""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from dipsys.config import compose_config
from dipsys.config_checks import check_overrides
from dipsys.errors import InputError, TrainingDiverged
from dipsys.memory import training_bytes
from dipsys.nn import SkipGenerator
from dipsys.run import build_task, train
from dipsys.tasks import Dehaze
from tests.conftest import ROOT, write_png


def _poison_loss_from(monkeypatch, step: int) -> None:
    """Make the dehazing loss NaN from ``step`` on (a run that diverges there)."""
    terms = Dehaze.loss_terms

    def poisoned(self, layers, recon, batch):
        out = terms(self, layers, recon, batch)
        if batch["step"] >= step:
            out["recon"] = out["recon"] * float("nan")
        return out

    monkeypatch.setattr(Dehaze, "loss_terms", poisoned)


def test_diverging_run_stops_and_keeps_its_best_result(make_cfg, monkeypatch):
    _poison_loss_from(monkeypatch, 12)
    cfg = make_cfg("trainer.max_steps=40", "callbacks.nan_guard.every_n_steps=1")
    with pytest.raises(TrainingDiverged, match="NaN or infinite") as error:
        train(cfg)
    assert "\n" not in str(error.value)
    run = Path(cfg.paths.output_dir)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["diverged"] is True and metrics["stopped_at"] == 13
    assert math.isfinite(metrics["psnr_recon"]) and math.isfinite(metrics["psnr"])
    clean = cv2.imread(str(run / "layers" / "clean.png"))
    assert clean is not None and clean.std() > 1  # a picture, not NaNs cast to one level
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] <= 12  # the last finite state, not the diverged one
    assert all(torch.isfinite(t).all() for t in checkpoint["state_dict"].values())


def test_run_diverging_before_any_result_writes_no_layers(make_cfg, monkeypatch):
    composite = Dehaze.composite
    monkeypatch.setattr(Dehaze, "composite", lambda self, layers: composite(self, layers) * np.nan)
    cfg = make_cfg("trainer.max_steps=20")
    with pytest.raises(TrainingDiverged):
        train(cfg)
    run = Path(cfg.paths.output_dir)
    assert json.loads((run / "metrics.json").read_text())["psnr_recon"] is None
    assert not (run / "layers").exists()
    # TensorBoard shows the finite layers and no NaN reconstruction cast to one grey level
    events = EventAccumulator(str(run / "tb"), size_guidance={"images": 0})
    events.Reload()
    shown = set(events.Tags()["images"])
    assert "training_step/clean" in shown
    assert "training_step/reconstruction" not in shown


def test_diverging_stage_ends_a_system(make_cfg, monkeypatch):
    _poison_loss_from(monkeypatch, 6)  # stage 0 has 4 steps and stays finite
    cfg = make_cfg("task=dehaze_iterative", "task.steps=[4,30]", "task.haze_stop=null")
    with pytest.raises(TrainingDiverged, match="of stage 1"):
        train(cfg)
    metrics = json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())
    assert metrics["stopped_at"] == {"stage": 1, "step": 10}
    assert (Path(cfg.paths.output_dir) / "layers" / "clean.png").exists()


@pytest.mark.parametrize("task", ["dehaze", "segmentation"])
def test_same_seed_gives_identical_pngs(make_cfg, task):
    common = (f"task={task}", "trainer.max_steps=8", "data.augmentation=random")
    runs = [make_cfg(*common, f"seed={seed}", name=f"{n}") for n, seed in enumerate((3, 3, 4))]
    for cfg in runs:
        train(cfg)
    first, again, other = (Path(cfg.paths.output_dir) / "layers" for cfg in runs)
    names = sorted(p.name for p in first.glob("*.png"))
    assert names
    for name in names:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    assert any((first / n).read_bytes() != (other / n).read_bytes() for n in names)


def test_memory_check_leaves_the_seeded_run_unchanged(make_cfg):
    """The budget check builds a probe task; its weights must not come from the run's stream."""
    common = ("task=dehaze", "trainer.max_steps=4", "seed=5")
    runs = [
        make_cfg(*common, "memory_budget_gib=null", name="unchecked"),
        make_cfg(*common, "memory_budget_gib=64", name="checked"),
    ]
    for cfg in runs:
        train(cfg)
    unchecked, checked = (Path(cfg.paths.output_dir) / "layers" for cfg in runs)
    names = sorted(p.name for p in unchecked.glob("*.png"))
    assert names
    for name in names:
        assert (unchecked / name).read_bytes() == (checked / name).read_bytes(), name


def test_training_memory_grows_with_pixels_and_batch():
    torch.manual_seed(0)
    net = SkipGenerator(8, 3, channels_down=[8, 16, 32], channels_skip=[0, 0, 4])
    params = 4 * sum(p.numel() * 4 for p in net.parameters())
    small = training_bytes([net], (64, 64)) - params
    assert small > 64 * 64 * 8 * 4  # at least the first activation
    assert training_bytes([net], (128, 128)) - params == pytest.approx(4 * small, rel=0.01)
    assert training_bytes([net], (64, 64), batch=3) - params == pytest.approx(3 * small, rel=0.01)


@pytest.fixture(scope="module")
def large_photo(tmp_path_factory) -> Path:
    """A 6000×4000 JPEG (a 24-megapixel photo)."""
    y, x = np.mgrid[0:4000, 0:6000].astype(np.float32)
    image = np.stack([x / 6000, y / 4000, 0.5 + 0.3 * np.sin(x / 50)], axis=-1) * 255
    return write_png(tmp_path_factory.mktemp("large") / "photo.jpg", image.astype(np.uint8))


def test_large_photo_gets_a_working_size_that_fits(make_cfg, large_photo, caplog):
    cfg = make_cfg(f"data.image={large_photo}", "data.max_side=6000", "memory_budget_gib=5")
    with caplog.at_level(logging.WARNING, logger="dipsys.run"):
        datamodule, task = build_task(cfg, {})
    height, width = datamodule.working_size
    assert width < 6000 and width / height == pytest.approx(1.5, rel=0.1)
    assert tuple(task.size) == (height, width)
    assert training_bytes(task.generators, (height, width)) < 5 * 2**30
    assert "data.max_side 6000 →" in caplog.text
    assert tuple(datamodule.original.shape[-2:]) == (4000, 6000)  # outputs stay full size


def test_photo_too_large_for_the_budget_is_one_line(make_cfg, large_photo):
    cfg = make_cfg(f"data.image={large_photo}", "memory_budget_gib=0.5")
    with pytest.raises(InputError, match="6000×4000.*downscale it first"):
        train(cfg)


@pytest.mark.slow
def test_large_photo_runs_end_to_end(make_cfg, large_photo):
    cfg = make_cfg(f"data.image={large_photo}", "data.max_side=6000", "trainer.max_steps=2")
    metrics = train(cfg)
    assert metrics["original_size"] == [4000, 6000]
    clean = cv2.imread(str(Path(cfg.paths.output_dir) / "layers" / "clean.png"))
    assert clean.shape == (4000, 6000, 3)


def test_unknown_options_are_one_line():
    with pytest.raises(InputError, match="Could not find 'task/nope'") as error:
        check_overrides(["task=nope"])
    assert "\n" not in str(error.value)
    with pytest.raises(InputError, match="data.nokey"):
        check_overrides(["data.nokey=1"])
    with pytest.raises(InputError, match="task/nope"):
        check_overrides(["task=dehaze,nope", "seed=0,1"], multirun=True)
    check_overrides(["task=dehaze,transparency", "task.name=x,y"], multirun=True)


def test_run_folders_are_unique():
    first, second = (compose_config([]).hydra for _ in range(2))
    assert first.run.dir != second.run.dir  # two runs started within one second
    assert first.sweep.dir != second.sweep.dir
    sweep = OmegaConf.to_container(first.sweep, resolve=False)
    assert sweep["subdir"] == "${hydra.job.num}"  # one folder per job of a sweep


def _cli(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    command = [sys.executable, str(ROOT / "train.py"), "debug=ci", f"hydra.run.dir={tmp_path}"]
    return subprocess.run(
        [*command, *overrides], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.parametrize(
    ("overrides", "code", "message"),
    [
        (("task=nope",), 2, "unknown task 'nope'"),
        (("task.module.optimizer.lr=1e30", "trainer.max_steps=30"), 3, "training diverged"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, overrides, code, message):
    result = _cli(tmp_path, *overrides)
    assert result.returncode == code, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in result.stderr
    if code == 3:
        assert json.loads((tmp_path / "metrics.json").read_text())["diverged"] is True
