"""Iterative dehazing (Coupled Deep Image Prior Systems §3): each stage dehazes the last result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dipsys.errors import InputError
from dipsys.systems.system import Builder, Stage, StageResult

AIRLIGHT_HANDOFFS = ("fixed", "reestimate", "carry")


def step_schedule(
    stages: int, start_steps: int, factor: float, steps: Sequence[int] | None = None
) -> list[int]:
    """Steps per stage: ``steps`` if given, else ``int(start_steps · factor^i)`` for i < stages.

    The paper's schedule is ``stages=3, start_steps=1000, factor=3``: 1000 → 3000 → 9000.
    """
    if steps is not None:
        schedule = [int(n) for n in steps]
    else:
        if stages < 1:
            raise InputError(f"task.stages must be at least 1, got {stages}")
        schedule = [int(start_steps * factor**i) for i in range(stages)]
    if not schedule or min(schedule) < 1:
        raise InputError(f"every stage needs at least one step, got the schedule {schedule}")
    return schedule


class IterativeDehazing:
    """N dehazing stages; stage i+1 takes stage i's final dehazed image as its input.

    Airlight handoff:
        - ``fixed``: every later stage keeps stage 0's airlight (the reference).
        - ``reestimate``: each stage estimates A from its own input (dark channel prior).
        - ``carry``: every stage learns an A-map; stage i+1 is anchored to stage i's map.

    Args:
        stages, start_steps, factor, steps: the schedule (see :func:`step_schedule`).
        airlight_handoff: one of :data:`AIRLIGHT_HANDOFFS`.
    """

    def __init__(
        self,
        stages: int = 3,
        start_steps: int = 1000,
        factor: float = 3.0,
        steps: Sequence[int] | None = None,
        airlight_handoff: str = "fixed",
    ) -> None:
        if airlight_handoff not in AIRLIGHT_HANDOFFS:
            raise InputError(
                f"task.airlight_handoff must be one of {', '.join(AIRLIGHT_HANDOFFS)}, "
                f"got '{airlight_handoff}'"
            )
        self.schedule = step_schedule(stages, start_steps, factor, steps)
        self.airlight_handoff = airlight_handoff
        self._stage0_airlight: list[float] | None = None

    def first_handoff(self) -> dict[str, Any]:
        """What stage 0 receives: a learned A-map in ``carry`` mode, nothing otherwise."""
        return {"task": {"airlight": "learned"}} if self.airlight_handoff == "carry" else {}

    def stages(self, build: Builder) -> list[Stage]:
        self._stage0_airlight = None  # a new run hands over its own stage 0's airlight
        return [
            Stage(f"stage_{i}", build, steps, handoff=self.handoff)
            for i, steps in enumerate(self.schedule)
        ]

    def handoff(self, result: StageResult) -> dict[str, Any]:
        """The dehazed image becomes the next input; the airlight follows the handoff mode."""
        airlight = result.layers["airlight"]
        if self.airlight_handoff == "fixed":
            if self._stage0_airlight is None:
                self._stage0_airlight = airlight.mean(dim=(1, 2)).tolist()
            task = {"airlight": "fixed", "airlight_value": self._stage0_airlight}
        elif self.airlight_handoff == "carry":
            task = {"airlight": "learned", "airlight_value": airlight}
        else:  # reestimate, whatever A the configuration gave
            task = {"airlight_value": None}
        return {"data": {"image": result.layers["clean"]}, "task": task}
