"""Watermark removal from several images that share one watermark, without a hint."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dipsys.errors import InputError
from dipsys.losses.terms import std_loss
from dipsys.nn.noise import NoiseSpec
from dipsys.ops.compositing import overlay_watermark
from dipsys.ops.resize import resize
from dipsys.ops.watermark_blind import checked_remove
from dipsys.ops.watermark_locate import locate_shared_watermark
from dipsys.ops.watermark_single import removal_of_whole_parts
from dipsys.tasks.base import LayerDecomposition
from dipsys.tasks.box_removal import MIN_BOX, BoxRemoval, paste_removal, pixel_box
from dipsys.tasks.watermark import check_bbox


class WatermarkMulti(BoxRemoval, LayerDecomposition):
    """N photos under the same watermark: one clean generator each, a shared W and M.

    .. math:: I_i \\approx M \\cdot W + (1 - M) \\cdot C_i, \\quad i = 1..N

    What all images share is explained by the watermark, what differs by the clean images; no
    box is needed. Loss terms: ``recon`` = Σ_i L1(Î_i, I_i); ``smooth_watermark`` = Std(W) and
    ``sparse_mask`` = mean(M) keep the photos' content out of the shared layers (not in the
    reference, whose loss is ``recon`` alone). The exported ``clean_<i>`` keeps the input where
    ``M < keep_threshold`` and takes C_i, resized to the original size, elsewhere.

    **With a box** (``bbox``, the same place in every image) the clean images are computed at
    the original resolution inside it, by the classical joint removal of a flat logo
    (:func:`dipsys.ops.watermark_blind.checked_remove` on the stack of the N crops): one
    footprint ``F``, opacity ``a`` and colour ``L`` shared by the images, found by a minimum
    cut whose pair costs are averaged over the images (the logo's outline, which every photo
    shows, adds up; each photo's own edges do not), then ``J_i = (I_i − a F L)/(1 − a F)``,
    with ``F`` the cut's connected parts that keep a core after its opening, taken whole with
    their thin strokes where their own check passes too
    (:func:`dipsys.ops.watermark_single.removal_of_whole_parts`).
    Of the two senses of the outline (a light logo over ``F`` or a dark one around it) the one
    whose outline fades more is taken; when even that one keeps more than ``removal_max_ratio``
    of the outline's step, the decomposition does not explain the box and the input is kept
    (``removal.kept_input`` in metrics.json). Outside the box the input is returned unchanged;
    ``mask`` is ``a·F`` and ``watermark`` is ``L`` over the box. The DIPs' working-size
    layers are not used then: on real photos under faint logos they do not explain the box
    (docs/results_watermark.md). With ``bbox="auto"`` the box is first found by
    :func:`dipsys.ops.watermark_locate.locate_shared_watermark` (the window of the stack whose
    joint cut saves the most energy per pixel); ``removal.box`` and ``removal.box_source``
    say where and how it came, and the same check keeps the input when it does not explain it.

    Args:
        clean_generator: factory of one clean-image generator (→ 3 channels), called per image.
        watermark_generator: factory of the watermark generator (→ 3 channels).
        mask_generator: factory of the opacity generator (→ 1 channel).
        clean_input: NoiseSpec of the clean generators' inputs.
        shared_input: NoiseSpec of the watermark's and the opacity's inputs.
        images: N, the number of input images (stacked on channels by the data module).
        keep_threshold: the input is kept where the exported opacity is below this.
        bbox: ``[x0, y0, x1, y1]`` around the watermark in every image (pixels, end exclusive,
            a few pixels of margin around the logo), ``"auto"`` to find it, or None (the DIP
            decomposition of the whole images).
        removal_max_ratio: with a box, the largest share of the outline's step the removal may
            leave before the input is kept.
        found_box_max_ratio: the same bound for a box found by ``bbox="auto"``: stricter, as a
            found box is no one's statement that a logo is there, and it is often several
            times the logo's size.
        clean_perturb, shared_perturb: factors of σ_t for those inputs (the reference perturbs
            the clean inputs only).
        **kwargs: the base class's (size, loss_weights, optimizer, select_every, seed).

    Shape:
        - batch ``target``: (n, 3N, h, w), image i on channels 3i .. 3i + 2
        - layers: ``clean_<i>`` (i = 1..N), ``watermark`` (n, 3, h, w); ``mask`` (n, 1, h, w)
        - exported: ``clean_<i>``, ``watermark`` (3, H, W) and ``mask`` (1, H, W)
    """

    gt_layer = "clean_1"

    def __init__(
        self,
        clean_generator: Callable[[], nn.Module],
        watermark_generator: Callable[[], nn.Module],
        mask_generator: Callable[[], nn.Module],
        clean_input: NoiseSpec,
        shared_input: NoiseSpec,
        images: int = 2,
        keep_threshold: float = 0.1,
        bbox: Sequence[float] | str | None = None,
        removal_max_ratio: float = 0.9,
        found_box_max_ratio: float = 0.8,
        clean_perturb: float = 1.0,
        shared_perturb: float = 0.0,
        **kwargs: Any,
    ) -> None:
        count = int(images)
        if count < 2:
            raise InputError(f"watermark_multi needs at least two images, got {images}")
        self.clean_names = [f"clean_{i}" for i in range(1, count + 1)]
        generators = {name: clean_generator() for name in self.clean_names}
        generators |= {"watermark": watermark_generator(), "mask": mask_generator()}
        inputs = {name: clean_input for name in self.clean_names}
        inputs |= {"watermark": shared_input, "mask": shared_input}
        perturb = {name: clean_perturb for name in self.clean_names}
        perturb |= {"watermark": shared_perturb, "mask": shared_perturb}
        super().__init__(generators=generators, inputs=inputs, perturb=perturb, **kwargs)
        self.images, self.keep_threshold = count, float(keep_threshold)
        #: ``bbox="auto"``: the box is found by :func:`locate_shared_watermark` at export
        self.locate = isinstance(bbox, str) and bbox == "auto"
        self.bbox = None if bbox is None or self.locate else check_bbox(bbox)
        self.removal_max_ratio = float(removal_max_ratio)
        self.found_box_max_ratio = float(found_box_max_ratio)

    def setup(self, stage: str) -> None:
        """The data must hold as many images as the task has clean generators."""
        held = self.trainer.datamodule.image.shape[0] // 3
        if held != self.images:
            raise InputError(f"the task models {self.images} images but the data holds {held}")
        height, width = self.trainer.datamodule.original.shape[-2:]
        if self.locate and min(height, width) < 32:
            raise InputError(
                f"task.bbox=auto needs images of 32 px a side or more: {width}×{height}"
            )
        if self.bbox is not None:
            x0, y0, x1, y1 = self.bbox
            if x1 > width or y1 > height:
                raise InputError(f"task.bbox {self.bbox} lies outside the {width}×{height} images")
            if x1 - x0 < MIN_BOX or y1 - y0 < MIN_BOX:
                raise InputError(
                    f"task.bbox {self.bbox} is too small: {MIN_BOX}×{MIN_BOX} pixels or more"
                )

    def composite(self, layers: dict[str, Tensor]) -> Tensor:
        watermark, mask = layers["watermark"], layers["mask"]
        return torch.cat(
            [overlay_watermark(layers[name], watermark, mask) for name in self.clean_names], dim=1
        )

    def loss_terms(
        self, layers: dict[str, Tensor], recon: Tensor, batch: dict[str, Any]
    ) -> dict[str, Tensor]:
        target = batch["target"].to(recon)
        pairs = zip(recon.split(3, dim=1), target.split(3, dim=1), strict=True)
        return {
            "recon": sum(F.l1_loss(estimate, image) for estimate, image in pairs),
            "smooth_watermark": std_loss(layers["watermark"]),
            "sparse_mask": layers["mask"].mean(),
        }

    def export(self, original: Tensor) -> dict[str, Tensor]:
        if self.bbox is not None or self.locate:
            # the joint classical removal inside the box, at the original resolution
            return self.cached_export(original, self._removal)
        size = tuple(original.shape[-2:])
        mask = resize(self.best["mask"], size, mode="bilinear").clamp(0, 1)
        keep = (mask < self.keep_threshold).to(mask)
        result = {"watermark": resize(self.best["watermark"], size)[0], "mask": mask[0]}
        for name, image in zip(self.clean_names, original.split(3, dim=0), strict=True):
            clean = resize(self.best[name], size)
            result[name] = (keep * image[None].to(mask) + (1 - keep) * clean)[0]
        return result

    def _removal(self, original: Tensor) -> dict[str, Tensor]:
        """Clean images, watermark colour and opacity map of the stacked ``original``;
        records what the removal found in ``self.removal``."""
        images = original.view(self.images, 3, *original.shape[-2:])
        source = "auto" if self.locate else "given"
        box = pixel_box(self.bbox) if not self.locate else self._found_box(images)
        if box is None:
            self.removal = {"kept_input": True, "box": None, "box_source": source}
            self.removal["kept_input_reason"] = "no shared watermark found"
            result = images.clone()
            watermark, mask = torch.zeros_like(images[0]), torch.zeros_like(images[0, :1])
        else:
            x0, y0, x1, y1 = box
            crops = images[:, :, y0:y1, x0:x1].permute(0, 2, 3, 1).numpy()
            max_ratio = self.found_box_max_ratio if self.locate else self.removal_max_ratio
            out = checked_remove(crops, max_ratio=max_ratio)
            chosen = out["blind"] if out["candidate"] != "rival" else out["blind"]["rival"]
            out = {**out, **{key: chosen[key] for key in ("footprint", "opacity", "colour")}}
            if not out["kept_input"]:
                out.update(removal_of_whole_parts(crops, chosen, max_ratio))
            result, watermark, mask, self.removal = paste_removal(
                images, box, out, source, max_ratio
            )
        layers = {name: result[i] for i, name in enumerate(self.clean_names)}
        return layers | {"watermark": watermark, "mask": mask}

    @staticmethod
    def _found_box(images: Tensor) -> list[int] | None:
        """The box :func:`locate_shared_watermark` finds in the stack, or None."""
        return locate_shared_watermark(images.permute(0, 2, 3, 1).numpy())
