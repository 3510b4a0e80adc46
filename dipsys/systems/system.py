"""Systems: tasks chained into stages, each stage with its own Trainer and output folder.

A single task is a one-stage system, so ``dipsys.run.train`` has one path. A stage builds its
DataModule and task from what the previous stage handed over (``handoff``), trains for its step
budget and writes its result; the system's result is its last stage's, with the list of every
stage's metrics under ``stages`` when there are several.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from dipsys.callbacks.export import ExportResults, write_json
from dipsys.data.io import write_image


@dataclass
class StageResult:
    """What a finished stage leaves: its metrics, final layers and folder."""

    metrics: dict[str, Any]
    layers: dict[str, torch.Tensor]
    out_dir: Path
    datamodule: pl.LightningDataModule | None = None


Builder = Callable[[Mapping[str, Any]], tuple[pl.LightningDataModule, pl.LightningModule]]
TrainerFactory = Callable[[Path, int], pl.Trainer]
#: ``combine(results) -> (layers, metrics)``: a system's own final result from all its stages
Combiner = Callable[[list[StageResult]], tuple[dict[str, torch.Tensor], dict[str, Any]]]


@dataclass
class Stage:
    """One stage: ``build(handoff) -> (datamodule, task)``, a step budget and the next handoff.

    ``handoff(result)`` turns this stage's result into the keyword arguments the next stage's
    ``build`` receives (e.g. the dehazed image as the next input, the airlight).
    """

    name: str
    build: Builder
    max_steps: int
    handoff: Callable[[StageResult], dict[str, Any]] = field(default=lambda result: {})


class System:
    """Runs its stages in order.

    Several stages write to ``stage_<i>/`` each, log TensorBoard tags under ``stage_<i>/``, and
    leave the final ``layers/`` and ``metrics.json`` at the top. The top metrics are the last
    stage's, with ``steps``/``wall_s``/``it_per_s`` over all stages, ``input`` and
    ``baselines`` of the first stage (the original input), and ``stages``: every stage's metrics.

    Args:
        stages: the stages, first to last.
        make_trainer: ``(out_dir, max_steps) -> Trainer`` with an ExportResults callback.
        first_handoff: what the first stage's ``build`` receives.
        combine: builds the final layers and metrics from every stage's result (e.g. three
            pairwise segmentations → one label map); None: the last stage's result is final.
            Its layers go to ``layers/``, its images under ``baselines/`` (keys ``baseline:<name>``
            of the layers dict), and its metrics override the last stage's.
    """

    def __init__(
        self,
        stages: Sequence[Stage],
        make_trainer: TrainerFactory,
        first_handoff: Mapping[str, Any] | None = None,
        combine: Combiner | None = None,
    ) -> None:
        if not stages:
            raise ValueError("a system needs at least one stage")
        self.stages = list(stages)
        self.make_trainer = make_trainer
        self.first_handoff = dict(first_handoff or {})
        self.combine = combine

    def stage_dir(self, out_dir: Path, index: int) -> Path:
        return out_dir if len(self.stages) == 1 else out_dir / f"stage_{index}"

    def run(self, out_dir: Path, ckpt_path: str | None = None) -> dict[str, Any]:
        """Train every stage; return the final metrics (with ``stages`` for several)."""
        handoff: dict[str, Any] = self.first_handoff
        results: list[StageResult] = []
        for index, stage in enumerate(self.stages):
            stage_dir = self.stage_dir(out_dir, index)
            datamodule, task = stage.build(handoff)
            if len(self.stages) > 1:
                task.log_prefix = f"stage_{index}/"
            trainer = self.make_trainer(stage_dir, stage.max_steps)
            trainer.fit(task, datamodule=datamodule, ckpt_path=ckpt_path if index == 0 else None)
            export = next((cb for cb in trainer.callbacks if isinstance(cb, ExportResults)), None)
            if export is None:
                raise ValueError(
                    "a system stage needs the ExportResults callback (callbacks.export)"
                )
            result = StageResult(export.metrics, export.layers, stage_dir, datamodule)
            results.append(result)
            handoff = stage.handoff(result)
        if len(results) == 1:
            return results[0].metrics
        return self._finish(out_dir, results)

    def _finish(self, out_dir: Path, results: list[StageResult]) -> dict[str, Any]:
        final = results[-1]
        metrics = dict(final.metrics)
        if self.combine is not None:
            layers, combined = self.combine(results)
            for name, image in layers.items():
                folder, _, base = name.rpartition(":")
                write_image(out_dir / ("baselines" if folder else "layers") / f"{base}.png", image)
            metrics.update(combined)
        else:
            shutil.copytree(final.out_dir / "layers", out_dir / "layers", dirs_exist_ok=True)
        if (results[0].out_dir / "baselines").is_dir():  # baselines of the original input
            shutil.copytree(
                results[0].out_dir / "baselines", out_dir / "baselines", dirs_exist_ok=True
            )
        metrics["steps"] = sum(r.metrics["steps"] for r in results)
        metrics["wall_s"] = round(sum(r.metrics["wall_s"] for r in results), 3)
        metrics["it_per_s"] = round(metrics["steps"] / metrics["wall_s"], 3)
        for key in ("input", "baselines"):
            if key in results[0].metrics and self.combine is None:
                metrics[key] = results[0].metrics[key]
        metrics["stages"] = [r.metrics for r in results]
        write_json(out_dir / "metrics.json", metrics)
        return metrics
