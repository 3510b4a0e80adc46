"""``train(cfg) -> metrics``: seed, build the system from the config, run it.

Hydra sweepers read the returned dict (or the metric named by ``optimized_metric``).
"""

from __future__ import annotations

import logging
import warnings
from functools import partial
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from dipsys.errors import InputError
from dipsys.systems import Stage, System

log = logging.getLogger(__name__)

# Benign for single-image runs, whose step stream is an IterableDataset without a length.
BENIGN_WARNINGS = (
    ".*IterableDataset.*has `__len__`.*",
    ".*does not have many workers.*",
    ".*smaller than the logging interval.*",
    ".*Total length of `.*` across ranks is zero.*",
    ".*isinstance\\(treespec, LeafSpec\\)` is deprecated.*",
)


def build_task(cfg: DictConfig, handoff: dict[str, Any]) -> tuple[Any, pl.LightningModule]:
    """Read and check the input (cheap), then build the task at the working size."""
    datamodule = instantiate(cfg.data, **handoff.get("data", {}))
    datamodule.prepare()
    task = instantiate(cfg.task.module, size=datamodule.working_size, **handoff.get("task", {}))
    return datamodule, task


def make_trainer(cfg: DictConfig, out_dir: Path, max_steps: int) -> pl.Trainer:
    """A Trainer writing TensorBoard events to ``out_dir/tb``, checkpoints to ``checkpoints/``."""
    callbacks = []
    for name, cb_cfg in (cfg.get("callbacks") or {}).items():
        if cb_cfg is None:
            continue
        extra = {"dirpath": str(out_dir / "checkpoints")} if "dirpath" in cb_cfg else {}
        callbacks.append(instantiate(cb_cfg, **extra))
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
    """A task is a one-stage system of ``trainer.max_steps``; ``task.system`` chains stages."""
    build = partial(build_task, cfg)
    trainer_factory = partial(make_trainer, cfg)
    spec = cfg.task.get("system")
    if spec is None:
        stage = Stage(cfg.task.name, build, int(cfg.trainer.max_steps))
        return System([stage], trainer_factory)
    chain = instantiate(spec)
    return System(
        chain.stages(build),
        trainer_factory,
        first_handoff=chain.first_handoff(),
        combine=getattr(chain, "combine", None),
    )


def check_checkpoint(path: Path, max_steps: int) -> None:
    """A checkpoint to resume from must exist and stop short of the step budget."""
    if not path.is_file():
        raise InputError(f"checkpoint not found: {path}")
    try:
        step = torch.load(path, map_location="cpu", weights_only=True)["global_step"]
    except Exception as error:
        raise InputError(f"cannot read checkpoint {path}: {error}") from error
    if step >= max_steps:
        raise InputError(
            f"checkpoint {path} is at step {step}; set trainer.max_steps above it to continue"
        )


def train(cfg: DictConfig) -> dict[str, Any]:
    """Run the configured task or system; return its metrics (also in ``metrics.json``)."""
    for message in BENIGN_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    system = build_system(cfg)
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path is not None and len(system.stages) > 1:
        raise InputError("ckpt_path resumes single tasks only; a system restarts from stage 0")
    if ckpt_path is not None:
        check_checkpoint(Path(ckpt_path), system.stages[0].max_steps)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    out_dir = Path(cfg.paths.output_dir)
    metrics = system.run(out_dir, ckpt_path=ckpt_path)
    log.info("results in %s", out_dir)
    return metrics
