"""Video decomposition: one generator per layer shared by every frame of a clip.

The frames of a clip are one batch (see :class:`~dipsys.data.video.VideoDataModule`), so a video
task is an image task whose generators run on T inputs at once. A *static* layer (a still
background, a fixed reflection) feeds the same code z to its generator for every frame; a
*drifting* generator gets one code per frame that changes gradually (Double-DIP, eq. 5):

.. math::
    z^{(i+1)} = z^{(i)} + \\Delta z^{(i)}, \\qquad
    \\Delta z^{(i)} \\sim \\rho \\cdot \\sqrt{12}\\,\\operatorname{std}(z^{(0)})
    \\cdot U(-\\tfrac12, \\tfrac12)

so each step's variance is ρ² times that of z^{(0)} (ρ = ``drift``, default 0.1): neighbouring
frames get nearly the same output, which makes the result temporally consistent.

:class:`VideoDecomposition` is a mixin placed before an image task in the bases: it builds the
per-frame codes, tracks the best step over all frames and exports frame by frame through the
image task's own ``export``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from dipsys.errors import InputError
from dipsys.ops.dihedral import dihedral, dihedral_inverse
from dipsys.ops.metrics import image_metrics


def drift_noise(first: Tensor, frames: int, drift: float, generator: torch.Generator) -> Tensor:
    """Per-frame codes ``z^{(0..T-1)}`` drifting from ``first`` (see the module docstring).

    Shape:
        - first: ``(1, D, h, w)``; output: ``(T, D, h, w)``
    """
    spread = float(first.std()) * 12**0.5
    steps = torch.rand((frames - 1, *first.shape[1:]), generator=generator) - 0.5
    offsets = torch.cumsum(steps * drift * spread, dim=0).to(first)
    return torch.cat([first, first + offsets])


def frame_mean(figures: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each key over per-frame figures."""
    return {key: round(sum(f[key] for f in figures) / len(figures), 4) for key in figures[0]}


class VideoDecomposition:
    """Mixin turning an image task into a video task (frames as the batch).

    Call :meth:`init_video` at the end of the concrete class's ``__init__``.
    """

    def init_video(self, frames: int | None, drifting: Iterable[str], drift: float) -> None:
        """Remember which generators drift; build their codes now if ``frames`` is known.

        Args:
            frames: T, or None to read it from the data module in ``setup``.
            drifting: generators with one gradually changing code per frame.
            drift: ρ, the per-frame step's std relative to the code's.
        """
        self.drifting = tuple(drifting)
        unknown = sorted(set(self.drifting) - set(self.generators))
        if unknown:
            raise InputError(f"task.drifting names unknown generator(s): {', '.join(unknown)}")
        if drift < 0:
            raise InputError(f"task.drift must be non-negative, got {drift}")
        self.drift, self.frames = float(drift), None
        if frames is not None:
            self._build_frame_codes(int(frames))

    def _build_frame_codes(self, frames: int) -> None:
        if frames < 1:
            raise InputError(f"a video needs at least one frame, got {frames}")
        if self.frames == frames:
            return
        gen = torch.Generator().manual_seed(self.seed + 7919)
        for name in self.drifting:
            first = getattr(self, f"z_{name}")[:1]
            setattr(self, f"z_{name}", drift_noise(first.cpu(), frames, self.drift, gen).to(first))
        self.frames = frames

    def setup(self, stage: str) -> None:
        self._build_frame_codes(self.trainer.datamodule.num_frames)
        super().setup(stage)

    def generator_code(self, name: str, ks: list[int]) -> Tensor:
        """Drifting generators: frame i's code under the clip's transform; else as the base.

        Shape:
            - output: ``(T, D, h', w')``, T = ``len(ks)`` (all k equal)
        """
        if name not in self.drifting:
            return super().generator_code(name, ks)
        z = dihedral(getattr(self, f"z_{name}"), ks[0])
        if z.shape[0] != len(ks):
            raise InputError(f"the task was built for {z.shape[0]} frames, the data has {len(ks)}")
        return z

    def _track_best(self, layers: dict[str, Tensor], recon: Tensor, batch: dict[str, Any]) -> None:
        """As the base, but the PSNR is over all frames and every frame's layers are kept."""
        mse = F.mse_loss(recon.clamp(0, 1), batch["target"].float())
        psnr = -10.0 * torch.log10(mse.clamp_min(1e-12))
        self.log(f"{self.log_prefix}psnr_recon", psnr)
        better = psnr > self.best_psnr
        self.best_psnr.copy_(torch.where(better, psnr, self.best_psnr))
        k = batch["k"][0]
        for name, layer in layers.items():
            canonical = dihedral_inverse(layer.float(), k)
            previous = self.best.get(name)
            self.best[name] = (
                canonical
                if previous is None
                else torch.where(better, canonical, previous.to(canonical))
            )

    def export(self, original: Tensor) -> dict[str, Tensor]:
        """The image task's export applied to each frame; name → (T, C, H, W)."""
        best, results = self.best, []
        try:
            for index, frame in enumerate(original):
                self.best = {name: x[index : index + 1] for name, x in best.items()}
                results.append(self.export_frame(frame))
        finally:
            self.best = best
        return {name: torch.stack([r[name] for r in results]) for name in results[0]}

    def export_frame(self, original: Tensor) -> dict[str, Tensor]:
        """One frame's final layers from ``self.best`` holding that frame only (default: the
        image task's ``export``).

        Shape:
            - original: ``(3, H, W)``; output: name → ``(C, H, W)``
        """
        return super().export(original)

    def measure(self, estimate: Tensor, truth: Tensor) -> dict[str, float]:
        """PSNR / SSIM averaged over frames.

        Shape:
            - estimate, truth: ``(T, 3, H, W)``
        """
        return frame_mean([image_metrics(e, t) for e, t in zip(estimate, truth, strict=True)])
