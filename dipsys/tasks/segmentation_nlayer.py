"""K-layer segmentation: K layer generators and one K-channel softmax (multinomial) mask.

The stages, hints and full-resolution refinement are :class:`HintedSegmentation`'s (see
:mod:`dipsys.tasks.segmentation`); this module only adds the K layers and the softmax mask.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from dipsys.errors import InputError
from dipsys.losses.terms import onehot_loss
from dipsys.nn.noise import NoiseSpec
from dipsys.ops.hints import hint_names as default_hint_names
from dipsys.tasks.segmentation import HintedSegmentation


class SegmentationNLayer(HintedSegmentation):
    """K layers and a K-channel softmax (multinomial) mask.

    .. math::
        I \\approx \\sum_{k=0}^{K-1} m_k \\cdot y_k, \\qquad
        m = \\operatorname{softmax}(G_m(z_m))

    ``onehot`` is the mask's normalised entropy (see :func:`dipsys.losses.onehot_loss`). Label 0
    is the foreground (hint ``fg``), label K − 1 the background (``bg``).

    Args:
        layers: K >= 2.
        layer_generator: factory of one layer generator (→ 3 channels).
        mask_generator: factory of the mask generator, called with ``out_channels=K`` and
            ``sigmoid=False`` (the softmax is applied here).
        layer_input: NoiseSpec of the layer generators' inputs.
        mask_input: NoiseSpec of the mask generator's input.
        layer_perturb, mask_perturb: factors of σ_t for the layers' and the mask's inputs.
        **kwargs: see :class:`HintedSegmentation` (not ``generators``, ``inputs``, ``perturb``).

    Shape:
        - layers: ``layer<k>`` (n, 3, h, w); ``mask`` (n, K, h, w), summing to 1 over K
        - exported: ``layer<k>``, ``foreground`` (= layer0), ``background`` (= layer K−1),
          ``mask`` (label 0, binary) and ``labels`` (label k as gray level k/(K−1))
    """

    label_layer = "labels"

    def __init__(
        self,
        layers: int,
        layer_generator: Callable[[], nn.Module],
        mask_generator: Callable[..., nn.Module],
        layer_input: NoiseSpec,
        mask_input: NoiseSpec,
        layer_perturb: float = 1.0,
        mask_perturb: float = 1.0,
        **kwargs: Any,
    ) -> None:
        count = int(layers)
        if count < 2:
            raise InputError(f"task.layers must be at least 2, got {layers}")
        names = [f"layer{k}" for k in range(count)]
        generators = {name: layer_generator() for name in names}
        generators["mask"] = mask_generator(out_channels=count, sigmoid=False)
        inputs = {name: layer_input for name in names} | {"mask": mask_input}
        perturb = {name: layer_perturb for name in names} | {"mask": mask_perturb}
        hints = kwargs.pop("hint_names", None) or default_hint_names(count)
        super().__init__(generators, names, hints, inputs=inputs, perturb=perturb, **kwargs)

    def decompose(self, outputs: dict[str, Tensor], batch: dict[str, Any]) -> dict[str, Tensor]:
        layers = dict(outputs)
        layers["mask"] = torch.softmax(outputs["mask"].float(), dim=1)
        return layers

    def probabilities(self, layers: Mapping[str, Tensor]) -> Tensor:
        return layers["mask"]

    def onehot(self, layers: Mapping[str, Tensor]) -> Tensor:
        return onehot_loss(layers["mask"])

    def export(self, original: Tensor) -> dict[str, Tensor]:
        masks = self.final_probabilities(original)
        labels = masks.argmax(dim=1)[0]
        layers = self._layers_at(tuple(original.shape[-2:]))
        return {
            **layers,
            "foreground": layers[self.layer_names[0]],
            "background": layers[self.layer_names[-1]],
            "mask": (labels == 0).float()[None],
            "labels": self._label_image(labels),
        }
