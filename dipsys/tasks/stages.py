"""Two training stages inside one task's run, the split a fraction of the step budget."""

from __future__ import annotations

from typing import Any


class TwoStages:
    """Stage 1 runs for the first ``split = round(hint_fraction·T)`` of T steps, stage 2 after.

    Mixed in before :class:`dipsys.tasks.LayerDecomposition`. The task sets ``hint_fraction``
    and ``reset_optimizer`` in its ``__init__`` and calls :meth:`set_schedule` there (a
    placeholder budget) and again once the Trainer's ``max_steps`` is known (``setup``). Adam's
    moments are cleared when stage 2 begins if ``reset_optimizer`` (the reference starts a new
    optimizer), and only stage-2 results may become the best one. Stage 2 always holds at least
    the last step.
    """

    hint_fraction: float
    reset_optimizer: bool
    split: int = 0

    def set_schedule(self, total_steps: int) -> None:
        """Stage boundaries for a budget of ``total_steps``."""
        self.split = min(total_steps - 1, round(self.hint_fraction * total_steps))

    def setup(self, stage: str) -> None:
        self.set_schedule(int(self.trainer.max_steps))

    def on_train_batch_start(self, batch: dict[str, Any], batch_idx: int) -> None:
        if self.reset_optimizer and batch["step"] == self.split > 0:
            for optimizer in self.trainer.optimizers:
                optimizer.state.clear()

    def selectable(self, step: int) -> bool:
        return step >= self.split
