"""Iterative dehazing: the schedule, each airlight handoff, and 2-stage runs through train()."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from dipsys.data.synthetic.haze_suite import haze_suite
from dipsys.errors import InputError
from dipsys.ops.airlight import AIRLIGHT_ESTIMATORS
from dipsys.ops.airlight_map import banded_airlight_map
from dipsys.ops.dark_channel import haze_left
from dipsys.run import train
from dipsys.systems import IterativeDehazing, StageResult, step_schedule
from dipsys.systems.system import checkpoint_step
from tests.conftest import ROOT


def test_step_schedule():
    assert step_schedule(3, 1000, 3) == [1000, 3000, 9000]
    assert step_schedule(2, 100, 1.5) == [100, 150]
    assert step_schedule(5, 1, 1, steps=[4, 2]) == [4, 2]
    with pytest.raises(InputError):
        step_schedule(0, 100, 2)
    with pytest.raises(InputError):
        step_schedule(2, 100, 2, steps=[10, 0])


def _result(value: float) -> StageResult:
    layers = {
        "clean": torch.rand(3, 8, 9),
        "transmission": torch.rand(1, 8, 9),
        "airlight": torch.full((3, 8, 9), value),
    }
    return StageResult({}, layers, Path("."))


def test_fixed_handoff_keeps_stage_zero_airlight():
    system = IterativeDehazing(stages=3, airlight_handoff="fixed")
    first, second = system.handoff(_result(0.7)), system.handoff(_result(0.2))
    assert first["task"]["airlight_value"] == pytest.approx([0.7] * 3)
    assert first["task"]["airlight"] == "fixed"
    assert second["task"]["airlight_value"] == pytest.approx([0.7] * 3)
    assert second["data"]["image"].shape == (3, 8, 9)


def test_reestimate_and_carry_handoffs():
    reestimate = IterativeDehazing(airlight_handoff="reestimate").handoff(_result(0.5))["task"]
    assert reestimate == {"airlight_value": None}
    carry = IterativeDehazing(airlight_handoff="carry")
    assert carry.first_handoff() == {"task": {"airlight": "learned"}}
    task = carry.handoff(_result(0.5))["task"]
    assert task["airlight"] == "learned" and task["airlight_value"].shape == (3, 8, 9)
    with pytest.raises(InputError):
        IterativeDehazing(airlight_handoff="sometimes")


@pytest.mark.parametrize("handoff", ["fixed", "reestimate", "carry"])
def test_two_stage_run_writes_stages_and_final(make_cfg, handoff):
    cfg = make_cfg(
        "task=dehaze_iterative",
        "task.steps=[3,2]",
        f"task.airlight_handoff={handoff}",
        "task.haze_stop=null",
    )
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    assert [stage["steps"] for stage in metrics["stages"]] == [3, 2]
    assert metrics["steps"] == 5 and metrics["task"] == "dehaze_iterative"
    assert metrics["input"] == metrics["stages"][0]["input"]
    for folder in (run, run / "stage_0", run / "stage_1"):
        assert (folder / "layers" / "clean.png").exists()
    assert json.loads((run / "metrics.json").read_text()) == metrics
    events = EventAccumulator(str(run / "stage_1" / "tb"))
    events.Reload()
    assert "stage_1/loss/recon" in events.Tags()["scalars"]
    assert "stage_1/result/clean" in events.Tags()["images"]


def test_multirun_and_summary(tmp_path):
    sweep = tmp_path / "sweep"
    command = [
        sys.executable,
        str(ROOT / "train.py"),
        "-m",
        "task=dehaze_iterative",
        "debug=ci",
        "task.stages=1,2",
        "task.start_steps=2",
        "task.factor=1",
        "task.haze_stop=null",
        f"hydra.sweep.dir={sweep}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "summarize_sweep.py"), str(sweep)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert summary.returncode == 0, summary.stderr[-2000:]
    table = (sweep / "summary.md").read_text().splitlines()
    assert len(table) == 2 + 2 and "2→2" in table[-1]
    assert (sweep / "summary.png").stat().st_size > 0
    assert (sweep / "summary.csv").exists()


@pytest.mark.parametrize("launcher", ["joblib", "optuna"])
def test_sweep_plugins_run(tmp_path, launcher):
    sweep = tmp_path / launcher
    if launcher == "joblib":
        extra = [
            "task=dehaze_iterative",
            "task.stages=1,2",
            "task.start_steps=2",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
        ]
    else:  # the sampled schedule is overridden by task.steps to keep the trials tiny
        extra = ["+sweep=iteration_schedule_optuna", "hydra.sweeper.n_trials=2", "task.steps=[2,2]"]
    command = [
        sys.executable,
        str(ROOT / "train.py"),
        "-m",
        "debug=ci",
        *extra,
        f"hydra.sweep.dir={sweep}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(list(sweep.glob("*/metrics.json"))) == 2
    if launcher == "optuna":
        assert "best_value" in (sweep / "optimization_results.yaml").read_text()


def test_systems_refuse_ckpt_path(make_cfg, tmp_path):
    ckpt = tmp_path / "some.ckpt"
    ckpt.write_bytes(b"")
    with pytest.raises(InputError, match="single tasks"):
        train(make_cfg("task=dehaze_iterative", "task.steps=[2,2]", f"ckpt_path={ckpt}"))


def _hazy_result(haze: float) -> StageResult:
    """A stage result whose clean layer holds about ``haze`` of haze (dark pixels lifted)."""
    clean = torch.full((3, 34, 34), haze)
    clean[:, :, ::2] = 0.9
    return StageResult({}, {"clean": clean, "airlight": torch.ones(3, 34, 34)}, Path("."))


def test_haze_stop_ends_the_system_when_no_haze_is_left():
    system = IterativeDehazing(stages=3, haze_stop=0.3)
    assert system.handoff(_hazy_result(0.1)) is None
    handed = system.handoff(_hazy_result(0.5))
    assert handed is not None and handed["data"]["image"].shape == (3, 34, 34)
    assert IterativeDehazing(stages=3).handoff(_hazy_result(0.1)) is not None


def test_haze_floor_returns_the_last_stage_not_over_dehazed():
    results = [_hazy_result(h) for h in (0.5, 0.3, 0.05)]
    for index, result in enumerate(results):
        result.metrics.update(psnr=10.0 + index, input={"psnr": 5.0}, steps=2)
    layers, metrics = IterativeDehazing(stages=3, haze_floor=0.2).combine(results)
    assert metrics["returned_stage"] == 1 and metrics["psnr"] == 11.0
    assert metrics["input"] == {"psnr": 5.0} and "steps" not in metrics
    assert torch.equal(layers["clean"], results[1].layers["clean"])
    _, metrics = IterativeDehazing(stages=3).combine(results)
    assert metrics["returned_stage"] == 2


def test_system_stops_after_the_first_stage_when_haze_is_gone(make_cfg):
    cfg = make_cfg(
        "task=dehaze_iterative", "task.steps=[3,2]", "task.haze_stop=1.0", "task.spend_unused=false"
    )
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    assert len(metrics["stages"]) == 1 and metrics["returned_stage"] == 0
    assert metrics["steps"] == 3 and "haze_left" in metrics["stages"][0]
    assert "extended_from" not in metrics["stages"][0]
    assert (run / "layers" / "clean.png").exists() and not (run / "stage_1").exists()


def test_a_stopped_system_spends_the_unrun_steps(make_cfg):
    """Budget rule: stage 0 stops the system after its 3 steps, then trains on for stage 1's
    2 (and stage 2's 1): the run spends its 6 steps, as single-stage dehaze would."""
    cfg = make_cfg("task=dehaze_iterative", "task.steps=[3,2,1]", "task.haze_stop=1.0")
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    assert len(metrics["stages"]) == 1 and metrics["returned_stage"] == 0
    stage = metrics["stages"][0]
    assert metrics["steps"] == stage["steps"] == 6
    assert stage["extended_from"]["steps"] == 3 and "haze_left" in stage["extended_from"]
    assert checkpoint_step(run / "stage_0" / "checkpoints" / "last.ckpt") == 6
    assert json.loads((run / "stage_0" / "metrics.json").read_text())["steps"] == 6
    assert metrics["haze_left"] == stage["haze_left"]
    assert metrics["wall_s"] > stage["extended_from"]["wall_s"]
    assert not (run / "stage_1").exists()


def test_default_haze_thresholds_bracket_clear_photos_and_hazy_inputs(make_cfg):
    """The shipped haze_stop / haze_floor are read off the suite: every clear ground truth
    scores below haze_stop and above haze_floor under the airlight of its hazy version, and
    every hazy input above haze_stop (a stage that removed nothing is continued). A change of
    the default airlight that moves these scores fails here until they are re-set. The airlight
    is the one stage 0 hands on: the estimate, made a map when the task's airlight is banded."""
    cfg = make_cfg("task=dehaze_iterative")
    estimate = AIRLIGHT_ESTIMATORS[cfg.task.module.airlight_estimator]
    clear, hazy = [], []
    for case in haze_suite(128, 24).values():
        airlight = estimate(case["hazy"][None])
        if cfg.task.module.airlight == "banded":
            airlight = banded_airlight_map(case["hazy"][None], airlight)
        clear.append(float(haze_left(case["clean"][None], airlight)[0]))
        hazy.append(float(haze_left(case["hazy"][None], airlight)[0]))
    assert cfg.task.haze_floor < min(clear)
    assert max(clear) < cfg.task.haze_stop < min(hazy)
