"""Stop a diverging run: a NaN or infinite loss ends training, the best result so far stays."""

from __future__ import annotations

import logging
from typing import Any

import pytorch_lightning as pl
import torch

log = logging.getLogger(__name__)


class NanGuard(pl.Callback):
    """Ends training once the loss is no longer finite.

    Every step folds ``isfinite(loss)`` into a flag on the device (no host synchronisation);
    every ``every_n_steps`` steps, and on the last one, the flag is read. Once it is set,
    training stops: :class:`~dipsys.callbacks.ExportResults` writes the best result tracked
    before the divergence (a NaN reconstruction never compares better than a finite one) with
    ``diverged: true`` and ``stopped_at`` in ``metrics.json``, and ``dipsys.run.train`` raises
    :class:`~dipsys.errors.TrainingDiverged`.

    Args:
        every_n_steps: steps between reads of the flag (each read is one host sync).

    Attributes:
        stopped_at: the global step at which the divergence was seen (None: it was not).
    """

    def __init__(self, every_n_steps: int = 10) -> None:
        self.every_n_steps = max(1, int(every_n_steps))
        self.stopped_at: int | None = None
        self._bad: torch.Tensor | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.stopped_at, self._bad = None, None

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: dict[str, Any],
        batch_idx: int,
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        bad = ~torch.isfinite(loss.detach())
        self._bad = bad if self._bad is None else self._bad | bad
        due = trainer.global_step % self.every_n_steps == 0 or bool(batch.get("last", False))
        if due and bool(self._bad):
            self.stopped_at = trainer.global_step
            trainer.should_stop = True
            log.error(
                "the loss is no longer finite (by step %d); stopping with the best result so far",
                self.stopped_at,
            )
