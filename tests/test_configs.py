"""Every shipped config composes and instantiates; the sample's ground truth follows the image."""

from __future__ import annotations

import pytest
from hydra.utils import instantiate

from tests.conftest import ROOT

TASKS = sorted(p.stem for p in (ROOT / "conf" / "task").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))
SCHEDULES = sorted(p.stem for p in (ROOT / "conf" / "data" / "noise_schedule").glob("*.yaml"))


def _build(cfg):
    datamodule = instantiate(cfg.data)
    task = instantiate(cfg.task.module, size=datamodule.working_size)
    return datamodule, task


@pytest.mark.parametrize("task", TASKS)
def test_task_configs_instantiate(make_cfg, task):
    datamodule, module = _build(make_cfg(f"task={task}"))
    assert module.size == datamodule.working_size


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_configs_instantiate(make_cfg, experiment):
    _build(make_cfg(f"experiment={experiment}"))


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_noise_schedules_instantiate(make_cfg, schedule):
    cfg = make_cfg(f"data/noise_schedule={schedule}")
    assert instantiate(cfg.data).noise_schedule(0, 10) >= 0.0


def test_sample_ground_truth_follows_the_image(make_cfg, rgb_image):
    assert make_cfg().data.gt.endswith("rocket/clean.png")
    assert make_cfg(f"data.image={rgb_image}").data.gt is None
    assert make_cfg(f"data.image={rgb_image}", f"data.gt={rgb_image}").data.gt == str(rgb_image)


SWEEPS = sorted(p.stem for p in (ROOT / "conf" / "sweep").glob("*.yaml"))


@pytest.mark.parametrize("sweep", SWEEPS)
def test_sweep_configs_compose(make_cfg, sweep):
    cfg = make_cfg(f"+sweep={sweep}")
    assert cfg.task.name == "dehaze_iterative"
    assert "task.stages" in cfg.hydra.sweeper.params
    _build(cfg)
