"""Segmentation as layer decomposition: I ≈ Σ_k m_k·y_k with a per-pixel label distribution m.

:class:`HintedSegmentation` is shared by two tasks. :class:`Segmentation` (here) is Double-DIP's
fg/bg model, one sigmoid mask (m_0 = m, m_1 = 1 − m);
:class:`dipsys.tasks.segmentation_nlayer.SegmentationNLayer` has K layer generators and one
K-channel softmax (multinomial) mask. Both fit in two stages inside one run (the split is a
fraction of the step budget, so the schedule scales with ``trainer.max_steps``):

1. **Hints** (steps < ``hint_fraction``·T): each layer fits the image where its hint is set,
   ``hint_layers`` = Σ_k ExtL1(y_k, I, h_k), and the mask fits the hints, ``hint_mask`` =
   L1(m, h) with the uniform distribution 1/K where no hint is set (the reference), or, with
   ``uniform_unhinted=False``, ExtL1(m, h, known) on the hinted pixels only. The latter suits an
   image-conditioned mask generator (``image_conditioned=[mask]``): it then learns the hinted
   regions' appearance and carries it to unhinted pixels instead of being taught "undecided".
2. **Decomposition**: ``recon`` = L1(Σ_k m_k·y_k, I) and ``onehot``, which pushes the mask to
   one-hot values; its weight ramps up in ten steps over the first ``onehot_ramp`` of the stage.
   The hint terms stay on for the first ``hint_keep`` of the stage, the mask's only on hinted
   pixels. Adam's moments are reset when stage 2 begins (the reference starts a new optimizer).

The result is the best reconstruction of stage 2. Its mask probabilities are resized to the
original image and refined there (``refine``):

- ``graph_cut`` (the shipped configs' choice): the foreground probability is the prior of a
  full-resolution CRF with a colour model and contrast-sensitive edges, solved exactly by a
  minimum cut, hints fixed (:func:`dipsys.ops.refine.refine_probability`). The mask then
  follows the image's edges at the original resolution, and pixels whose colour the
  background explains better leave the foreground. With K > 2 labels it separates label 0
  (the foreground) from the rest; the others keep their order.
- ``guided``: a guided filter guided by the image (the reference's post-processing).

Each pixel takes the most probable label (for K = 2: m > 0.5).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dipsys.errors import InputError
from dipsys.losses.terms import binary_mask_loss, extended_l1
from dipsys.ops.grabcut import grabcut
from dipsys.ops.guided_filter import guided_filter
from dipsys.ops.labels import binary_iou, labels_from_gray, mean_iou
from dipsys.ops.refine import refine_probability
from dipsys.ops.resize import resize
from dipsys.tasks.base import LayerDecomposition
from dipsys.tasks.stages import TwoStages

#: final-mask refinements (see the module docstring)
REFINEMENTS = ("graph_cut", "guided")
# Weight of the cut in the exported soft mask (above 1/2, so it decides every threshold).
_CUT_SHARE = 0.75


def _shares(rest: Tensor) -> Tensor:
    """The other labels' probabilities renormalised to sum to 1 (n, K − 1, H, W).

    Where the mask gave them no mass at all (a saturated sigmoid reads exactly 1), they share
    it equally: the refined first label must decide every pixel, and a share of 0 there would
    hand the pixel back to the first label whatever the cut said.
    """
    total = rest.sum(dim=1, keepdim=True)
    even = torch.full_like(rest, 1.0 / rest.shape[1])
    return torch.where(total > 1e-6, rest / total.clamp_min(1e-6), even)


class HintedSegmentation(TwoStages, LayerDecomposition):
    """Hints, the two-stage schedule, compositing and export shared by the segmentation tasks.

    Args:
        generators: layer generators (``layer_names``, → 3 channels) and ``mask``.
        layer_names: the layer generators in label order (label 0 is the foreground).
        hint_names: the data module's hint for each layer, in the same order.
        hint_fraction: fraction of the step budget spent on stage 1.
        hint_keep: fraction of stage 2 during which the hint terms stay on.
        onehot_ramp: fraction of stage 2 over which the ``onehot`` weight ramps up.
        shared_layer_input: all layer generators start from the same input noise (the
            reference); they still get independent perturbations.
        reset_optimizer: reset Adam's moments when stage 2 begins.
        guided_radius: guided-filter radius for the final mask, in original-image pixels;
            None picks ``max(4, min(H, W) // 16)``.
        guided_eps: guided-filter regulariser.
        uniform_unhinted: in stage 1, pull the mask to 1/K where no hint is set (the reference);
            False fits the mask on hinted pixels only.
        refine: ``graph_cut`` or ``guided`` (see the module docstring).
        refine_options: keyword arguments of :func:`dipsys.ops.refine.refine_probability`
            (``prior_weight``, ``colour_weight``, ``edge_weight``, ``rounds``).
        **kwargs: the base class's (inputs, size, loss_weights, perturb, optimizer, ...).
    """

    #: the exported layer compared with ``data.gt_mask``
    label_layer = "mask"

    def __init__(
        self,
        generators: Mapping[str, nn.Module],
        layer_names: Sequence[str],
        hint_names: Sequence[str],
        hint_fraction: float = 1 / 3,
        hint_keep: float = 0.25,
        onehot_ramp: float = 0.25,
        shared_layer_input: bool = True,
        reset_optimizer: bool = True,
        guided_radius: int | None = None,
        guided_eps: float = 1e-4,
        uniform_unhinted: bool = True,
        refine: str = "guided",
        refine_options: Mapping[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        if refine not in REFINEMENTS:
            raise InputError(f"task.refine must be one of {', '.join(REFINEMENTS)}, got '{refine}'")
        if len(hint_names) != len(layer_names):
            raise InputError(
                f"{len(layer_names)} layers need as many hints, got {list(hint_names)}"
            )
        for name, value in (
            ("hint_fraction", hint_fraction),
            ("hint_keep", hint_keep),
            ("onehot_ramp", onehot_ramp),
        ):
            if not 0.0 <= value <= 1.0:
                raise InputError(f"task.{name} must lie in [0, 1], got {value}")
        super().__init__(generators=generators, **kwargs)
        self.layer_names, self.hint_names = list(layer_names), list(hint_names)
        if shared_layer_input:
            first = getattr(self, f"z_{self.layer_names[0]}")
            for name in self.layer_names[1:]:
                getattr(self, f"z_{name}").copy_(first)
        self.hint_fraction, self.hint_keep, self.onehot_ramp = hint_fraction, hint_keep, onehot_ramp
        self.reset_optimizer = reset_optimizer
        self.guided_radius, self.guided_eps = guided_radius, guided_eps
        self.uniform_unhinted = bool(uniform_unhinted)
        self.refine, self.refine_options = refine, dict(refine_options or {})
        self.set_schedule(1)

    @property
    def num_labels(self) -> int:
        return len(self.layer_names)

    # -- the two-stage schedule ---------------------------------------------------------------
    def set_schedule(self, total_steps: int) -> None:
        """Stage boundaries for a budget of ``total_steps``."""
        super().set_schedule(total_steps)
        stage2 = total_steps - self.split
        self.hint_end = self.split + round(self.hint_keep * stage2)
        self.ramp_steps = max(1, round(self.onehot_ramp * stage2))

    # -- the model ----------------------------------------------------------------------------
    def probabilities(self, layers: Mapping[str, Tensor]) -> Tensor:
        """The per-pixel label distribution, (n, K, h, w)."""
        raise NotImplementedError

    def onehot(self, layers: Mapping[str, Tensor]) -> Tensor:
        """The regulariser pushing the mask to one-hot values."""
        raise NotImplementedError

    def composite(self, layers: dict[str, Tensor]) -> Tensor:
        masks = self.probabilities(layers)
        stacked = torch.stack([layers[name] for name in self.layer_names], dim=1)
        return (masks[:, :, None] * stacked).sum(dim=1)

    def loss_terms(
        self, layers: dict[str, Tensor], recon: Tensor, batch: dict[str, Any]
    ) -> dict[str, Tensor]:
        step, target = batch["step"], batch["target"]
        hints = torch.cat([batch[f"aligned/hint_{name}"] for name in self.hint_names], 1)
        hints = hints.to(target)
        known = hints.sum(dim=1, keepdim=True).clamp(max=1.0)
        masks = self.probabilities(layers)
        zero = recon.new_zeros(())
        hinting = step < self.hint_end
        terms = {"hint_layers": zero, "hint_mask": zero, "recon": zero, "onehot": zero}
        if hinting:
            terms["hint_layers"] = sum(
                extended_l1(layers[name], target, hints[:, k : k + 1])
                for k, name in enumerate(self.layer_names)
            )
        if step < self.split:
            if self.uniform_unhinted:
                terms["hint_mask"] = F.l1_loss(masks, hints + (1 - known) / self.num_labels)
            else:
                terms["hint_mask"] = extended_l1(masks, hints, known)
            return terms
        if hinting:
            terms["hint_mask"] = extended_l1(masks, hints, known)
        terms["recon"] = F.l1_loss(recon, target)
        progress = min(1.0, (step - self.split) / self.ramp_steps)
        terms["onehot"] = self.onehot(layers) * (math.floor(10 * progress) / 10)
        return terms

    # -- results --------------------------------------------------------------------------------
    def original_hints(self) -> dict[str, Tensor]:
        """The hints at the original size (name → (1, H, W)); empty outside a fit."""
        trainer = getattr(self, "_trainer", None)
        datamodule = getattr(trainer, "datamodule", None) if trainer is not None else None
        return dict(getattr(datamodule, "hints", None) or {})

    def final_probabilities(self, original: Tensor, hints: Mapping[str, Tensor] | None = None):
        """Best mask probabilities at the original size, refined, (1, K, H, W).

        Args:
            original: the image, (3, H, W).
            hints: hint name → (1, H, W) at the original size (None: :meth:`original_hints`).
        """
        image = original[None].to(self.best["mask"])
        size = tuple(image.shape[-2:])
        masks = resize(self.probabilities(self.best), size, mode="bilinear").clamp(0, 1)
        if self.refine == "guided":
            radius = self.guided_radius or max(4, min(size) // 16)
            return guided_filter(image, masks, radius, self.guided_eps).clamp(0, 1)
        hints = self.original_hints() if hints is None else hints
        fg, bg = (hints.get(name) for name in (self.hint_names[0], self.hint_names[-1]))
        cut = refine_probability(original, masks[0, :1], fg, bg, **self.refine_options)
        # Soft output that thresholds at 0.5 exactly to the cut; the prior only breaks ties
        # where several such masks are combined (the three-layer system).
        first = (_CUT_SHARE * cut + (1 - _CUT_SHARE) * masks[0, :1]).to(masks)[None]
        return torch.cat([first, (1 - first) * _shares(masks[:, 1:])], dim=1)

    def _layers_at(self, size: tuple[int, int]) -> dict[str, Tensor]:
        return {name: resize(self.best[name], size)[0] for name in self.layer_names}

    def mask_metrics(self, estimate: Tensor, gt_mask: Tensor) -> dict[str, Any]:
        """IoU of an exported label image against the ground-truth mask / label map."""
        if self.num_labels == 2:
            return {"iou": round(binary_iou(estimate[0] > 0.5, gt_mask[0] > 0.5), 4)}
        predicted = (estimate[0] * (self.num_labels - 1)).round().long()
        truth = labels_from_gray(gt_mask)
        iou, _ = mean_iou(predicted, truth, max(self.num_labels, int(truth.max()) + 1))
        return {"iou": round(iou, 4)}

    def _label_image(self, labels: Tensor) -> Tensor:
        """Labels (H, W) → the exported image: the binary fg mask, or gray levels k/(K−1)."""
        if self.num_labels == 2:
            return (labels == 0).float()[None]
        return (labels.float() / (self.num_labels - 1))[None]

    def baselines(self, original: Tensor) -> dict[str, Tensor]:
        hints = self.trainer.datamodule.hints
        labels = grabcut(original, {name: hints[name] for name in self.hint_names})
        return {"grabcut": self._label_image(labels)}


class Segmentation(HintedSegmentation):
    """Double-DIP foreground/background segmentation.

    .. math:: I \\approx m \\cdot y_{fg} + (1 - m) \\cdot y_{bg}

    ``onehot`` is the reference's binary-mask regulariser 1 / (mean|m − 0.5| + ε).

    Args:
        generators: ``foreground``, ``background`` (→ 3 channels) and ``mask`` (→ 1 channel).
        hint_names: the hints of the foreground and the background layer (a three-layer system
            runs pairs such as ``[mg, bg]``).
        **kwargs: see :class:`HintedSegmentation`.

    Shape:
        - layers: ``foreground``, ``background`` (n, 3, h, w); ``mask`` (n, 1, h, w)
        - exported: the layers at the original size, ``mask`` (binary), ``mask_soft`` (the
          guided-filtered probability)
    """

    def __init__(
        self,
        generators: Mapping[str, nn.Module],
        hint_names: Sequence[str] = ("fg", "bg"),
        **kwargs: Any,
    ) -> None:
        missing = {"foreground", "background", "mask"} - set(generators)
        if missing:
            raise InputError(f"segmentation needs generators {sorted(missing)}")
        super().__init__(generators, ("foreground", "background"), hint_names, **kwargs)

    def probabilities(self, layers: Mapping[str, Tensor]) -> Tensor:
        mask = layers["mask"]
        return torch.cat([mask, 1 - mask], dim=1)

    def onehot(self, layers: Mapping[str, Tensor]) -> Tensor:
        return binary_mask_loss(layers["mask"])

    def export(self, original: Tensor) -> dict[str, Tensor]:
        masks = self.final_probabilities(original)
        labels = masks.argmax(dim=1)[0]
        return {
            **self._layers_at(tuple(original.shape[-2:])),
            "mask": self._label_image(labels),
            "mask_soft": masks[0, :1],
        }
