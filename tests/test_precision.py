"""Mixed precision: generators in bf16/fp16, every loss term in float32, no NaNs."""

from __future__ import annotations

import math

import pytest
import torch
from hydra.utils import instantiate

from dipsys.losses import binary_mask_loss, exclusion_loss
from dipsys.run import train
from dipsys.tasks.base import LayerDecomposition

# a training step called outside a Trainer: Lightning warns that self.log has no trainer
OUTSIDE_TRAINER = pytest.mark.filterwarnings(
    "ignore:You are trying to `self.log\\(\\)`:UserWarning"
)


@pytest.mark.parametrize(
    ("task", "precision"),
    [
        ("dehaze", "bf16-mixed"),
        ("segmentation", "bf16-mixed"),  # the binary-mask term: a reciprocal
        ("transparency", "bf16-mixed"),  # the exclusion term: products ~1e-7
    ],
)
def test_mixed_precision_trains_without_nans(make_cfg, task, precision):
    """(On CPU Lightning runs ``16-mixed`` as ``bf16-mixed``; fp16 is tested below.)"""
    cfg = make_cfg(f"task={task}", f"trainer.precision={precision}", "trainer.accelerator=cpu")
    metrics = train(cfg)
    reference = train(make_cfg(f"task={task}", "trainer.accelerator=cpu", name="fp32"))
    assert math.isfinite(metrics["psnr_recon"])
    # six steps from the same seed: reduced precision follows the float32 run's reconstruction
    assert abs(metrics["psnr_recon"] - reference["psnr_recon"]) < 1.0, (metrics, reference)


@OUTSIDE_TRAINER
@pytest.mark.parametrize("task", ["segmentation", "transparency", "dehaze"])
def test_fp16_autocast_step_has_finite_gradients(make_cfg, task):
    """A training step with the generators under fp16 autocast, as ``16-mixed`` on a GPU."""
    task_module, batch = _task(make_cfg(f"task={task}"))
    with torch.autocast("cpu", dtype=torch.float16):
        loss = task_module.training_step(batch, 0)
    loss.backward()
    assert torch.isfinite(loss)
    for name, parameter in task_module.named_parameters():
        assert parameter.grad is None or torch.isfinite(parameter.grad).all(), name


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_reciprocal_and_root_terms_stay_finite_in_low_precision(dtype):
    mask = torch.full((1, 1, 16, 16), 0.5, dtype=dtype, requires_grad=True)
    loss = binary_mask_loss(mask)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(mask.grad).all()
    flat = torch.full((1, 3, 16, 16), 0.3, dtype=dtype, requires_grad=True)
    layer = torch.rand(1, 3, 16, 16, dtype=dtype, requires_grad=True)
    exclusion = exclusion_loss(flat, layer)
    exclusion.backward()
    assert exclusion.dtype == torch.float32 and exclusion == 0
    assert torch.isfinite(layer.grad).all() and torch.isfinite(flat.grad).all()


def _task(cfg) -> tuple[LayerDecomposition, dict]:
    """A task built from ``cfg`` and the batch of its step 1 (no Trainer; the stage split and
    the airlight are set by hand where the task needs them)."""
    datamodule = instantiate(cfg.data)
    datamodule.prepare()
    datamodule.total_steps = 4
    task = instantiate(cfg.task.module, size=datamodule.working_size)
    if hasattr(task, "set_schedule"):
        task.set_schedule(4)
        task.split = 0  # the decomposition stage, where the binary-mask term applies
    if hasattr(task, "airlight0"):
        task.airlight0 = torch.full_like(task.airlight0, 0.8)
    return task, datamodule.batch(1)


@OUTSIDE_TRAINER
def test_loss_terms_run_in_float32_under_autocast(make_cfg):
    """The exclusion term's einsum would run in bf16 under autocast; the task turns it off."""
    task, batch = _task(make_cfg("task=transparency"))
    seen = {}
    original = task.loss_terms

    def spy(layers, recon, batch):
        seen["autocast"] = torch.is_autocast_enabled("cpu")
        terms = original(layers, recon, batch)
        seen["dtypes"] = {term.dtype for term in terms.values()}
        return terms

    task.loss_terms = spy
    with torch.autocast("cpu", dtype=torch.bfloat16):
        task.training_step(batch, 0)
    assert seen == {"autocast": False, "dtypes": {torch.float32}}
