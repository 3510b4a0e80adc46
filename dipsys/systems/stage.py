"""A system's stages: what a stage is, what it leaves, and how stages of one builder are made.

A :class:`Stage` builds its DataModule and task from the previous stage's ``handoff``, trains
for its step budget and leaves a :class:`StageResult`; :class:`dipsys.systems.system.System`
runs them in order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

__all__ = ["Builder", "Combiner", "Stage", "StageResult", "TrainerFactory", "indexed_stages"]


@dataclass
class StageResult:
    """What a finished stage leaves: its metrics, final layers and folder."""

    metrics: dict[str, Any]
    layers: dict[str, torch.Tensor]
    out_dir: Path
    datamodule: pl.LightningDataModule | None = None
    task: pl.LightningModule | None = None


Builder = Callable[[Mapping[str, Any]], tuple[pl.LightningDataModule, pl.LightningModule]]
TrainerFactory = Callable[[Path, int], pl.Trainer]
#: ``combine(results) -> (layers, metrics)``: a system's own final result from all its stages
Combiner = Callable[[list[StageResult]], tuple[dict[str, torch.Tensor], dict[str, Any]]]


@dataclass
class Stage:
    """One stage: ``build(handoff) -> (datamodule, task)``, a step budget and the next handoff.

    ``handoff(result)`` turns this stage's result into the keyword arguments the next stage's
    ``build`` receives (e.g. the dehazed image as the next input, the airlight); ``None`` ends
    the system after this stage (a system that decides itself when to stop).
    """

    name: str
    build: Builder
    max_steps: int
    handoff: Callable[[StageResult], dict[str, Any] | None] = field(default=lambda result: {})


def indexed_stages(
    names: Sequence[str],
    build: Builder,
    budgets: Sequence[int],
    handoff: Callable[[int], dict[str, Any]],
) -> list[Stage]:
    """Stages of one builder whose handoffs depend on the stage index only: the stage before
    stage ``i`` hands it ``handoff(i)`` (the system's ``first_handoff`` is ``handoff(0)``)."""
    return [
        Stage(name, build, budget, handoff=lambda result, i=index: handoff(i + 1))
        for index, (name, budget) in enumerate(zip(names, budgets, strict=True))
    ]
