"""Input-noise schedules σ_t and augmentation plans, as pure functions of the step.

Every value is a function of (step, total steps) alone, so a resumed run sees exactly the
schedule an uninterrupted run would. The DataModule forces σ = 0 and the identity transform on
the final step, whatever the schedule says (the reference does the same).
"""

from __future__ import annotations

import numpy as np

from dipsys.errors import InputError
from dipsys.ops.dihedral import NUM_DIHEDRAL


class Constant:
    """σ_t = value."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = float(value)

    def __call__(self, step: int, total: int) -> float:
        return self.value


class Ramp:
    """Linear σ_t from ``start`` at step 0 to ``end`` at the last step."""

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = float(start), float(end)

    def __call__(self, step: int, total: int) -> float:
        frac = step / max(total - 1, 1)
        return self.start + (self.end - self.start) * frac


class Staircase:
    """σ_t = increment · ⌊min(t, until) / every⌋, then ``after`` from step ``until`` on.

    The reference schedules: segmentation ``Staircase(0.001, 100, until=1000, after=0.001)``
    (a saw-tooth: 0 → 0.009, then 0.001); watermark stage 1 ``Staircase(0.001, 300)``.
    """

    def __init__(
        self, increment: float, every: int, until: int | None = None, after: float | None = None
    ) -> None:
        if every < 1:
            raise InputError(f"Staircase.every must be >= 1, got {every}")
        self.increment, self.every = float(increment), int(every)
        self.until, self.after = until, after

    def __call__(self, step: int, total: int) -> float:
        if self.until is not None and step >= self.until:
            if self.after is not None:
                return float(self.after)
            step = self.until
        return self.increment * (step // self.every)


AUGMENTATION_MODES = ("none", "cyclic", "random", "batch")


class AugmentationPlan:
    """Which dihedral transforms (0..7) a step trains on.

    Modes:
        - ``none``: the identity only (the reference dehazing and segmentation).
        - ``cyclic``: one transform per step, ``step mod 8``.
        - ``random``: one transform per step, drawn from a generator seeded by (seed, step).
        - ``batch``: ``per_step`` transforms as one batch, cycling through the group. For a
          non-square image, transforms that swap H and W (odd k) cannot share a batch with the
          others, so even steps take even k and odd steps odd k.

    Args:
        mode: one of :data:`AUGMENTATION_MODES`.
        per_step: transforms per step for ``batch`` mode (1..8; at most 4 when non-square).
        square: whether the working image is square.
        seed: seed of the ``random`` mode.
    """

    def __init__(self, mode: str, per_step: int = 1, square: bool = True, seed: int = 0) -> None:
        if mode not in AUGMENTATION_MODES:
            raise InputError(
                f"unknown augmentation mode '{mode}'; choose one of {', '.join(AUGMENTATION_MODES)}"
            )
        limit = NUM_DIHEDRAL if square else NUM_DIHEDRAL // 2
        if mode == "batch" and not 1 <= per_step <= NUM_DIHEDRAL:
            raise InputError(
                f"data.per_step must be in 1..8 for batch augmentation, got {per_step}"
            )
        self.mode, self.square, self.seed = mode, square, seed
        self.per_step = min(per_step, limit) if mode == "batch" else 1

    def __call__(self, step: int, total: int) -> list[int]:
        if step >= total - 1 or self.mode == "none":
            return [0]
        if self.mode == "cyclic":
            return [step % NUM_DIHEDRAL]
        if self.mode == "random":
            return [int(np.random.default_rng([self.seed, step]).integers(NUM_DIHEDRAL))]
        n = self.per_step
        if self.square:
            return [(step * n + j) % NUM_DIHEDRAL for j in range(n)]
        parity = step % 2
        group = list(range(parity, NUM_DIHEDRAL, 2))
        start = (step // 2) * n
        return [group[(start + j) % len(group)] for j in range(n)]


__all__ = [
    "AUGMENTATION_MODES",
    "AugmentationPlan",
    "Constant",
    "Ramp",
    "Staircase",
]
