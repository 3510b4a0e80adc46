"""``train(cfg) -> metrics``: seed, build the system from the config, run it.

Hydra sweepers read the returned dict (or the metric named by ``optimized_metric``).
"""

from __future__ import annotations

import logging
import re
import warnings
from functools import partial
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities.exceptions import SIGTERMException
from pytorch_lightning.utilities.rank_zero import rank_zero_only

from dipsys.callbacks.progress import StepProgressBar
from dipsys.callbacks.summary import write_summary
from dipsys.cli_logging import quiet_lightning
from dipsys.cli_report import closing_line
from dipsys.config_checks import check_types
from dipsys.errors import InputError, RunInterrupted, TrainingDiverged, user_error
from dipsys.memory import (
    budget_bytes,
    export_bytes,
    fitting_side,
    gib,
    retain_freed_host_memory,
    training_bytes,
)
from dipsys.resume import check_checkpoint, resume_target
from dipsys.systems import Restarts, Stage, System

log = logging.getLogger(__name__)

__all__ = ["build_system", "build_task", "check_checkpoint", "make_trainer", "train"]

# Benign for single-image runs, whose step stream is an IterableDataset without a length.
BENIGN_WARNINGS = (
    ".*IterableDataset.*has `__len__`.*",
    ".*does not have many workers.*",
    ".*smaller than the logging interval.*",
    ".*Total length of `.*` across ranks is zero.*",
    ".*isinstance\\(treespec, LeafSpec\\)` is deprecated.*",
    # a checkpoint file resumed into a new run folder: only last.ckpt is kept (save_top_k: 0),
    # so there are no best-k models for Lightning to reload from the old folder
    ".*The dirpath has changed from .* won't be reloaded.*",
)


