"""Resuming: a killed or stopped run continues to the same result as an uninterrupted one.

On CPU the tolerance is zero: every step's batch, augmentation and input noise are functions of
(seed, step), and the optimizer state and best result are in the checkpoint, so the resumed
run's layers are byte-identical PNGs and its metrics equal (wall time and rate aside).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from omegaconf import open_dict

from dipsys.config import compose_config
from dipsys.errors import InputError
from dipsys.run import train
from tests.conftest import ROOT

#: figures that depend on the clock, not on the computation
TIMING = {"wall_s", "it_per_s"}
#: a short dehazing run whose every step differs (random transforms, per-step noise)
DEHAZE = ("trainer.max_steps=60", "data.augmentation=random", "data.max_side=64")
CHECKPOINT_EVERY = "callbacks.model_checkpoint.every_n_train_steps=5"


class CrashAt(pl.Callback):
    """Raises :class:`Crash` once training reaches ``step`` (an in-process stand-in for a kill)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step == self.step:
            raise Crash(f"crash at step {self.step}")


class Crash(RuntimeError):
    pass


class RecordStart(pl.Callback):
    """Records the global step every fit starts at (class-level: Hydra builds the instances)."""

    starts: list[int] = []

    def on_train_start(self, trainer, pl_module) -> None:
        RecordStart.starts.append(trainer.global_step)


def _recording(cfg):
    """``cfg`` with :class:`RecordStart` among its callbacks, the record emptied."""
    RecordStart.starts.clear()
    with open_dict(cfg):
        cfg.callbacks.record = {"_target_": f"{__name__}.RecordStart"}
    return cfg


def _without_timing(metrics: dict) -> dict:
    out = {k: v for k, v in metrics.items() if k not in TIMING}
    if "stages" in out:
        out["stages"] = [_without_timing(stage) for stage in out["stages"]]
    if "extended_from" in out:
        out["extended_from"] = _without_timing(out["extended_from"])
    return out


def _assert_same_result(run: Path, reference: Path) -> None:
    ran = json.loads((run / "metrics.json").read_text())
    expected = json.loads((reference / "metrics.json").read_text())
    assert _without_timing(ran) == _without_timing(expected)
    layers = sorted(p.relative_to(reference) for p in reference.glob("layers/**/*.png"))
    assert layers
    for layer in layers:
        assert (run / layer).read_bytes() == (reference / layer).read_bytes(), layer


