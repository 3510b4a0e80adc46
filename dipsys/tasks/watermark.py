"""Watermark removal with a bounding-box hint, in two stages inside one run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from dipsys.errors import InputError
from dipsys.losses.terms import extended_l1, std_loss
from dipsys.ops.compositing import overlay_watermark
from dipsys.ops.inpaint import inpaint
from dipsys.ops.metrics import image_metrics, masked_psnr
from dipsys.ops.resize import resize
from dipsys.ops.user_hints import box_mask
from dipsys.ops.watermark_polarity import remove_light_or_dark
from dipsys.ops.watermark_single import FULL_RATIO
from dipsys.tasks.base import LayerDecomposition
from dipsys.tasks.box_removal import MIN_BOX, BoxRemoval, paste_removal, pixel_box
from dipsys.tasks.stages import TwoStages

#: how the clean image inside the box is computed
REMOVALS = ("affine", "dip")


def check_bbox(bbox: Any) -> list[float]:
    """``[x0, y0, x1, y1]`` as four numbers with ``0 <= x0 < x1`` and ``0 <= y0 < y1``.

    Whether the box lies inside the image is checked where the image size is known (the data
    module reads the box against the original image).

    Raises:
        InputError: a missing, malformed, empty or negative box.
    """
    if bbox is None:
        raise InputError("watermark removal needs task.bbox=[x0,y0,x1,y1] (pixels of the image)")
    try:
        coords = [float(v) for v in bbox]
    except (TypeError, ValueError):
        coords = []
    if len(coords) != 4:
        raise InputError(f"task.bbox must be 4 numbers [x0,y0,x1,y1], got {bbox!r}")
    x0, y0, x1, y1 = coords
    if x1 <= x0 or y1 <= y0:
        raise InputError(f"task.bbox {coords} is empty: it needs x0 < x1 and y0 < y1")
    if x0 < 0 or y0 < 0:
        raise InputError(f"task.bbox {coords} lies outside the image (negative corner)")
    return coords


class Watermark(BoxRemoval, TwoStages, LayerDecomposition):
    """Watermark removal from one image and the watermark's bounding box ``h``: a light logo
    removed at full resolution (default), or the Double-DIP layers (``removal="dip"``).

    .. math:: I \\approx h M \\cdot W + (1 - h M) \\cdot C

    with the clean image ``C``, the watermark's colour layer ``W`` and its opacity ``M`` each
    from its own generator, and ``h`` the box (1 inside). The reference composites with
    ``(1 − M)·C``; ``(1 − hM)`` keeps the model exact outside the box.

    Two stages inside one run (the split is a fraction of the step budget):

    1. ``clean_outside`` = ExtL1(C, I, 1 − h) alone: C learns the image where no watermark is.
    2. ``clean_outside`` + ``recon`` = L1(Î, I): W and M explain what C cannot inside the box.
       Adam's moments are reset when stage 2 begins (the reference starts a new optimizer).
       Two regularisers (not in the reference) keep the image's own content out of the
       watermark: ``smooth_watermark`` = Std(W) (a watermark's colour layer is simple) and
       ``sparse_mask`` = mean(hM) (it covers few pixels).

    **The exported result** (``removal``):

    - ``"affine"`` (default): inside the box, the classical removal of a flat light or dark
      logo at the original resolution (:func:`dipsys.ops.watermark_single.remove_logo`:
      footprint ``F``, opacity ``a`` and colour ``L`` found blind, ``J = (I − aFL)/(1 − aF)``;
      a dark logo read on the negative where that reading is clearly surer, or where the
      light reading's outline leans away from white,
      :func:`dipsys.ops.watermark_polarity.remove_light_or_dark`), kept only where
      a check without ground truth says the logo's outline fades (else the input, with
      ``removal.kept_input`` in metrics.json); outside the box the input, untouched. ``mask``
      is ``a·F`` and ``watermark`` is ``L`` over the box. The DIPs' working-size layers do not
      enter it: on real photos under faint logos they do not explain the box
      (docs/results_watermark.md).
    - ``"dip"``: the best reconstruction of stage 2; the exported ``clean`` keeps the input
      wherever ``hM < keep_threshold`` (outside the box and between the watermark's strokes)
      and takes C, resized to the original size, elsewhere.

    Args:
        generators: ``clean``, ``watermark`` (→ 3 channels) and ``mask`` (→ 1 channel).
        bbox: ``[x0, y0, x1, y1]`` in pixels of the original image, end exclusive.
        box_name: the data module's box aligned with the target (``aligned/box_<name>``).
        hint_fraction: fraction of the step budget spent on stage 1.
        reset_optimizer: reset Adam's moments when stage 2 begins.
        keep_threshold: with ``removal="dip"``, the input is kept where the exported mask is
            below this.
        inpaint_radius: radius of the ``cv2.inpaint`` baseline.
        removal: ``"affine"`` or ``"dip"``, how the clean image inside the box is computed.
        removal_max_ratio: with ``"affine"``, the largest share of the logo's outline step the
            removal may leave before the input is kept.
        removal_full_ratio: with ``"affine"``, the largest share it may leave and still be
            applied at full strength; between the two the found opacity is scaled down
            linearly (:func:`dipsys.ops.watermark_single.removal_strength`).
        **kwargs: the base class's (inputs, size, loss_weights, perturb, optimizer, ...).

    Shape:
        - batch: ``target`` (n, 3, h, w) and ``aligned/box_<name>`` (n, 1, h, w)
        - layers: ``clean``, ``watermark`` (n, 3, h, w); ``mask`` (n, 1, h, w), = h·M
        - exported: ``clean``, ``watermark`` (3, H, W), ``mask`` (1, H, W), original size
    """

    gt_layer = "clean"

    def __init__(
        self,
        generators: Mapping[str, nn.Module],
        bbox: Sequence[float] | None,
        box_name: str = "watermark",
        hint_fraction: float = 4 / 11,
        reset_optimizer: bool = True,
        keep_threshold: float = 0.1,
        inpaint_radius: int = 5,
        removal: str = "affine",
        removal_max_ratio: float = 0.9,
        removal_full_ratio: float = FULL_RATIO,
        **kwargs: Any,
    ) -> None:
        missing = {"clean", "watermark", "mask"} - set(generators)
        if missing:
            raise InputError(f"watermark removal needs generators {sorted(missing)}")
        if not 0.0 <= hint_fraction < 1.0:
            raise InputError(f"task.hint_fraction must lie in [0, 1), got {hint_fraction}")
        self.bbox = check_bbox(bbox)
        if removal not in REMOVALS:
            raise InputError(f"task.removal must be one of {list(REMOVALS)}, got {removal!r}")
        self.removal_kind, self.removal_max_ratio = removal, float(removal_max_ratio)
        self.removal_full_ratio = float(removal_full_ratio)
        x0, y0, x1, y1 = pixel_box(self.bbox)
        if removal == "affine" and min(x1 - x0, y1 - y0) < MIN_BOX:
            raise InputError(
                f"task.bbox {self.bbox} is too small for the logo removal: {MIN_BOX}×{MIN_BOX} "
                "pixels or more (a few pixels of margin around the logo), or task.removal=dip"
            )
        super().__init__(generators=generators, **kwargs)
        self.box_key = f"aligned/box_{box_name}"
        self.box_name = box_name
        self.hint_fraction, self.reset_optimizer = float(hint_fraction), reset_optimizer
        self.keep_threshold, self.inpaint_radius = float(keep_threshold), int(inpaint_radius)
        self.set_schedule(1)

    # -- the two-stage schedule -----------------------------------------------------------------
    def setup(self, stage: str) -> None:
        box = self.trainer.datamodule.boxes.get(self.box_name)
        if box is None:
            raise InputError(f"the data module has no '{self.box_name}' box (data.boxes)")
        if bool(box.all()):
            raise InputError(
                f"task.bbox {self.bbox} covers the whole image: nothing outside it shows the "
                "clean image"
            )
        super().setup(stage)

    # -- the model ------------------------------------------------------------------------------
    def decompose(self, outputs: dict[str, Tensor], batch: dict[str, Any]) -> dict[str, Tensor]:
        hint = batch[self.box_key].to(outputs["mask"])
        return {
            "clean": outputs["clean"],
            "watermark": outputs["watermark"],
            "mask": hint * outputs["mask"],
        }

    def composite(self, layers: dict[str, Tensor]) -> Tensor:
        return overlay_watermark(layers["clean"], layers["watermark"], layers["mask"])

    def loss_terms(
        self, layers: dict[str, Tensor], recon: Tensor, batch: dict[str, Any]
    ) -> dict[str, Tensor]:
        target = batch["target"].to(recon)
        outside = 1 - batch[self.box_key].to(recon)
        terms = {"clean_outside": extended_l1(layers["clean"], target, outside)}
        stage2 = float(batch["step"] >= self.split)
        terms["recon"] = F.l1_loss(recon, target) * stage2
        terms["smooth_watermark"] = std_loss(layers["watermark"]) * stage2
        terms["sparse_mask"] = layers["mask"].mean() * stage2
        return terms

    # -- results --------------------------------------------------------------------------------
    def box(self, size: tuple[int, int]) -> Tensor:
        """The box as a (1, H, W) mask at ``size`` (the original image's)."""
        return box_mask(size, [self.bbox])

    def export(self, original: Tensor) -> dict[str, Tensor]:
        if self.removal_kind == "affine":
            return self.cached_export(original, self._affine_removal)
        size = tuple(original.shape[-2:])
        image = original[None].to(self.best["clean"])
        box = self.box(size).to(image)
        mask = resize(self.best["mask"], size, mode="bilinear").clamp(0, 1) * box
        clean = resize(self.best["clean"], size)
        keep = (mask < self.keep_threshold).to(image)
        result = keep * image + (1 - keep) * clean
        watermark = resize(self.best["watermark"], size)
        return {"clean": result[0], "watermark": watermark[0], "mask": mask[0]}

    def _affine_removal(self, original: Tensor) -> dict[str, Tensor]:
        """The light logo's removal inside the box at the original resolution; its record in
        ``self.removal``."""
        box = pixel_box(self.bbox)
        x0, y0, x1, y1 = box
        crop = original[:, y0:y1, x0:x1].permute(1, 2, 0).numpy()
        out = remove_light_or_dark(
            crop, max_ratio=self.removal_max_ratio, full_ratio=self.removal_full_ratio
        )
        clean, watermark, mask, self.removal = paste_removal(
            original[None], box, out, "given", self.removal_max_ratio
        )
        return {"clean": clean[0], "watermark": watermark, "mask": mask}

    def baselines(self, original: Tensor) -> dict[str, Tensor]:
        box = self.box(tuple(original.shape[-2:]))
        return {"inpaint": inpaint(original, box, radius=self.inpaint_radius)}

    def measure(self, estimate: Tensor, gt: Tensor) -> dict[str, float]:
        """PSNR/SSIM of the whole image and ``psnr_box``, the PSNR inside the box."""
        box = self.box(tuple(gt.shape[-2:]))
        return {**image_metrics(estimate, gt), "psnr_box": masked_psnr(estimate, gt, box)}
