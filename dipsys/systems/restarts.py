"""Restarts: the same task trained N times from different seeds, layers merged by median.

A DIP run depends on its random inputs and initial weights; a few restarts and the pixel-wise
median of their final layers remove what only one run hallucinated (Double-DIP's watermark
removal restarts its optimisation the same way). Restart ``i`` runs the task with
``seed + i`` (its fixed inputs and per-step noise) in ``stage_<i>/``; the merged result is

.. math:: \\hat y(p) = \\operatorname{median}_i\\, y^{(i)}(p)

for every exported layer (for an even N, the lower of the two middle values, so a merged value
is always one a restart produced). Any task runs with restarts: ``task.restarts=N``.
"""

from __future__ import annotations

from typing import Any

import torch

from dipsys.callbacks.export import result_metrics
from dipsys.errors import InputError
from dipsys.systems.stage import Builder, Stage, StageResult, indexed_stages


def median_layers(results: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Pixel-wise median of each layer over several results.

    Shape:
        - each result: name → ``(C, H, W)`` or ``(T, C, H, W)``; output: the same shapes
    """
    return {
        name: torch.stack([r[name] for r in results]).median(dim=0).values for name in results[0]
    }


class Restarts:
    """``restarts`` runs of one task, merged by :func:`median_layers`.

    The merged layers go to ``layers/``; ``metrics.json`` holds the task's figures for the
    merged layers (its ``measure``, baselines and ``mask_metrics`` against the ground truth;
    task-specific extras of its ``report``, such as estimated opacities, come from the last
    restart), ``psnr_recon`` as the best of the restarts, and every restart's own metrics under
    ``stages``.

    Args:
        restarts: N ≥ 2 runs.
        steps: step budget of each run.
        seed: the first run's seed; run ``i`` uses ``seed + i``.
    """

    def __init__(self, restarts: int, steps: int, seed: int = 0) -> None:
        if int(restarts) < 2:
            raise InputError(f"task.restarts needs 2 or more runs to merge, got {restarts}")
        if int(steps) < 1:
            raise InputError(f"trainer.max_steps must be positive, got {steps}")
        self.restarts, self.steps, self.seed = int(restarts), int(steps), int(seed)

    def _handoff(self, index: int) -> dict[str, Any]:
        return {"task": {"seed": self.seed + index}}

    def first_handoff(self) -> dict[str, Any]:
        return self._handoff(0)

    def stages(self, build: Builder) -> list[Stage]:
        names = [f"restart_{index}" for index in range(self.restarts)]
        return indexed_stages(names, build, [self.steps] * self.restarts, self._handoff)

    def combine(self, results: list[StageResult]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The median layers and their figures (see the class docstring)."""
        layers = median_layers([r.layers for r in results])
        last = results[-1]
        metrics, baselines = result_metrics(last.task, layers, last.datamodule)
        best = [r.metrics["psnr_recon"] for r in results if r.metrics.get("psnr_recon") is not None]
        metrics["psnr_recon"] = max(best) if best else None
        metrics["restarts"] = len(results)
        out = dict(layers)
        out.update({f"baseline:{name}": image for name, image in baselines.items()})
        return out, metrics