def _cfg(tmp_path: Path, run: str, *overrides: str, task: str = "dehaze"):
    """A debug=ci config of ``task`` writing to tmp_path/outputs/<task>/<run>."""
    out = tmp_path / "outputs" / task / run
    return compose_config(
        ["debug=ci", f"task={task}", f"paths.log_dir={tmp_path / 'outputs'}", *overrides],
        output_dir=out,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted dehazing run the interrupted ones are compared with."""
    tmp_path = tmp_path_factory.mktemp("reference")
    cfg = _cfg(tmp_path, "full", *DEHAZE, CHECKPOINT_EVERY)
    train(cfg)
    return Path(cfg.paths.output_dir)


def _start(run_dir: Path, tmp_path: Path) -> subprocess.Popen:
    command = [sys.executable, str(ROOT / "train.py"), "debug=ci", *DEHAZE, CHECKPOINT_EVERY]
    command += [f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path / 'outputs'}"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_checkpoint(process: subprocess.Popen, checkpoint: Path) -> None:
    deadline = time.monotonic() + 240
    while not checkpoint.exists():
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "no checkpoint was written"
        time.sleep(0.02)


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_killed_run_resumes_to_the_same_result(tmp_path, reference, how):
    run_dir = tmp_path / "outputs" / "dehaze" / "killed"
    process = _start(run_dir, tmp_path)
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    _wait_for_checkpoint(process, checkpoint)
    process.send_signal(getattr(signal, how))
    _, stderr = process.communicate(timeout=120)
    assert not (run_dir / "metrics.json").exists(), "the run ended before it was stopped"
    if how == "SIGTERM":  # Lightning ends the step; the state after it is saved, one clear line
        assert process.returncode == 143, stderr[-2000:]
        assert stderr.strip().splitlines()[-1].startswith("error: stopped by SIGTERM")
    else:
        assert process.returncode == -signal.SIGKILL
    step = torch.load(checkpoint, weights_only=True)["global_step"]
    assert 5 <= step < 60
    resumed = train(_recording(_cfg(tmp_path, "new", *DEHAZE, CHECKPOINT_EVERY, "ckpt_path=last")))
    assert RecordStart.starts == [step], "the run did not continue from its checkpoint"
    assert resumed["steps"] == 60
    _assert_same_result(run_dir, reference)


def test_system_resumes_at_the_stage_where_it_stopped(tmp_path):
    system = (
        "task.steps=[6,12]",
        "task.haze_stop=null",
        "data.augmentation=random",
        CHECKPOINT_EVERY,
    )
    task = "dehaze_iterative"
    full = _cfg(tmp_path / "a", "full", *system, task=task)
    train(full)
    stopped = _cfg(tmp_path, "stopped", *system, task=task)
    with open_dict(stopped):
        stopped.callbacks.crash = {"_target_": f"{__name__}.CrashAt", "step": 8}
    with pytest.raises(Crash):
        train(stopped)
    run = Path(stopped.paths.output_dir)
    stage0 = (run / "stage_0" / "metrics.json").stat().st_mtime_ns
    assert not (run / "stage_1" / "metrics.json").exists()

    resumed = train(_recording(_cfg(tmp_path, "again", *system, "ckpt_path=last", task=task)))
    assert (run / "stage_0" / "metrics.json").stat().st_mtime_ns == stage0, "stage 0 ran again"
    assert RecordStart.starts == [5], "stage 1 did not continue from its step-5 checkpoint"
    assert resumed["steps"] == 18
    assert not (tmp_path / "outputs" / task / "again" / "metrics.json").exists()
    _assert_same_result(run, Path(full.paths.output_dir))


def test_system_resumes_a_stage_that_trains_on_for_the_unspent_steps(tmp_path):
    # haze_stop=1.0 ends the system after stage 0's 6 steps; it trains on for stage 1's 12
    system = ("task.steps=[6,12]", "task.haze_stop=1.0", CHECKPOINT_EVERY)
    task = "dehaze_iterative"
    full = _cfg(tmp_path / "a", "full", *system, task=task)
    assert train(full)["stages"][0]["extended_from"]["steps"] == 6
    stopped = _cfg(tmp_path, "stopped", *system, task=task)
    with open_dict(stopped):
        stopped.callbacks.crash = {"_target_": f"{__name__}.CrashAt", "step": 12}
    with pytest.raises(Crash):
        train(stopped)
    run = Path(stopped.paths.output_dir)

    resumed = train(_recording(_cfg(tmp_path, "again", *system, "ckpt_path=last", task=task)))
    assert RecordStart.starts == [10], "stage 0 did not train on from its step-10 checkpoint"
    assert resumed["steps"] == 18 and len(resumed["stages"]) == 1
    _assert_same_result(run, Path(full.paths.output_dir))


def test_nothing_to_resume_is_one_clear_error(tmp_path):
    with pytest.raises(InputError, match="no checkpoint to resume"):
        train(_cfg(tmp_path, "first", "ckpt_path=last"))
    done = _cfg(tmp_path, "done", "trainer.max_steps=3")
    train(done)
    with pytest.raises(InputError, match="set trainer.max_steps above it"):
        train(_cfg(tmp_path, "later", "trainer.max_steps=3", "ckpt_path=last"))
    system = ("task.steps=[2,2]", "task.haze_stop=null")
    train(_cfg(tmp_path, "sys", *system, task="dehaze_iterative"))
    with pytest.raises(InputError, match="has finished"):
        train(_cfg(tmp_path, "sys2", *system, "ckpt_path=last", task="dehaze_iterative"))
    with pytest.raises(InputError, match="single tasks"):
        ckpt = Path(done.paths.output_dir) / "checkpoints" / "last.ckpt"
        train(_cfg(tmp_path, "sys3", *system, f"ckpt_path={ckpt}", task="dehaze_iterative"))


def test_checkpoints_are_written_atomically_and_load_weights_only(tmp_path):
    cfg = _cfg(tmp_path, "run", "trainer.max_steps=7")
    train(cfg)
    folder = Path(cfg.paths.output_dir) / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == ["last.ckpt"]  # no temporary file left
    checkpoint = torch.load(folder / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 7 and "dipsys_best" in checkpoint
