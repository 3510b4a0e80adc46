"""A progress bar that counts steps, not epochs, and shows the reconstruction's PSNR.

    stage 2/3 · step 340/1500 |██████▎             | [00:31<01:47, 10.8it/s, PSNR_recon 24.17 dB]

"One epoch" of a dipsys run is only a logging cadence (``data.steps_per_epoch``), so the bar
runs over ``trainer.max_steps`` once; a system's stages are labelled ``stage i/N``.
"""

from __future__ import annotations

import sys
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import TQDMProgressBar
from pytorch_lightning.callbacks.progress.tqdm_progress import Tqdm

BAR_FORMAT = (
    "{desc}step {n_fmt}/{total_fmt} |{bar:20}| [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
)


class StepProgressBar(TQDMProgressBar):
    """Lightning's tqdm bar over the whole run's steps.

    Args:
        refresh_rate: steps between redraws (each reads the logged ``psnr_recon``: one host
            sync on an accelerator).
        stage: label shown before the step count (a system sets ``stage i/N``).
    """

    def __init__(self, refresh_rate: int = 10, stage: str = "") -> None:
        super().__init__(refresh_rate=refresh_rate)
        self.stage = stage

    def init_train_tqdm(self, total: int | None = None, initial: int = 0) -> Tqdm:
        return Tqdm(
            total=total,
            initial=initial,
            desc=f"{self.stage} · " if self.stage else "",
            position=2 * self.process_position,
            disable=self.is_disabled,
            leave=True,
            dynamic_ncols=True,
            file=sys.stdout,
            smoothing=0,
            bar_format=BAR_FORMAT,
            unit="it",
        )

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # a resumed run starts at its checkpoint's step
        self.train_progress_bar = self.init_train_tqdm(trainer.max_steps, trainer.global_step)

    def on_train_epoch_start(self, trainer: pl.Trainer, *_: Any) -> None:
        """No reset per epoch: the bar counts the run's steps."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """The bar stays open until training ends."""

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        bar = self.train_progress_bar
        step = trainer.global_step
        last = isinstance(batch, dict) and bool(batch.get("last", False))
        if bar is None or bar.disable or (step % self.refresh_rate and not last):
            return
        psnr = trainer.callback_metrics.get(f"{getattr(pl_module, 'log_prefix', '')}psnr_recon")
        if psnr is not None:
            bar.set_postfix_str(f"PSNR_recon {float(psnr):.2f} dB", refresh=False)
        bar.n = step
        bar.refresh()

    def on_train_end(self, *_: Any) -> None:
        if self.train_progress_bar is not None:
            self.train_progress_bar.close()
