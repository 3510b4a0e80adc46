"""Write the result of a task: ``layers/<name>.png`` at the original size and ``metrics.json``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from dipsys.callbacks.nan_guard import NanGuard
from dipsys.data.io import write_image
from dipsys.data.video_io import write_layer_video
from dipsys.ops.metrics import image_metrics

__all__ = [
    "RESULT_FILE",
    "ExportResults",
    "image_metrics",
    "result_metrics",
    "write_layer",
    "write_json",
    "write_tensors",
]

#: a finished stage's layers at full precision (what the next stage of a system receives)
RESULT_FILE = "result.pt"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def write_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Save name → tensor atomically; readable with ``torch.load(..., weights_only=True)``."""
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save({name: t.detach().cpu().contiguous() for name, t in tensors.items()}, tmp)
    os.replace(tmp, path)


def write_layer(folder: Path, name: str, layer: torch.Tensor) -> None:
    """An image (C, H, W) as ``<name>.png``; a video (T, C, H, W) as ``<name>/<i>.png`` + mp4."""
    if layer.dim() == 4:
        write_layer_video(folder, name, layer)
    else:
        write_image(folder / f"{name}.png", layer)


@torch.no_grad()
def result_metrics(
    task: pl.LightningModule, layers: dict[str, torch.Tensor], datamodule: Any
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """A task's figures for its final ``layers`` and its baselines' estimates.

    With ``datamodule.gt`` and a task ``gt_layer``: the task's ``measure`` (default
    :func:`image_metrics`) of that layer, of the input (``input``) and of each baseline
    (``baselines``); then the task's own ``report``; with ``datamodule.gt_mask`` and a
    ``label_layer``: the task's ``mask_metrics`` and the baselines' instead.

    Returns:
        The figures, and baseline name → estimate (empty without ground truth).
    """
    metrics: dict[str, Any] = {}
    baselines: dict[str, torch.Tensor] = {}
    dm = datamodule
    if dm.gt is not None and task.gt_layer is not None:
        measure = getattr(task, "measure", image_metrics)
        metrics.update(measure(layers[task.gt_layer], dm.gt))
        metrics["input"] = measure(dm.original[: dm.gt.shape[0]], dm.gt)
        baselines = {k: v.cpu() for k, v in task.baselines(dm.original).items()}
        metrics["baselines"] = {k: measure(v, dm.gt) for k, v in baselines.items()}
    if hasattr(task, "report"):
        metrics.update(task.report(layers, dm))
    label_layer = getattr(task, "label_layer", None)
    if getattr(dm, "gt_mask", None) is not None and label_layer is not None:
        metrics.update(task.mask_metrics(layers[label_layer], dm.gt_mask))
        baselines = {k: v.cpu() for k, v in task.baselines(dm.original).items()}
        metrics["baselines"] = {k: task.mask_metrics(v, dm.gt_mask) for k, v in baselines.items()}
    return metrics, baselines


class ExportResults(pl.Callback):
    """At the end of training: final layers as PNGs, metrics as JSON (rank 0 only).

    ``metrics.json`` holds ``task``, ``steps``, ``wall_s``, ``it_per_s``, ``psnr_recon`` (best
    reconstruction PSNR at the working size), and with ``data.gt``: ``psnr``/``ssim`` of the
    task's ground-truth layer, ``input`` (the input against the ground truth) and ``baselines``
    (each classical baseline's figures, its estimate in ``baselines/<name>.png``). With
    ``data.gt_mask`` and a task that has a ``label_layer`` (segmentation), ``iou`` (the task's
    ``mask_metrics``) and the baselines' IoU instead. The dict is
    also kept in ``self.metrics``.

    A task may refine the figures: ``measure(estimate, gt)`` replaces :func:`image_metrics` for
    its layer, the input and the baselines (e.g. adding PSNR inside a box), and
    ``report(layers, datamodule)`` adds figures of its own (e.g. a second layer's PSNR, estimated
    opacities), with or without ground truth. With several input images (stacked on channels)
    ``input`` is the first image's figures.

    A run stopped by :class:`~dipsys.callbacks.NanGuard` writes its best result so far with
    ``diverged: true`` and ``stopped_at`` (the step); with no finite result to keep, only
    ``metrics.json`` (``psnr_recon`` null) and no layers.

    ``metrics.json`` is written last, so its presence means the export finished.

    Args:
        task_name: the name written as ``task``.
        save_result: also write the final layers at full precision to ``result.pt`` (a system
            sets it, so that a resumed run can hand a finished stage's result on).
    """

    def __init__(self, task_name: str = "", save_result: bool = False) -> None:
        self.task_name = task_name
        self.save_result = save_result
        self.metrics: dict[str, Any] = {}
        self.layers: dict[str, torch.Tensor] = {}

    def on_train_start(self, trainer, pl_module) -> None:
        self._start = (trainer.global_step, time.perf_counter())

    @torch.no_grad()
    def on_train_end(self, trainer, pl_module) -> None:
        if trainer.global_rank != 0:
            return
        out_dir = Path(trainer.default_root_dir)
        dm = trainer.datamodule
        wall = time.perf_counter() - self._start[1]
        steps_here = trainer.global_step - self._start[0]
        metrics: dict[str, Any] = {
            "task": self.task_name or type(pl_module).__name__,
            "steps": trainer.global_step,
            "wall_s": round(wall, 3),
            "it_per_s": round(steps_here / wall, 3) if wall > 0 else None,
            "psnr_recon": round(float(pl_module.best_psnr), 4),
            "working_size": list(dm.working_size),
            "original_size": list(dm.original.shape[-2:]),
        }
        guard = next((cb for cb in trainer.callbacks if isinstance(cb, NanGuard)), None)
        diverged = guard is not None and guard.stopped_at is not None
        if diverged:
            metrics.update(diverged=True, stopped_at=guard.stopped_at)
            if not torch.isfinite(pl_module.best_psnr):  # nothing finite was ever selected
                metrics["psnr_recon"] = None
                write_json(out_dir / "metrics.json", metrics)
                self.metrics, self.layers = metrics, {}
                return
        self.layers = {k: v.cpu() for k, v in pl_module.export(dm.original).items()}
        figures, baselines = result_metrics(pl_module, self.layers, dm)
        metrics.update(figures)
        for name, estimate in baselines.items():
            write_layer(out_dir / "baselines", name, estimate)
        for name, layer in self.layers.items():
            write_layer(out_dir / "layers", name, layer)
        if self.save_result and not diverged:
            write_tensors(out_dir / RESULT_FILE, self.layers)
        write_json(out_dir / "metrics.json", metrics)
        self.metrics = metrics
