"""Systems: tasks chained into stages, each stage with its own Trainer and output folder.

A single task is a one-stage system, so ``dipsys.run.train`` has one path. A stage builds its
DataModule and task from what the previous stage handed over (``handoff``), trains for its step
budget and writes its result; the system's result is its last stage's, with the list of every
stage's metrics under ``stages`` when there are several.

Resuming (``run(..., resume=True)``): a stage whose folder holds ``metrics.json`` and
``result.pt`` (its final layers at full precision, written before ``metrics.json``) finished; it
is not trained again, its result is reloaded and handed on exactly as in the first run. The
first unfinished stage continues from its ``checkpoints/last.ckpt`` (or starts, when it has
none); the stages after it run as usual.

Unspent steps (``spend_unused=True``): when a stage's ``handoff`` ends the system early, the
budget of the stages that will not run is not dropped: the stage that ran last continues from
its ``checkpoints/last.ckpt`` for those steps (same weights, optimizer state and best result; its
folder, figures and layers are replaced by the longer run's). A one-stage run of the same total
budget and this run then differ only in the step that ended the first part: it was a final,
noiseless step, and its result stays a candidate for the best one.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from dipsys.callbacks.export import RESULT_FILE, ExportResults, write_json, write_layer
from dipsys.systems.stage import Combiner, Stage, StageResult, TrainerFactory

log = logging.getLogger(__name__)

#: where a stage (or a single task) keeps the checkpoint a resumed run continues from
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"


def checkpoint_step(path: Path) -> int:
    """The global step a checkpoint was saved at (loaded with ``weights_only=True``)."""
    return int(torch.load(path, map_location="cpu", weights_only=True)["global_step"])


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
        spend_unused: when a handoff ends the system early, the stage that ran last trains on
            for the steps of the stages that did not run (see the module docstring); False drops
            them.
    """

    def __init__(
        self,
        stages: Sequence[Stage],
        make_trainer: TrainerFactory,
        first_handoff: Mapping[str, Any] | None = None,
        combine: Combiner | None = None,
        spend_unused: bool = False,
    ) -> None:
        if not stages:
            raise ValueError("a system needs at least one stage")
        self.stages = list(stages)
        self.make_trainer = make_trainer
        self.first_handoff = dict(first_handoff or {})
        self.combine = combine
        self.spend_unused = spend_unused

    def stage_dir(self, out_dir: Path, index: int) -> Path:
        return out_dir if len(self.stages) == 1 else out_dir / f"stage_{index}"

    def finished(self, out_dir: Path, index: int) -> bool:
        """Whether stage ``index`` of a several-stage run in ``out_dir`` finished."""
        stage_dir = self.stage_dir(out_dir, index)
        return (stage_dir / "metrics.json").is_file() and (stage_dir / RESULT_FILE).is_file()

    def progress(self, out_dir: Path) -> tuple[int, int | None]:
        """Where a run in ``out_dir`` stopped: the first unfinished stage and its checkpoint's
        step (None: no checkpoint). ``len(stages)`` when every stage finished or the system
        stopped itself after an earlier one (its final ``metrics.json`` is written)."""
        final = out_dir / "metrics.json"
        several = len(self.stages) > 1
        # a diverged stage also writes the final metrics, with ``stopped_at``: it may resume
        if several and final.is_file() and "stopped_at" not in json.loads(final.read_text()):
            return len(self.stages), None
        for index in range(len(self.stages)):
            if len(self.stages) > 1 and self.finished(out_dir, index):
                continue
            checkpoint = self.stage_dir(out_dir, index) / LAST_CHECKPOINT
            return index, checkpoint_step(checkpoint) if checkpoint.is_file() else None
        return len(self.stages), None

    def run(
        self, out_dir: Path, ckpt_path: str | None = None, resume: bool = False
    ) -> dict[str, Any]:
        """Train every stage; return the final metrics (with ``stages`` for several).

        Args:
            out_dir: the run folder.
            ckpt_path: a checkpoint the first stage continues from.
            resume: continue a run stopped in ``out_dir`` (see the module docstring).
        """
        handoff: dict[str, Any] = self.first_handoff
        results: list[StageResult] = []
        several = len(self.stages) > 1
        for index, stage in enumerate(self.stages):
            stage_dir = self.stage_dir(out_dir, index)
            if resume and several and self.finished(out_dir, index):
                result = self._reload(stage, handoff, stage_dir)
                log.info("stage %d finished in the first run; its result is reloaded", index)
            else:
                start = ckpt_path if index == 0 else None
                if resume:
                    start = self._resume_checkpoint(stage_dir, stage.max_steps)
                result = self._train(index, stage, handoff, stage_dir, start)
            results.append(result)
            if result.metrics.get("diverged"):
                return self._stop(out_dir, results) if several else result.metrics
            # a reloaded stage that already trained on for the unspent steps ended the system
            extended = "extended_from" in result.metrics
            next_handoff = None if extended else stage.handoff(result)
            if next_handoff is None:
                unspent = sum(later.max_steps for later in self.stages[index + 1 :])
                if self.spend_unused and unspent:
                    results[-1] = self._extend(index, stage, handoff, result, unspent)
                    if results[-1].metrics.get("diverged"):
                        return self._stop(out_dir, results)
                break
            handoff = next_handoff
        if not several:
            return results[0].metrics
        return self._finish(out_dir, results)

    def _train(
        self,
        index: int,
        stage: Stage,
        handoff: Mapping[str, Any],
        stage_dir: Path,
        ckpt_path: str | Path | None,
    ) -> StageResult:
        datamodule, task = stage.build(handoff)
        if len(self.stages) > 1:
            task.log_prefix = f"stage_{index}/"
        trainer = self.make_trainer(stage_dir, stage.max_steps)
        export = next((cb for cb in trainer.callbacks if isinstance(cb, ExportResults)), None)
        if export is None:
            raise ValueError("a system stage needs the ExportResults callback (callbacks.export)")
        # a later run may resume after this stage: keep what it hands on at full precision
        export.save_result = len(self.stages) > 1
        ckpt = None if ckpt_path is None else str(ckpt_path)
        trainer.fit(task, datamodule=datamodule, ckpt_path=ckpt, weights_only=True)
        return StageResult(export.metrics, export.layers, stage_dir, datamodule, task)

    def _extend(
        self,
        index: int,
        stage: Stage,
        handoff: Mapping[str, Any],
        result: StageResult,
        unspent: int,
    ) -> StageResult:
        """Stage ``index`` trained on from its last checkpoint for ``unspent`` more steps.

        The result's metrics gain ``extended_from`` (the figures at the stage's own budget) and
        count the wall time of both parts. Without a checkpoint to continue from (checkpointing
        off) the steps stay unspent, with a warning.
        """
        budget = stage.max_steps + unspent
        if result.metrics.get("steps", 0) >= budget:  # a resumed run whose extension finished
            return result
        checkpoint = self._resume_checkpoint(result.out_dir, budget)
        if checkpoint is None:
            log.warning(
                "no checkpoint in %s to continue from: %d steps stay unspent",
                result.out_dir,
                unspent,
            )
            return result
        log.info("stage %d ends the system: it trains on for the %d unspent steps", index, unspent)
        longer_stage = replace(stage, max_steps=budget)
        longer = self._train(index, longer_stage, handoff, result.out_dir, checkpoint)
        earlier = result.metrics
        metrics = longer.metrics
        metrics["extended_from"] = {
            key: earlier[key]
            for key in ("steps", "wall_s", "psnr_recon", "psnr", "ssim", "haze_left")
            if key in earlier
        }
        metrics["wall_s"] = round(earlier["wall_s"] + metrics["wall_s"], 3)
        metrics["it_per_s"] = round(metrics["steps"] / metrics["wall_s"], 3)
        write_json(longer.out_dir / "metrics.json", metrics)
        return longer

    @staticmethod
    def _resume_checkpoint(stage_dir: Path, max_steps: int) -> Path | None:
        """The stage's last checkpoint when it stops short of the stage's budget."""
        checkpoint = stage_dir / LAST_CHECKPOINT
        if not checkpoint.is_file():
            return None
        step = checkpoint_step(checkpoint)
        if step >= max_steps:  # trained to the end but not exported: train it again
            log.warning("%s is at the stage's last step; the stage runs again", checkpoint)
            return None
        log.info("resuming %s at step %d of %d", stage_dir, step, max_steps)
        return checkpoint

    @staticmethod
    def _reload(stage: Stage, handoff: Mapping[str, Any], stage_dir: Path) -> StageResult:
        """A finished stage's result as the first run handed it on (its data rebuilt, cheap)."""
        datamodule, task = stage.build(handoff)
        metrics = json.loads((stage_dir / "metrics.json").read_text())
        layers = torch.load(stage_dir / RESULT_FILE, map_location="cpu", weights_only=True)
        return StageResult(metrics, layers, stage_dir, datamodule, task)

    def _stop(self, out_dir: Path, results: list[StageResult]) -> dict[str, Any]:
        """A diverged stage ends the system: its best result so far becomes the final one."""
        last = results[-1]
        if (last.out_dir / "layers").is_dir():
            shutil.copytree(last.out_dir / "layers", out_dir / "layers", dirs_exist_ok=True)
        metrics = dict(last.metrics)
        metrics["stopped_at"] = {"stage": len(results) - 1, "step": last.metrics["stopped_at"]}
        metrics["stages"] = [r.metrics for r in results]
        write_json(out_dir / "metrics.json", metrics)
        return metrics

    def _finish(self, out_dir: Path, results: list[StageResult]) -> dict[str, Any]:
        final = results[-1]
        metrics = dict(final.metrics)
        if self.combine is not None:
            layers, combined = self.combine(results)
            for name, image in layers.items():
                folder, _, base = name.rpartition(":")
                write_layer(out_dir / ("baselines" if folder else "layers"), base, image)
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
