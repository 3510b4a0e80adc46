"""Watermark removal from several images that share one watermark, without a hint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dipsys.errors import InputError
from dipsys.losses.terms import std_loss
from dipsys.nn.noise import NoiseSpec
from dipsys.ops.compositing import overlay_watermark
from dipsys.ops.resize import resize
from dipsys.tasks.base import LayerDecomposition


class WatermarkMulti(LayerDecomposition):
    """N photos under the same watermark: one clean generator each, a shared W and M.

    .. math:: I_i \\approx M \\cdot W + (1 - M) \\cdot C_i, \\quad i = 1..N

    What all images share is explained by the watermark, what differs by the clean images; no
    box is needed. Loss terms: ``recon`` = Σ_i L1(Î_i, I_i); ``smooth_watermark`` = Std(W) and
    ``sparse_mask`` = mean(M) keep the photos' content out of the shared layers (not in the
    reference, whose loss is ``recon`` alone). The exported ``clean_<i>`` keeps the input where
    ``M < keep_threshold`` and takes C_i, resized to the original size, elsewhere.

    Args:
        clean_generator: factory of one clean-image generator (→ 3 channels), called per image.
        watermark_generator: factory of the watermark generator (→ 3 channels).
        mask_generator: factory of the opacity generator (→ 1 channel).
        clean_input: NoiseSpec of the clean generators' inputs.
        shared_input: NoiseSpec of the watermark's and the opacity's inputs.
        images: N, the number of input images (stacked on channels by the data module).
        keep_threshold: the input is kept where the exported opacity is below this.
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

    def setup(self, stage: str) -> None:
        """The data must hold as many images as the task has clean generators."""
        held = self.trainer.datamodule.image.shape[0] // 3
        if held != self.images:
            raise InputError(f"the task models {self.images} images but the data holds {held}")

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
        size = tuple(original.shape[-2:])
        mask = resize(self.best["mask"], size, mode="bilinear").clamp(0, 1)
        keep = (mask < self.keep_threshold).to(mask)
        result = {"watermark": resize(self.best["watermark"], size)[0], "mask": mask[0]}
        for name, image in zip(self.clean_names, original.split(3, dim=0), strict=True):
            clean = resize(self.best[name], size)
            result[name] = (keep * image[None].to(mask) + (1 - keep) * clean)[0]
        return result
