"""Transparency separation: N mixtures of the same two layers, one opacity per mixture."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dipsys.errors import InputError
from dipsys.losses.terms import exclusion_loss
from dipsys.nn.noise import NoiseSpec
from dipsys.ops.compositing import (
    alpha_blend,
    check_alpha_range,
    mixing_weight,
    solve_mixtures,
)
from dipsys.ops.metrics import image_metrics
from dipsys.ops.resize import resize
from dipsys.tasks.base import LayerDecomposition

LAYERS = ("layer1", "layer2")


class Transparency(LayerDecomposition):
    """Two layers seen through N mixtures (Double-DIP transparency separation).

    .. math::
        I_i \\approx \\alpha_i \\cdot y_1 + (1 - \\alpha_i) \\cdot y_2, \\qquad
        \\alpha_i = low + (high - low) \\cdot G_{\\alpha_i}(z_{\\alpha_i})[H/2, W/2]

    The layers ``y1 = G_1(z_1)`` and ``y2 = G_2(z_2)`` are shared by every mixture; each mixture
    has its own opacity generator, of whose output only the centre pixel is used, so
    ``α_i ∈ (low, high)`` is one number per image. N = 1 is the single-mixture task: the same
    equations, but nothing in the data separates ``α`` from the layers' contrast, so the
    exclusion term alone decides the split.

    Loss terms (weights from ``loss_weights``): ``recon`` = Σ_i MSE(Î_i, I_i), ``exclusion`` =
    Exclusion(y1, y2) (layers should not share edges), ``alpha_prior`` = Σ_i MSE(α_i, ½) for
    the first ``alpha_prior_steps`` steps (keeps both layers in play early on).

    Export: with two or more mixtures whose learned opacities differ by at least
    ``min_alpha_gap``, the exported layers solve the mixing equations at the original resolution
    for those opacities (:func:`~dipsys.ops.compositing.solve_mixtures`), so they keep the
    inputs' full detail; the generators' layers, resized, otherwise (one mixture, or
    ``solve_layers=False``). ``metrics.json`` says which (``layers_from``).

    Which layer is "layer1" is arbitrary: swapping the layers and every ``α_i → 1 − α_i`` gives
    the same mixtures. Figures against ground truth (``report``) therefore use the better of
    the two assignments and say which (``assignment``: ``direct`` or ``swapped``).

    Args:
        layer_generator: factory of one layer generator (→ 3 channels), called twice.
        alpha_generator: factory of one opacity generator (→ 1 channel), called per mixture.
        layer_input: NoiseSpec of the layer generators' inputs.
        alpha_input: NoiseSpec of the opacity generators' inputs.
        mixtures: N, the number of input images (the data module stacks them on channels).
        alpha_range: ``(low, high)``, the range the opacities are mapped to.
        alpha_prior_steps: steps during which ``alpha_prior`` applies.
        layer_perturb, alpha_perturb: factors of σ_t for the layers' and opacities' inputs.
        solve_layers: export the layers solved from the mixtures (see above).
        min_alpha_gap: smallest spread of the opacities for which they are solved.
        **kwargs: the base class's (size, loss_weights, optimizer, select_every, seed).

    Shape:
        - batch ``target``: (n, 3N, h, w), mixture i on channels 3i .. 3i + 2
        - layers: ``layer1``, ``layer2`` (n, 3, h, w); ``alpha`` (n, N, h, w), constant per
          channel (α_i broadcast, so it shows as an image)
        - reconstruction: (n, 3N, h, w)
        - exported: ``layer1``, ``layer2`` (3, H, W) at the original size
    """

    gt_layer = "layer1"

    def __init__(
        self,
        layer_generator: Callable[[], nn.Module],
        alpha_generator: Callable[[], nn.Module],
        layer_input: NoiseSpec,
        alpha_input: NoiseSpec,
        mixtures: int = 1,
        alpha_range: Sequence[float] = (0.05, 0.95),
        alpha_prior_steps: int = 1000,
        layer_perturb: float = 1.0,
        alpha_perturb: float = 1.0,
        solve_layers: bool = True,
        min_alpha_gap: float = 0.05,
        **kwargs: Any,
    ) -> None:
        count = int(mixtures)
        if count < 1:
            raise InputError(f"transparency needs at least one mixture, got {mixtures}")
        low, high = check_alpha_range(alpha_range)
        alphas = [f"alpha{i}" for i in range(1, count + 1)]
        generators = {name: layer_generator() for name in LAYERS}
        generators |= {name: alpha_generator() for name in alphas}
        inputs = {name: layer_input for name in LAYERS} | {name: alpha_input for name in alphas}
        perturb = {name: layer_perturb for name in LAYERS}
        perturb |= {name: alpha_perturb for name in alphas}
        super().__init__(generators=generators, inputs=inputs, perturb=perturb, **kwargs)
        self.mixtures, self.alpha_names = count, alphas
        self.alpha_range = (low, high)
        self.alpha_prior_steps = int(alpha_prior_steps)
        self.solve_layers, self.min_alpha_gap = bool(solve_layers), float(min_alpha_gap)
        self.layers_from = "generators"

    def setup(self, stage: str) -> None:
        """The data must hold as many images as the task has opacities."""
        images = self.trainer.datamodule.image.shape[0] // 3
        if images != self.mixtures:
            raise InputError(
                f"the task models {self.mixtures} mixture(s) but the data holds {images} image(s)"
            )

    # -- the model ----------------------------------------------------------------------------
    def decompose(self, outputs: dict[str, Tensor], batch: dict[str, Any]) -> dict[str, Tensor]:
        height, width = outputs["layer1"].shape[-2:]
        alpha = torch.cat(
            [mixing_weight(outputs[name].float(), *self.alpha_range) for name in self.alpha_names],
            dim=1,
        )
        return {
            "layer1": outputs["layer1"],
            "layer2": outputs["layer2"],
            "alpha": alpha.expand(-1, -1, height, width),
        }

    def composite(self, layers: dict[str, Tensor]) -> Tensor:
        alpha = layers["alpha"][..., :1, :1]  # (n, N, 1, 1)
        return torch.cat(
            [
                alpha_blend(layers["layer1"], layers["layer2"], alpha[:, i : i + 1])
                for i in range(self.mixtures)
            ],
            dim=1,
        )

    def loss_terms(
        self, layers: dict[str, Tensor], recon: Tensor, batch: dict[str, Any]
    ) -> dict[str, Tensor]:
        target = batch["target"].to(recon)
        pairs = zip(recon.split(3, dim=1), target.split(3, dim=1), strict=True)
        alpha = layers["alpha"][..., 0, 0]  # (n, N)
        early = float(batch["step"] < self.alpha_prior_steps)
        return {
            "recon": sum(F.mse_loss(estimate, image) for estimate, image in pairs),
            "exclusion": exclusion_loss(layers["layer1"], layers["layer2"]),
            "alpha_prior": (alpha - 0.5).pow(2).mean(dim=0).sum() * early,
        }

    # -- results --------------------------------------------------------------------------------
    def alphas(self) -> list[float]:
        """The opacities α_i of the best step (of ``layer1`` in mixture i)."""
        return [round(float(a), 4) for a in self.best["alpha"][0, :, 0, 0]]

    def export(self, original: Tensor) -> dict[str, Tensor]:
        alphas = self.best["alpha"][0, :, 0, 0]
        gap = float(alphas.max() - alphas.min()) if self.mixtures > 1 else 0.0
        if self.solve_layers and gap >= self.min_alpha_gap:
            mixtures = torch.stack(original.to(alphas).split(3, dim=0))
            layer1, layer2 = solve_mixtures(mixtures, alphas)
            self.layers_from = "solved"
            return {"layer1": layer1, "layer2": layer2}
        self.layers_from = "generators"
        size = tuple(original.shape[-2:])
        return {name: resize(self.best[name], size)[0].clamp(0, 1) for name in LAYERS}

    def report(self, layers: dict[str, Tensor], datamodule: Any) -> dict[str, Any]:
        """Estimated opacities; with ground truth, both layers' figures under the better
        assignment (``data.gt`` is layer 1's ground truth, ``data.gt2`` layer 2's)."""
        figures: dict[str, Any] = {"alpha": self.alphas(), "layers_from": self.layers_from}
        truths = (getattr(datamodule, "gt", None), getattr(datamodule, "gt2", None))
        if all(truth is None for truth in truths):
            return figures
        direct = _scores((layers["layer1"], layers["layer2"]), truths)
        swapped = _scores((layers["layer2"], layers["layer1"]), truths)
        better = "swapped" if _total(swapped) > _total(direct) else "direct"
        figures.update(swapped if better == "swapped" else direct)
        figures["assignment"] = better
        return figures


def _scores(estimates: tuple[Tensor, Tensor], truths: tuple[Tensor | None, ...]) -> dict:
    """psnr/ssim of the first estimate vs the first truth, psnr2/ssim2 of the second."""
    figures: dict[str, float] = {}
    for suffix, estimate, truth in zip(("", "2"), estimates, truths, strict=True):
        if truth is not None:
            scores = image_metrics(estimate, truth)
            figures |= {f"{key}{suffix}": value for key, value in scores.items()}
    return figures


def _total(figures: dict[str, float]) -> float:
    return figures.get("psnr", 0.0) + figures.get("psnr2", 0.0)