def _device(cfg: DictConfig) -> torch.device:
    """The device the Trainer will pick (``auto`` and ``gpu`` take CUDA when there is one)."""
    accelerator = str(cfg.trainer.get("accelerator", "auto"))
    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def fit_memory(
    cfg: DictConfig, datamodule: Any, data_kwargs: dict[str, Any], task_kwargs: dict[str, Any]
) -> Any:
    """The data module, rebuilt at a smaller ``max_side`` while a step would not fit the budget.

    ``memory_budget_gib`` (``auto``: 70% of the free accelerator or host memory; null: no check)
    bounds the estimated peak of a training step (:func:`dipsys.memory.training_bytes`). The
    work at the original size is checked too; it cannot shrink, so it is an error.
    """
    budget = budget_bytes(cfg.get("memory_budget_gib", "auto"), _device(cfg))
    if budget is None:
        return datamodule
    original = datamodule.original
    height, width = original.shape[-2:]
    images = original.numel() // (3 * height * width)
    at_original = export_bytes(height, width, images)
    if at_original > budget:
        raise InputError(
            f"the input is {width}×{height} ({images} image(s)); working at its original size "
            f"needs about {gib(at_original)}, more than the memory budget of {gib(budget)} "
            "(memory_budget_gib): downscale it first"
        )
    image = datamodule.image
    batch = image.shape[0] if image.dim() == 4 else len(datamodule.plan(0, 2))
    multiple = datamodule.multiple
    smallest = max(2 * multiple, -(-int(datamodule.min_side or 0) // multiple) * multiple)
    # Building the probe draws initial weights: it must not move the seeded stream the run's
    # own weights come from, or a seed would give other results than without the check.
    with torch.random.fork_rng(devices=[]):
        probe = instantiate(cfg.task.module, size=(smallest, smallest), **task_kwargs)
    resident = 2 * original.numel() * original.element_size()  # the input and its ground truth
    while True:
        size = datamodule.working_size
        estimate = training_bytes(probe.generators, size, batch) + resident
        if estimate <= budget:
            return datamodule
        side = min(fitting_side(estimate, budget, max(size)), max(size) - multiple)
        if side < smallest:
            raise InputError(
                f"a training step needs about {gib(estimate)} at the working size "
                f"{size[1]}×{size[0]}, more than the memory budget of {gib(budget)} "
                "(memory_budget_gib), and the generators cannot run smaller"
            )
        log.warning(
            "a step at the working size %d×%d needs about %s, more than the memory budget "
            "of %s (memory_budget_gib): data.max_side %d → %d",
            size[1],
            size[0],
            gib(estimate),
            gib(budget),
            datamodule.max_side,
            side,
        )
        datamodule = instantiate(cfg.data, **{**data_kwargs, "max_side": side})
        datamodule.prepare()


def planned_world_size(cfg: DictConfig) -> int:
    """Processes the Trainer will start: ``devices × num_nodes`` when the devices are counted
    (an integer or a list), else 1 (``auto``: known only once the Trainer runs)."""
    trainer = cfg.get("trainer") or {}
    devices = trainer.get("devices", 1)
    if isinstance(devices, str) and devices.isdigit():
        devices = int(devices)
    count = len(devices) if OmegaConf.is_list(devices) or isinstance(devices, list) else devices
    if not isinstance(count, int) or count < 1:
        return 1
    return count * int(trainer.get("num_nodes", 1) or 1)


def build_task(cfg: DictConfig, handoff: dict[str, Any]) -> tuple[Any, pl.LightningModule]:
    """Read and check the input (cheap), fit the working size to the memory budget, then build
    the task at that size."""
    data_kwargs, task_kwargs = dict(handoff.get("data", {})), dict(handoff.get("task", {}))
    datamodule = instantiate(cfg.data, **data_kwargs)
    datamodule.prepare()
    world = planned_world_size(cfg)
    if world > 1 and hasattr(datamodule, "check_split"):
        datamodule.check_split(world)
    datamodule = fit_memory(cfg, datamodule, data_kwargs, task_kwargs)
    task = instantiate(cfg.task.module, size=datamodule.working_size, **task_kwargs)
    return datamodule, task


def make_trainer(cfg: DictConfig, out_dir: Path, max_steps: int, stages: int = 1) -> pl.Trainer:
    """A Trainer writing TensorBoard events to ``out_dir/tb``, checkpoints to ``checkpoints/``.

    With ``stages`` > 1 (a system), the progress bar of the stage in ``out_dir``
    (``stage_<i>``) reads ``stage i+1/stages``; with ``trainer.enable_progress_bar=false`` the
    progress-bar callback is left out.
    """
    callbacks = []
    show_progress = bool(cfg.trainer.get("enable_progress_bar", True))
    for name, cb_cfg in (cfg.get("callbacks") or {}).items():
        if cb_cfg is None:
            continue
        extra = {"dirpath": str(out_dir / "checkpoints")} if "dirpath" in cb_cfg else {}
        callback = instantiate(cb_cfg, **extra)
        if isinstance(callback, StepProgressBar):
            if not show_progress:
                continue
            stage = re.fullmatch(r"stage_(\d+)", out_dir.name)
            if stages > 1 and stage:
                callback.stage = f"stage {int(stage.group(1)) + 1}/{stages}"
        callbacks.append(callback)
        log.debug("callback %s", name)
    logger = instantiate(cfg.logger, save_dir=str(out_dir)) if cfg.get("logger") else False
    return instantiate(
        cfg.trainer,
        max_steps=max_steps,
        default_root_dir=str(out_dir),
        callbacks=callbacks,
        logger=logger,
    )


def build_system(cfg: DictConfig) -> System:
    """A task is a one-stage system of ``trainer.max_steps``; ``task.system`` chains stages.

    ``task.restarts=N`` (N ≥ 2) runs a single task N times from seeds ``seed … seed+N−1`` and
    merges the layers by pixel-wise median (:class:`dipsys.systems.Restarts`). A task whose
    config says ``task.seeded: false`` (its result does not depend on the seed, e.g. a
    watermark removal in a box) refuses restarts: they would repeat one result.
    """
    build = partial(build_task, cfg)
    spec = cfg.task.get("system")
    restarts = cfg.task.get("restarts")
    restarts = 1 if restarts is None else restarts
    if not isinstance(restarts, int) or isinstance(restarts, bool) or restarts < 1:
        raise InputError(f"task.restarts must be a positive whole number, got {restarts!r}")
    if restarts > 1 and spec is not None:
        raise InputError(f"task.restarts applies to single tasks; {cfg.task.name} is a system")
    if restarts > 1 and not cfg.task.get("seeded", True):
        raise InputError(
            f"task.restarts repeats the same result here: {cfg.task.name} with these options "
            "does not depend on the seed (task.seeded is false; restarts apply to DIP layers, "
            "e.g. task.removal=dip or watermark_multi without task.bbox)"
        )
    if restarts > 1:
        chain = Restarts(restarts, int(cfg.trainer.max_steps), seed=int(cfg.seed))
    elif spec is None:
        stage = Stage(cfg.task.name, build, int(cfg.trainer.max_steps))
        return System([stage], partial(make_trainer, cfg))
    else:
        chain = instantiate(spec)
    stages = chain.stages(build)
    return System(
        stages,
        partial(make_trainer, cfg, stages=len(stages)),
        first_handoff=chain.first_handoff(),
        combine=getattr(chain, "combine", None),
        spend_unused=bool(getattr(chain, "spend_unused", False)),
    )


def train(cfg: DictConfig) -> dict[str, Any]:
    """Run the configured task or system; return its metrics (also in ``metrics.json``).

    Raises:
        InputError: bad input or options (before any training).
        TrainingDiverged: the loss became NaN/inf; the best result so far was written.
        RunInterrupted: SIGTERM stopped the run after saving a checkpoint.
    """
    for message in BENIGN_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    quiet_lightning()
    try:
        return _train(cfg)
    except Exception as error:
        found = user_error(error)
        if found is None or found is error:
            raise
        raise found from None  # the user's error, not Hydra's wrapper around it


def _train(cfg: DictConfig) -> dict[str, Any]:
    check_types(cfg)
    if cfg.get("retain_host_memory") and not retain_freed_host_memory():
        log.warning("retain_host_memory=true needs glibc's malloc; ignored")
    system = build_system(cfg)
    out_dir = Path(cfg.paths.output_dir)
    runs = Path(cfg.paths.log_dir) / str(cfg.task.name)
    run_dir, ckpt_path = resume_target(cfg.get("ckpt_path"), system, out_dir, runs)
    resume = run_dir is not None
    out_dir = run_dir or out_dir
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    try:
        metrics = system.run(out_dir, ckpt_path=ckpt_path, resume=resume)
    except SIGTERMException:
        raise RunInterrupted(
            f"stopped by SIGTERM; the state is saved: resume with ckpt_path=last "
            f"hydra.run.dir={out_dir}"
        ) from None
    if rank_zero_only.rank == 0:  # one sheet and one line, not one per DDP process
        _write_summary(cfg, out_dir)
    if metrics.get("diverged"):
        where = metrics["stopped_at"]
        if isinstance(where, dict):  # a system: which stage, and its step
            where = f"{where['step']} of stage {where['stage']}"
        error = TrainingDiverged(
            f"training diverged: the loss became NaN or infinite (stopped at step {where}); "
            f"the best result before it is in {out_dir}; try a lower learning rate "
            "(task.module.optimizer.lr)"
        )
        error.metrics = metrics
        raise error
    if rank_zero_only.rank == 0:
        log.info(closing_line(metrics, out_dir))
    return metrics


def summary_inputs(cfg: DictConfig) -> tuple[list[Path], list[tuple[str, Path]]]:
    """The run's input files (``data.image``, ``data.images`` or ``data.video``) and its ground
    truths with their labels, as ``summary.png`` shows them."""
    data = cfg.data
    inputs = [data.get("image")] if data.get("image") else list(data.get("images") or [])
    if not inputs and data.get("video"):
        inputs = [data.video]
    truths = [
        (label, Path(data[key]))
        for key, label in (
            ("gt", "ground truth"),
            ("gt2", "ground truth 2"),
            ("gt_mask", "true mask"),
        )
        if data.get(key)
    ]
    return [Path(p) for p in inputs], truths


def _write_summary(cfg: DictConfig, out_dir: Path) -> None:
    """``summary.png`` in the run folder; a failure to draw it is a warning, not a failed run."""
    try:
        write_summary(out_dir, *summary_inputs(cfg))
    except Exception as error:  # the results are written; the sheet is a convenience
        log.warning("could not write summary.png: %s", error)
