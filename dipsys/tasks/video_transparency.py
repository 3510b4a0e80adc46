"""Video transparency separation: a moving transmission behind a static reflection."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from dipsys.losses.terms import exclusion_loss
from dipsys.nn.noise import NoiseSpec
from dipsys.ops.compositing import alpha_blend, check_alpha_range, mixing_weight
from dipsys.ops.resize import resize
from dipsys.tasks.base import LayerDecomposition
from dipsys.tasks.video import VideoDecomposition


class VideoTransparency(VideoDecomposition, LayerDecomposition):
    """Double-DIP video transparency (paper eq. 7).

    .. math::
        I^{(i)} \\approx \\alpha^{(i)} \\cdot y_1^{(i)} + (1 - \\alpha^{(i)}) \\cdot y_2,
        \\qquad \\alpha^{(i)} = low + (high - low) \\cdot G_\\alpha(z_\\alpha^{(i)})[H/2, W/2]

    ``layer1`` (the moving transmission, ``y_1^{(i)} = G_1(z_1^{(i)})``) and the opacity get a
    drifting code per frame; ``layer2`` (the static reflection) one code for all frames, so it
    is one image. The opacity is one number per frame (the centre pixel of its generator's
    output), so the reflection's strength may vary over time. What moves goes to ``layer1``,
    what stays to ``layer2``: the frames themselves resolve the layer ambiguity.

    Loss terms: ``recon`` = MSE(Î, I) over all frames, ``exclusion`` = Exclusion(y1, y2),
    ``alpha_prior`` = mean_i (α^{(i)} − ½)² for the first ``alpha_prior_steps`` steps. The
    shipped config weighs ``exclusion`` 0: what separates the layers is that ``layer2`` must be
    one image for every frame while the transmission moves, and the exclusion term, taken
    between each frame and the one reflection, drew the reflection towards a flat image. A short
    ``alpha_prior`` (300 steps) starts the opacities at ½ and then lets them follow the frames.

    Export (``solve_layers``): the reflection is the generator's (resized); the transmission
    of frame i is solved from the frame at full resolution,
    ``y_1 = clip((I − (1 − α)·y_2) / α)``; without it, the generator's frame, resized.

    Args:
        layer_generator: factory of a layer generator (→ 3 channels), called twice.
        alpha_generator: factory of the opacity generator (→ 1 channel).
        layer_input, alpha_input: NoiseSpecs of the generators' first codes.
        frames: T (None: the data module's count).
        drifting: generators with one drifting code per frame.
        drift: ρ, the per-frame code step relative to the code (module :mod:`dipsys.tasks.video`).
        alpha_range: ``(low, high)`` of the opacities.
        alpha_prior_steps: steps during which ``alpha_prior`` applies.
        layer_perturb, alpha_perturb: factors of σ_t for the layers' and opacity's inputs.
        solve_layers: export the transmission solved from the frames (see above).
        **kwargs: the base class's (size, loss_weights, optimizer, select_every, seed).

    Shape:
        - batch ``target``: (T, 3, h, w); layers: ``layer1``, ``layer2`` (T, 3, h, w),
          ``alpha`` (T, 1, h, w), constant per frame
        - exported: ``layer1``, ``layer2`` (T, 3, H, W)
    """

    gt_layer = "layer1"

    def __init__(
        self,
        layer_generator: Callable[[], nn.Module],
        alpha_generator: Callable[[], nn.Module],
        layer_input: NoiseSpec,
        alpha_input: NoiseSpec,
        frames: int | None = None,
        drifting: Iterable[str] = ("layer1", "alpha"),
        drift: float = 0.1,
        alpha_range: Sequence[float] = (0.05, 0.95),
        alpha_prior_steps: int = 300,
        layer_perturb: float = 1.0,
        alpha_perturb: float = 1.0,
        solve_layers: bool = True,
        **kwargs: Any,
    ) -> None:
        low, high = check_alpha_range(alpha_range)
        generators = {"layer1": layer_generator(), "layer2": layer_generator()}
        generators["alpha"] = alpha_generator()
        inputs = {"layer1": layer_input, "layer2": layer_input, "alpha": alpha_input}
        perturb = {"layer1": layer_perturb, "layer2": layer_perturb, "alpha": alpha_perturb}
        super().__init__(generators=generators, inputs=inputs, perturb=perturb, **kwargs)
        self.alpha_range = (low, high)
        self.alpha_prior_steps = int(alpha_prior_steps)
        self.solve_layers = bool(solve_layers)
        self.init_video(frames, drifting, drift)

    def decompose(self, outputs: dict[str, Tensor], batch: dict[str, Any]) -> dict[str, Tensor]:
        height, width = outputs["layer1"].shape[-2:]
        alpha = mixing_weight(outputs["alpha"].float(), *self.alpha_range)
        return {
            "layer1": outputs["layer1"],
            "layer2": outputs["layer2"],
            "alpha": alpha.expand(-1, -1, height, width),
        }

    def composite(self, layers: dict[str, Tensor]) -> Tensor:
        return alpha_blend(layers["layer1"], layers["layer2"], layers["alpha"][..., :1, :1])

    def loss_terms(
        self, layers: dict[str, Tensor], recon: Tensor, batch: dict[str, Any]
    ) -> dict[str, Tensor]:
        alpha = layers["alpha"][:, 0, 0, 0]
        early = float(batch["step"] < self.alpha_prior_steps)
        return {
            "recon": F.mse_loss(recon, batch["target"].to(recon)),
            "exclusion": exclusion_loss(layers["layer1"], layers["layer2"]),
            "alpha_prior": (alpha - 0.5).pow(2).mean() * early,
        }

    def export_frame(self, original: Tensor) -> dict[str, Tensor]:
        """One frame's layers (the video mixin's ``export`` calls it with that frame's best).

        Shape:
            - original: ``(3, H, W)``; output: ``layer1``, ``layer2`` ``(3, H, W)``
        """
        size = tuple(original.shape[-2:])
        reflection = resize(self.best["layer2"], size)[0].clamp(0, 1)
        if not self.solve_layers:
            return {
                "layer1": resize(self.best["layer1"], size)[0].clamp(0, 1),
                "layer2": reflection,
            }
        alpha = self.best["alpha"][0, 0, 0, 0]
        image = original.to(reflection)
        transmission = ((image - (1 - alpha) * reflection) / alpha).clamp(0, 1)
        return {"layer1": transmission, "layer2": reflection}

    def report(self, layers: dict[str, Tensor], datamodule: Any) -> dict[str, Any]:
        """Per-frame opacities; with ``data.gt2`` the reflection's ``psnr2`` and ``ssim2``."""
        figures: dict[str, Any] = {
            "frames": int(datamodule.num_frames),
            "alpha": [round(float(a), 4) for a in self.best["alpha"][:, 0, 0, 0]],
        }
        if getattr(datamodule, "gt2", None) is not None:
            scores = self.measure(layers["layer2"], datamodule.gt2)
            figures |= {f"{key}2": value for key, value in scores.items()}
        return figures
