"""Three-layer segmentation as a system of pairwise Double-DIPs (Coupled DIP Systems §2, tech. 1).

Three fg/bg segmentations of the same image, one per pair of layers — (fg, bg), (mg, bg) and
(fg, mg) — each fitted with that pair's hints. Their soft masks p_fb, p_mb and p_fm (the
probability of the pair's first layer, guided-filtered at the original size) are combined by
pairwise coupling: a pixel's score for a layer is the product of the probabilities of the two
runs that involve it,

.. math::
    s_{fg} = p_{fb} \\, p_{fm}, \\quad s_{mg} = p_{mb} (1 - p_{fm}), \\quad
    s_{bg} = (1 - p_{fb}) (1 - p_{mb}),

and the label is the arg max. (The reference keeps a pixel only where all three binary masks
agree and marks the rest gray; the coupling labels every pixel.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio

from dipsys.data.io import read_image, read_mask
from dipsys.errors import InputError
from dipsys.ops.grabcut import grabcut
from dipsys.ops.labels import labels_from_gray, mean_iou
from dipsys.systems.stage import Builder, Stage, StageResult, indexed_stages

#: the pairwise runs, in order: (first layer, second layer) by hint name
PAIRS = (("fg", "bg"), ("mg", "bg"), ("fg", "mg"))


class ThreeLayerSegmentation:
    """Three pairwise segmentation stages and their combination into one 3-label map.

    Args:
        steps: step budget of each pairwise run (one number for all, or three).
        gt_mask: optional ground-truth label map (three gray levels), for ``iou`` (mean IoU over
            the labels, under the best matching of labels) and GrabCut's IoU beside it.
        image: the input image, to check the ground truth's size before any training.

    The stages must be built with three hints (``data.hints.layers=3``); each stage's task is a
    :class:`dipsys.tasks.Segmentation` told which pair of hints it fits.
    """

    def __init__(
        self,
        steps: int | Sequence[int] = 1200,
        gt_mask: str | None = None,
        image: str | None = None,
    ) -> None:
        budgets = [int(steps)] * 3 if isinstance(steps, int | float) else [int(s) for s in steps]
        if len(budgets) != 3 or min(budgets) < 1:
            raise InputError(f"task.steps needs one or three positive budgets, got {steps}")
        self.budgets = budgets
        self.gt_mask = read_mask(gt_mask) if gt_mask is not None else None
        if self.gt_mask is not None and image is not None:
            height, width = read_image(image).shape[-2:]
            if self.gt_mask.shape[-2:] != (height, width):
                found = f"{self.gt_mask.shape[-1]}×{self.gt_mask.shape[-2]}"
                raise InputError(
                    f"ground-truth mask {gt_mask} is {found} but the image is {width}×{height}"
                )
        self.truth = labels_from_gray(self.gt_mask) if self.gt_mask is not None else None

    @staticmethod
    def _handoff(index: int) -> dict[str, Any]:
        # The stages' own metrics have no meaning against a 3-label map: the system scores.
        if index >= len(PAIRS):
            return {}
        return {"data": {"gt_mask": None}, "task": {"hint_names": list(PAIRS[index])}}

    def first_handoff(self) -> dict[str, Any]:
        return self._handoff(0)

    def stages(self, build: Builder) -> list[Stage]:
        names = [f"{first}_{second}" for first, second in PAIRS]
        return indexed_stages(names, build, self.budgets, self._handoff)

    def combine(self, results: list[StageResult]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The label map, the three layers and the metrics from the three pairwise results."""
        fb, mb, fm = (r.layers["mask_soft"][0] for r in results)
        scores = torch.stack([fb * fm, mb * (1 - fm), (1 - fb) * (1 - mb)])
        labels = scores.argmax(dim=0)
        layers = {
            "layer0": results[0].layers["foreground"],
            "layer1": results[1].layers["foreground"],
            "layer2": results[0].layers["background"],
        }
        datamodule = results[0].datamodule
        original = datamodule.original
        onehot = torch.stack([(labels == k).float() for k in range(3)])[:, None]
        recon = (onehot * torch.stack(list(layers.values()))).sum(dim=0)
        psnr = peak_signal_noise_ratio(recon[None].clamp(0, 1), original[None], data_range=1.0)
        out = {
            **layers,
            "foreground": layers["layer0"],
            "background": layers["layer2"],
            "mask": (labels == 0).float()[None],
            "labels": (labels.float() / 2)[None],
        }
        metrics: dict[str, Any] = {"psnr_recon": round(float(psnr), 4)}
        if self.truth is not None:
            truth = self.truth
            count = max(3, int(truth.max()) + 1)
            metrics["iou"] = round(mean_iou(labels, truth, count)[0], 4)
            hints = datamodule.hints
            baseline = grabcut(original, {name: hints[name] for name in ("fg", "mg", "bg")})
            baseline_iou = mean_iou(baseline, truth, count)[0]
            metrics["baselines"] = {"grabcut": {"iou": round(baseline_iou, 4)}}
            out["baseline:grabcut"] = (baseline.float() / 2)[None]
        return out, metrics
