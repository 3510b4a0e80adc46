"""TensorBoard images of every layer, the reconstruction and the target, plus it/s."""

from __future__ import annotations

import time

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger


class LayerImages(pl.Callback):
    """Every ``every_n_steps`` steps, log each layer (un-augmented) as a TensorBoard image.

    Also logs the step rate ``it_per_s`` over the same interval. Images go under
    ``layers/<name>``; the reconstruction and the target under ``layers/reconstruction`` and
    ``layers/target``; a layer with neither 1 nor 3 channels (a K-label mask) as one image per
    channel, ``layers/<name>/<c>``. Every tag starts with the task's ``log_prefix``
    (``stage_<i>/`` in a system).
    """

    def __init__(self, every_n_steps: int = 250) -> None:
        self.every_n_steps = max(1, int(every_n_steps))
        self._last: tuple[int, float] | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step  # already incremented: the step just done is step - 1
        done = step - 1
        if done % self.every_n_steps != 0 and not batch["last"]:
            return
        now = time.perf_counter()
        if self._last is not None and step > self._last[0]:
            rate = (step - self._last[0]) / (now - self._last[1])
            pl_module.log(f"{pl_module.log_prefix}it_per_s", rate)
        self._last = (step, now)
        images = pl_module.canonical_latest()
        self._log_images(trainer, images, done, pl_module.log_prefix)

    @staticmethod
    def _log_images(trainer: pl.Trainer, images: dict, step: int, prefix: str) -> None:
        if trainer.global_rank != 0:
            return
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                for name, image in images.items():
                    tag = f"{prefix}layers/{name}"
                    if image.shape[0] in (1, 3):
                        logger.experiment.add_image(tag, image.clamp(0, 1), step)
                        continue
                    for channel, plane in enumerate(image):  # e.g. a K-label mask
                        logger.experiment.add_image(f"{tag}/{channel}", plane[None], step)
