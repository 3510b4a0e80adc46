"""Checkpoints whose ``last.ckpt`` is the end of training, whatever the save interval."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint


class LastCheckpoint(ModelCheckpoint):
    """ModelCheckpoint that also writes ``last.ckpt`` when training ends.

    Lightning's ModelCheckpoint saves on its interval only, so with ``every_n_train_steps=500`` a
    1234-step run would leave the step-1000 state as ``last.ckpt``. Resuming (``ckpt_path``) and
    reading the final best result need the state at the end.
    """

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_end(trainer, pl_module)
        if self.save_last and self.dirpath is not None:
            name = f"{self.CHECKPOINT_NAME_LAST}{self.FILE_EXTENSION}"
            trainer.save_checkpoint(str(Path(self.dirpath) / name))
