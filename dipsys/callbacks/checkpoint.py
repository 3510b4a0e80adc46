"""Checkpoints a run can always resume from: written atomically, finite, also on SIGTERM."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.utilities.exceptions import SIGTERMException

log = logging.getLogger(__name__)


def _finite(module: pl.LightningModule) -> bool:
    """Whether every parameter is finite (one host sync per parameter; checkpoints are rare)."""
    return all(bool(torch.isfinite(p).all()) for p in module.parameters())


class LastCheckpoint(ModelCheckpoint):
    """ModelCheckpoint whose ``last.ckpt`` is always a state worth resuming from.

    - **End of training**: Lightning saves on its interval only, so with
      ``every_n_train_steps=500`` a 1234-step run would leave the step-1000 state as
      ``last.ckpt``; this one also saves when training ends.
    - **Atomic**: each file is written under a temporary name and renamed into place, so a run
      killed while saving (SIGKILL) keeps its previous checkpoint intact.
    - **Finite**: a state with a NaN or infinite weight is not saved (a diverged run keeps its
      last good checkpoint).
    - **SIGTERM**: Lightning finishes the current step and stops; the state after that step is
      saved, so ``ckpt_path=last`` loses nothing.
    """

    def _save_checkpoint(self, trainer: pl.Trainer, filepath: str) -> None:
        if not _finite(trainer.lightning_module):
            log.warning("not saving %s: the weights are no longer finite", filepath)
            return
        path = Path(filepath)
        tmp = path.with_name(f".{path.name}.tmp")
        super()._save_checkpoint(trainer, str(tmp))
        if trainer.is_global_zero:
            os.replace(tmp, path)
        self._last_checkpoint_saved = str(path)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_end(trainer, pl_module)
        self._save_last(trainer)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        # Only SIGTERM: Lightning raises it between steps, so the state is consistent. Other
        # exceptions may strike mid-step (a half-applied optimizer step), not a state to keep.
        if isinstance(exception, SIGTERMException):
            self._save_last(trainer)
            log.info("SIGTERM: saved the state after step %d", trainer.global_step)

    def _save_last(self, trainer: pl.Trainer) -> None:
        if self.save_last and self.dirpath is not None:
            name = f"{self.CHECKPOINT_NAME_LAST}{self.FILE_EXTENSION}"
            self._save_checkpoint(trainer, str(Path(self.dirpath) / name))
