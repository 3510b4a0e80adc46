"""TensorBoard as a user reads it: the exported layers, the figures against ground truth, it/s."""

from __future__ import annotations

import time
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.loggers import TensorBoardLogger

from dipsys.ops.metrics import image_metrics


def display_size(image: torch.Tensor, max_side: int) -> torch.Tensor:
    """``image`` shrunk (area average) so that its longer side is at most ``max_side``.

    Shape:
        - image: (C, H, W); output: (C, H', W') with max(H', W') ≤ max_side
    """
    height, width = image.shape[-2:]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return F.interpolate(image[None].float(), size=size, mode="area")[0]


def truth_figures(task: pl.LightningModule, layers: dict[str, torch.Tensor], dm: Any) -> dict:
    """The figure of ``layers`` against the run's ground truth, as ``metrics.json`` will hold
    it: ``psnr`` (``data.gt`` and a task ``gt_layer``) or ``iou`` (``data.gt_mask`` and a
    ``label_layer``); empty without ground truth."""
    gt, gt_layer = getattr(dm, "gt", None), getattr(task, "gt_layer", None)
    if gt is not None and gt_layer is not None:
        measure = getattr(task, "measure", image_metrics)
        return {"psnr": float(measure(layers[gt_layer], gt)["psnr"])}
    gt_mask, label_layer = getattr(dm, "gt_mask", None), getattr(task, "label_layer", None)
    if gt_mask is not None and label_layer is not None:
        return {"iou": float(task.mask_metrics(layers[label_layer], gt_mask)["iou"])}
    return {}


class LayerImages(pl.Callback):
    """Every ``every_n_steps`` steps and on the last one, log to TensorBoard:

    - ``result/<name>``: the layers as they would be exported now (the best step so far, at the
      original size, shown at most ``max_side`` pixels wide; a video's first frame) — the last
      one is the exported ``layers/<name>.png``;
    - ``psnr/ground_truth`` (or ``iou/ground_truth``): those layers against the ground truth,
      when it is given (the final value is ``metrics.json``'s ``psnr`` / ``iou``);
    - ``training_step/<name>``, ``training_step/reconstruction``, ``training_step/target``: the
      latest step's raw generator outputs, reconstruction and target (un-augmented, working
      size);
    - ``speed/it_per_s``: the step rate over the interval.

    TensorBoard shows groups in alphabetical order: ``loss/``, ``psnr/``, ``result/`` come
    before ``schedule/``, ``speed/`` and ``training_step/``.

    A layer with neither 1 nor 3 channels (a K-label mask) is logged one image per channel,
    ``<tag>/<c>``. Every tag starts with the task's ``log_prefix`` (``stage_<i>/`` in a system).
    """

    def __init__(self, every_n_steps: int = 250, max_side: int = 512) -> None:
        self.every_n_steps = max(1, int(every_n_steps))
        self.max_side = int(max_side)
        self._last: tuple[int, float] | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step  # already incremented: the step just done is step - 1
        done = step - 1
        if done % self.every_n_steps != 0 and not batch["last"]:
            return
        now = time.perf_counter()
        if self._last is not None and step > self._last[0]:
            rate = (step - self._last[0]) / (now - self._last[1])
            pl_module.log(f"{pl_module.log_prefix}speed/it_per_s", rate)
        self._last = (step, now)
        if trainer.global_rank != 0 or not self._tensorboards(trainer):
            return
        prefix = pl_module.log_prefix
        raw = pl_module.canonical_latest()
        self._log_images(trainer, {f"{prefix}training_step/{k}": v for k, v in raw.items()}, done)
        exported = self._exported(trainer, pl_module)
        if exported:
            shown = {
                f"{prefix}result/{k}": v[0] if v.dim() == 4 else v for k, v in exported.items()
            }
            self._log_images(trainer, shown, done)
            for name, value in truth_figures(pl_module, exported, trainer.datamodule).items():
                for logger in self._tensorboards(trainer):
                    logger.experiment.add_scalar(f"{prefix}{name}/ground_truth", value, done)

    @staticmethod
    def _tensorboards(trainer: pl.Trainer) -> list[TensorBoardLogger]:
        return [lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]

    @staticmethod
    @torch.no_grad()
    def _exported(trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, torch.Tensor]:
        """What ``export`` would write now (empty before a step was selected as the best)."""
        dm = trainer.datamodule
        if not getattr(pl_module, "best", None) or dm is None:
            return {}
        return {k: v.float().cpu() for k, v in pl_module.export(dm.original).items()}

    def _log_images(self, trainer: pl.Trainer, images: dict, step: int) -> None:
        for logger in self._tensorboards(trainer):
            for tag, image in images.items():
                if not torch.isfinite(image).all():
                    continue  # a diverged layer: the run's divergence error says so, not an image
                image = display_size(image.float().cpu(), self.max_side)
                if image.shape[0] in (1, 3):
                    logger.experiment.add_image(tag, image.clamp(0, 1), step)
                    continue
                for channel, plane in enumerate(image):  # e.g. a K-label mask
                    logger.experiment.add_image(f"{tag}/{channel}", plane[None].clamp(0, 1), step)
