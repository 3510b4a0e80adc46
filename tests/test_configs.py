"""Every shipped config composes and instantiates; the sample's ground truth follows the image."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from dipsys.config import compose_config
from dipsys.errors import InputError
from dipsys.run import build_task
from tests.conftest import ROOT

TASKS = sorted(p.stem for p in (ROOT / "conf" / "task").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))
SCHEDULES = sorted(p.stem for p in (ROOT / "conf" / "data" / "noise_schedule").glob("*.yaml"))


def _build(cfg):
    datamodule = instantiate(cfg.data)
    task = instantiate(cfg.task.module, size=datamodule.working_size)
    return datamodule, task


def _first_batch(datamodule, steps: int = 4) -> dict:
    datamodule.trainer = SimpleNamespace(
        max_steps=steps, world_size=1, global_rank=0, global_step=0
    )
    datamodule.setup("fit")
    return datamodule.batch(0)


@pytest.mark.parametrize("augmented", [False, True])
@pytest.mark.parametrize("task", TASKS)
def test_task_configs_reconstruct_their_data(make_cfg, task, augmented):
    """Each shipped task's generators, at the data's working size, composite an image of the
    data's shape: the configured nets, noise depths and data agree, also for augmented
    targets (a batch of transforms for one image, one transform per step for a video; steps 0
    and 1 hold both even and odd transforms, and at 128 px the sample is not square, so their
    sides swap)."""
    overrides = [f"task={task}"]
    if augmented:
        mode = "cyclic" if task.startswith("video") else "batch"  # a video: one per step
        overrides += [f"data.augmentation={mode}", "data.max_side=128"]
        overrides += ["data.per_step=4"] if mode == "batch" else []
    datamodule, module = build_task(make_cfg(*overrides), {})
    batches = [_first_batch(datamodule)] + ([datamodule.batch(1)] if augmented else [])
    module._trainer = SimpleNamespace(datamodule=datamodule, world_size=1, max_steps=4)
    module.setup("fit")  # what a task reads from its data before training (frames, airlight)
    for batch in batches:
        step = batch["step"]
        with torch.no_grad():
            outputs = module(batch["k"], batch["sigma"], step, batch["target"])
            recon = module.composite(module.decompose(outputs, batch))
        assert recon.shape == batch["target"].shape, batch["k"]
        assert torch.isfinite(recon).all()


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_configs_set_what_they_say(tmp_path, experiment):
    """Every value an experiment file sets is in the composed config, and it instantiates."""
    preset = OmegaConf.load(ROOT / "conf" / "experiment" / f"{experiment}.yaml")
    cfg = compose_config([f"experiment={experiment}"], output_dir=tmp_path / "run")
    leaves = _leaves(OmegaConf.to_container(preset))
    assert leaves
    for key, value in leaves:
        assert OmegaConf.select(cfg, key) == value, key
    _build(cfg)


def _leaves(tree: dict, prefix: str = "") -> list[tuple[str, object]]:
    items = []
    for key, value in tree.items():
        if key == "defaults":
            continue
        if isinstance(value, dict):
            items += _leaves(value, f"{prefix}{key}.")
        else:
            items.append((f"{prefix}{key}", value))
    return items


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_noise_schedules_end_at_zero(make_cfg, schedule):
    """σ_t follows the schedule and is 0 on the final step, whatever the schedule says."""
    cfg = make_cfg(f"data/noise_schedule={schedule}")
    datamodule = instantiate(cfg.data)
    _first_batch(datamodule, steps=10)
    schedule_fn = instantiate(cfg.data.noise_schedule)
    for step in (0, 5):
        expected = schedule_fn(step, 10)
        assert float(datamodule.batch(step)["sigma"]) == pytest.approx(expected), step
    assert float(datamodule.batch(9)["sigma"]) == 0.0


def test_sample_ground_truth_follows_the_image(make_cfg, rgb_image):
    assert make_cfg().data.gt.endswith("rocket/clean.png")
    assert make_cfg(f"data.image={rgb_image}").data.gt is None
    assert make_cfg(f"data.image={rgb_image}", f"data.gt={rgb_image}").data.gt == str(rgb_image)


def test_watermark_multi_fits_briefly_when_a_box_decides_the_result():
    # with a box the clean images come from the joint removal, not the DIPs: a short fit
    steps = {
        overrides: compose_config(["task=watermark_multi", *overrides]).trainer.max_steps
        for overrides in [(), ("task.bbox=auto",), ("task.bbox=[0,0,40,20]",)]
    }
    assert steps[()] > 10 * steps[("task.bbox=auto",)] > 0
    assert steps[("task.bbox=auto",)] == steps[("task.bbox=[0,0,40,20]",)]
    # an explicit budget wins
    explicit = compose_config(["task=watermark_multi", "task.bbox=auto", "trainer.max_steps=7"])
    assert explicit.trainer.max_steps == 7


def test_watermark_fits_briefly_unless_the_dip_layers_are_the_result():
    def steps(*overrides: str) -> int:
        return compose_config(["task=watermark", *overrides]).trainer.max_steps

    assert steps() == 100 and steps("task.removal=dip") == 1500
    assert steps("task.removal=dip", "trainer.max_steps=7") == 7


SWEEPS = sorted(p.stem for p in (ROOT / "conf" / "sweep").glob("*.yaml"))


@pytest.mark.parametrize("sweep", SWEEPS)
def test_sweep_configs_compose(make_cfg, sweep):
    cfg = make_cfg(f"+sweep={sweep}")
    assert cfg.task.name == "dehaze_iterative"
    assert "task.stages" in cfg.hydra.sweeper.params
    _build(cfg)


def test_missing_inputs_are_named_before_any_heavy_work(tmp_path):
    """The command checks the input paths of the composed config before the training stack is
    imported: each data key's missing file is named, present ones and null keys pass."""
    from dipsys.config_checks import check_input_paths

    present = tmp_path / "photo.png"
    present.write_bytes(b"x")  # existence only; the data module reads the contents
    missing = tmp_path / "nope.png"
    cases = {
        ("task=dehaze", f"data.image={missing}"): "image not found",
        ("task=dehaze", f"data.image={present}", f"data.gt={missing}"): "ground truth not found",
        ("task=watermark_multi", f"data.images=[{present},{missing}]"): "image not found",
        ("task=video_dehaze", f"data.video={tmp_path / 'clip.mp4'}"): "video not found",
        ("task=segmentation", f"data.image={present}", f"data.hints.fg={missing}"): (
            "hint mask not found"
        ),
    }
    for overrides, message in cases.items():
        with pytest.raises(InputError, match=message):
            check_input_paths(compose_config(list(overrides)))
    check_input_paths(compose_config(["task=dehaze", f"data.image={present}", "data.gt=null"]))
    check_input_paths(compose_config(["task=segmentation"]))  # the bundled sample
