"""Watermark removal with a bounding-box hint, in two stages inside one run, at full resolution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dipsys.errors import InputError
from dipsys.losses.terms import extended_l1, std_loss
from dipsys.ops.compositing import overlay_watermark
from dipsys.ops.hints import box_mask
from dipsys.ops.inpaint import inpaint
from dipsys.ops.metrics import image_metrics, masked_psnr
from dipsys.ops.watermark import place_window, removal_check
from dipsys.tasks.base import LayerDecomposition
from dipsys.tasks.stages import TwoStages


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


class Watermark(TwoStages, LayerDecomposition):
    """Double-DIP watermark removal from one image and the watermark's bounding box ``h``.

    .. math:: I \\approx h a S \\cdot W + (1 - h a S) \\cdot C

    with the clean image ``C``, the watermark's colour layer ``W`` and its shape ``S`` each from
    its own generator, and ``a`` one learned opacity (a real watermark is pasted with one
    opacity over its shape; the mask is ``M = h a S``). The generators see a window around the
    box at (or near) the original resolution (``data.window``); the context around the box
    anchors the clean layer there. The reference composites the whole image with ``(1 − M)·C``.

    Two stages inside one run (the split is a fraction of the step budget):

    1. ``clean_outside`` = ExtL1(C, I, 1 − h) alone: C learns the window's context.
    2. ``clean_outside`` + ``recon`` = L1(Î, I): W and M explain what C cannot inside the box.
       Adam's moments are reset when stage 2 begins (the reference starts a new optimizer).
       Regularisers (not in the reference) keep the photo's content out of the watermark:
       ``smooth_watermark`` = Std(W) (its colour layer is simple), ``sparse_mask`` = mean(M)
       (it covers few pixels; on M, not S, so that a small S under a large a costs as much as
       the same M from S = 1), ``binary_shape`` = mean(hS(1 − S)) (the opacity is constant
       over the shape, so S is 0 or 1). No term looks at the removal's
       edges: they are what the check below judges it by.

    The exported ``clean`` inverts the compositing at the original resolution, inside the box:
    ``C = (I − M W) / (1 − M)`` with M and W of the best reconstruction of stage 2, so the
    photo's texture under a semi-transparent watermark is kept (the clean generator's output is
    smooth). A check without ground truth (:func:`dipsys.ops.watermark.removal_check`) keeps
    the input in the box when the recovered watermark is absent or its removal does not lower
    the box's edge energy; ``kept_input`` and ``kept_input_reason`` in metrics.json say so.

    Args:
        generators: ``clean``, ``watermark`` (→ 3 channels) and ``mask`` (the shape, → 1).
        bbox: ``[x0, y0, x1, y1]`` in pixels of the original image, end exclusive.
        box_name: the data module's box aligned with the target (``aligned/box_<name>``).
        hint_fraction: fraction of the step budget spent on stage 1.
        reset_optimizer: reset Adam's moments when stage 2 begins.
        initial_opacity: ``a`` at the start.
        max_opacity: ``a`` lies in (0, max_opacity): the inversion divides by 1 − a.
        opacity_lr: learning rate of ``a`` (its own parameter group; the generators use the
            optimizer's).
        max_edge_ratio, min_opacity: the removal check's thresholds.
        inpaint_radius: radius of the ``cv2.inpaint`` baseline.
        **kwargs: the base class's (inputs, size, loss_weights, perturb, optimizer, ...).

    Shape:
        - batch: ``target`` (n, 3, h, w) and ``aligned/box_<name>`` (n, 1, h, w), the window
        - layers: ``clean``, ``watermark`` (n, 3, h, w); ``mask`` (n, 1, h, w), = h·a·S
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
        initial_opacity: float = 0.3,
        max_opacity: float = 0.9,
        opacity_lr: float = 0.01,
        max_edge_ratio: float = 1.0,
        min_opacity: float = 0.02,
        inpaint_radius: int = 5,
        **kwargs: Any,
    ) -> None:
        missing = {"clean", "watermark", "mask"} - set(generators)
        if missing:
            raise InputError(f"watermark removal needs generators {sorted(missing)}")
        if not 0.0 <= hint_fraction < 1.0:
            raise InputError(f"task.hint_fraction must lie in [0, 1), got {hint_fraction}")
        if not 0.0 < initial_opacity < max_opacity < 1.0:
            raise InputError(
                f"task opacities need 0 < initial_opacity < max_opacity < 1, got "
                f"{initial_opacity} and {max_opacity}"
            )
        self.bbox = check_bbox(bbox)
        super().__init__(generators=generators, **kwargs)
        self.box_key = f"aligned/box_{box_name}"
        self.box_name = box_name
        self.hint_fraction, self.reset_optimizer = float(hint_fraction), reset_optimizer
        self.max_opacity, self.opacity_lr = float(max_opacity), float(opacity_lr)
        logit = torch.logit(torch.tensor(float(initial_opacity) / self.max_opacity))
        self.opacity_logit = nn.Parameter(logit)
        self.max_edge_ratio, self.min_opacity = float(max_edge_ratio), float(min_opacity)
        self.inpaint_radius = int(inpaint_radius)
        self.window: tuple[int, int, int, int] | None = None
        self.check: dict[str, Any] = {}
        self.set_schedule(1)

    # -- the two-stage schedule -----------------------------------------------------------------
    def setup(self, stage: str) -> None:
        dm = self.trainer.datamodule
        box = dm.boxes.get(self.box_name)
        if box is None:
            raise InputError(f"the data module has no '{self.box_name}' box (data.boxes)")
        if bool(box.all()) or bool(dm.aligned[f"box_{self.box_name}"].all()):
            raise InputError(
                f"task.bbox {self.bbox} covers the whole image (or window): nothing outside it "
                "shows the clean image"
            )
        self.window = tuple(getattr(dm, "window", None) or (0, 0, *box.shape[-1:-3:-1]))
        super().setup(stage)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        generators = [p for p in self.parameters() if p is not self.opacity_logit]
        return self.optimizer_factory(
            [{"params": generators}, {"params": [self.opacity_logit], "lr": self.opacity_lr}]
        )

    # -- the model ------------------------------------------------------------------------------
    @property
    def opacity(self) -> Tensor:
        """The watermark's opacity ``a`` in (0, max_opacity)."""
        return self.max_opacity * torch.sigmoid(self.opacity_logit)

    def decompose(self, outputs: dict[str, Tensor], batch: dict[str, Any]) -> dict[str, Tensor]:
        hint = batch[self.box_key].to(outputs["mask"])
        shape = hint * outputs["mask"]
        return {
            "clean": outputs["clean"],
            "watermark": outputs["watermark"],
            "shape": shape,
            "mask": self.opacity.to(shape) * shape,
        }

    def composite(self, layers: dict[str, Tensor]) -> Tensor:
        return overlay_watermark(layers["clean"], layers["watermark"], layers["mask"])

    def loss_terms(
        self, layers: dict[str, Tensor], recon: Tensor, batch: dict[str, Any]
    ) -> dict[str, Tensor]:
        target = batch["target"].to(recon)
        outside = 1 - batch[self.box_key].to(recon)
        shape = layers["shape"]
        terms = {"clean_outside": extended_l1(layers["clean"], target, outside)}
        stage2 = float(batch["step"] >= self.split)
        terms["recon"] = F.l1_loss(recon, target) * stage2
        terms["smooth_watermark"] = std_loss(layers["watermark"]) * stage2
        terms["sparse_mask"] = layers["mask"].mean() * stage2
        terms["binary_shape"] = (shape * (1 - shape)).mean() * stage2
        return terms

    # -- results --------------------------------------------------------------------------------
    def box(self, size: tuple[int, int]) -> Tensor:
        """The box as a (1, H, W) mask at ``size`` (the original image's)."""
        return box_mask(size, [self.bbox])

    def export(self, original: Tensor) -> dict[str, Tensor]:
        size = tuple(original.shape[-2:])
        window = self.window or (0, 0, size[1], size[0])
        image = original[None].to(self.best["clean"])
        box = self.box(size)[None].to(image)
        mask = place_window(self.best["mask"], window, size).clamp(0, 1) * box
        watermark = place_window(self.best["watermark"], window, size)
        clean, figures, reason = removal_check(
            image, watermark, mask, box, self.max_edge_ratio, self.min_opacity
        )
        self.check = {
            "kept_input": bool(reason),
            "kept_input_reason": reason,
            "opacity": round(float(self.opacity.detach()), 4),
            "window": list(window),
            **figures,
        }
        return {"clean": clean[0], "watermark": watermark[0], "mask": mask[0]}

    def report(self, layers: dict[str, Tensor], datamodule: Any) -> dict[str, Any]:
        """Whether the input was kept in the box (and why), the opacity, the check's figures."""
        return dict(self.check)

    def baselines(self, original: Tensor) -> dict[str, Tensor]:
        box = self.box(tuple(original.shape[-2:]))
        return {"inpaint": inpaint(original, box, radius=self.inpaint_radius)}

    def measure(self, estimate: Tensor, gt: Tensor) -> dict[str, float]:
        """PSNR/SSIM of the whole image and ``psnr_box``, the PSNR inside the box."""
        box = self.box(tuple(gt.shape[-2:]))
        return {**image_metrics(estimate, gt), "psnr_box": masked_psnr(estimate, gt, box)}
