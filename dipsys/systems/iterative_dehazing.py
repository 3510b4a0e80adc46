"""Iterative dehazing (Coupled Deep Image Prior Systems §3): each stage dehazes the last result.

Left alone, every stage removes haze, whether the image still holds some or not: under the
dark-channel transmission prior a clear photograph still "holds" 10–30 % haze (bright surfaces
have no dark pixels), so a stage run on an already dehazed image darkens and distorts it. The
system therefore reads how much haze each stage's result still holds (:func:`haze_left`, the
mean dark channel of ``J / A``, no ground truth needed) and

- runs the next stage only while that figure stays above ``haze_stop`` (more haze than a clear
  photo leaves), and
- returns the last stage whose result does not fall below ``haze_floor`` (a result with less
  haze left than a clear photo was over-dehazed: its predecessor is returned instead).

The step budget is the sum of the schedule. When ``haze_stop`` ends the system early, the steps
of the stages that do not run are not dropped (``spend_unused``): the stage that ran last trains
on for them from its checkpoint, so a run that stops after stage 0 is a single-stage ``dehaze``
run of the whole budget (up to the one noiseless step that ended stage 0's share). The budget is
spent on one stage or shared by several, never left over — except when a later stage ran and was
not returned (``haze_floor``): its steps were spent on a result that is set aside.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from dipsys.errors import InputError
from dipsys.ops.dark_channel import haze_left
from dipsys.systems.stage import Builder, Stage, StageResult

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
        haze_stop: the next stage runs only while the last result holds more haze than this
            (:func:`haze_left`); None runs every stage.
        haze_floor: a later stage's result with less haze left than this is not returned;
            None returns the last stage's.
        spend_unused: when ``haze_stop`` ends the system early, the last stage that ran trains
            on for the steps of the stages that do not run (the system reads this attribute);
            False leaves them unspent.
    """

    def __init__(
        self,
        stages: int = 3,
        start_steps: int = 1000,
        factor: float = 3.0,
        steps: Sequence[int] | None = None,
        airlight_handoff: str = "fixed",
        haze_stop: float | None = None,
        haze_floor: float | None = None,
        spend_unused: bool = True,
    ) -> None:
        if airlight_handoff not in AIRLIGHT_HANDOFFS:
            raise InputError(
                f"task.airlight_handoff must be one of {', '.join(AIRLIGHT_HANDOFFS)}, "
                f"got '{airlight_handoff}'"
            )
        self.schedule = step_schedule(stages, start_steps, factor, steps)
        self.airlight_handoff = airlight_handoff
        self._stage0_airlight: list[float] | torch.Tensor | None = None
        self.haze_stop, self.haze_floor = haze_stop, haze_floor
        self.spend_unused = bool(spend_unused)

    def first_handoff(self) -> dict[str, Any]:
        """What stage 0 receives: a learned A-map in ``carry`` mode, nothing otherwise."""
        return {"task": {"airlight": "learned"}} if self.airlight_handoff == "carry" else {}

    def stages(self, build: Builder) -> list[Stage]:
        self._stage0_airlight = None  # a new run hands over its own stage 0's airlight
        return [
            Stage(f"stage_{i}", build, steps, handoff=self.handoff)
            for i, steps in enumerate(self.schedule)
        ]

    def handoff(self, result: StageResult) -> dict[str, Any] | None:
        """The dehazed image becomes the next input; the airlight follows the handoff mode.

        None (the system stops) when the result holds no more haze than ``haze_stop``.
        """
        airlight = result.layers["airlight"]
        haze = stage_haze(result)
        result.metrics["haze_left"] = round(haze, 4)
        if self.haze_stop is not None and haze <= self.haze_stop:
            return None
        if self.airlight_handoff == "fixed":
            if self._stage0_airlight is None:
                # a map (airlight=banded) is handed over as a map, a colour as three numbers
                varies = bool((airlight.amax(dim=(1, 2)) - airlight.amin(dim=(1, 2))).max() > 1e-3)
                self._stage0_airlight = airlight if varies else airlight.mean(dim=(1, 2)).tolist()
            task = {"airlight": "fixed", "airlight_value": self._stage0_airlight}
        elif self.airlight_handoff == "carry":
            task = {"airlight": "learned", "airlight_value": airlight}
        else:  # reestimate, whatever A the configuration gave
            task = {"airlight_value": None}
        return {"data": {"image": result.layers["clean"]}, "task": task}

    def combine(self, results: list[StageResult]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The returned stage: the last one not over-dehazed (see the module docstring).

        Its layers become the final ones and its figures the top ones; ``input`` and
        ``baselines`` stay the first stage's (the original image), ``returned_stage`` says which.
        """
        for result in results:  # a stage that trained on past its share is scored again
            result.metrics["haze_left"] = round(stage_haze(result), 4)
        chosen = len(results) - 1
        if self.haze_floor is not None:
            while chosen > 0 and stage_haze(results[chosen]) < self.haze_floor:
                chosen -= 1
        metrics = {
            k: v
            for k, v in results[chosen].metrics.items()
            if k not in ("steps", "wall_s", "it_per_s", "stages")
        }
        for key in ("input", "baselines"):
            if key in results[0].metrics:
                metrics[key] = results[0].metrics[key]
        metrics["returned_stage"] = chosen
        return dict(results[chosen].layers), metrics


def stage_haze(result: StageResult) -> float:
    """:func:`haze_left` of a stage's clean layer under its airlight (both original size)."""
    clean, airlight = result.layers["clean"], result.layers["airlight"]
    return float(haze_left(clean[None].float(), airlight[None].float())[0])
