"""Video dehazing: Double-DIP dehazing over a clip, one airlight for all frames."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from dipsys.errors import InputError
from dipsys.ops.dark_channel import dark_channel, dcp_dehaze
from dipsys.ops.dihedral import dihedral
from dipsys.tasks.dehaze import Dehaze
from dipsys.tasks.video import VideoDecomposition


class VideoDehaze(VideoDecomposition, Dehaze):
    """Clean frames, transmissions and one airlight from a hazy clip.

    .. math:: I^{(i)} \\approx t^{(i)} \\cdot J^{(i)} + (1 - t^{(i)}) \\cdot A

    ``J^{(i)} = G_J(z_J^{(i)})`` and ``t^{(i)} = G_t(z_t^{(i)})``; generators in ``drifting`` (by
    default both, so the scene and the haze may change) get a gradually changing code per
    frame, the others one code for all frames (``drifting=[transmission]`` for a still scene).
    A₀, when not given, is the ``airlight_estimator``'s airlight of the haziest frame (largest
    mean dark channel): every estimate is least sure where the haze is thin, and the clip shares
    one A. (Choosing the frame whose estimate is brightest instead served the dark-channel
    estimator, which thin haze biases low; the bounded one is raised there, not lowered.)
    The transmission prior is each frame's dark-channel transmission under A₀. Loss terms and the
    per-frame export (guided filter, J = (I − (1 − t)·A) / t) are
    :class:`~dipsys.tasks.dehaze.Dehaze`'s; the baseline is the dark channel prior per frame.

    Args:
        generators: ``clean`` and ``transmission``.
        frames: T (None: the data module's count).
        drifting: generators with one drifting code per frame.
        drift: ρ, the per-frame code step relative to the code (module :mod:`dipsys.tasks.video`).
        **kwargs: :class:`~dipsys.tasks.dehaze.Dehaze`'s.

    Shape:
        - batch ``target``: (T, 3, h, w); layers: ``clean``, ``airlight`` (T, 3, h, w),
          ``transmission`` (T, 1, h, w)
        - exported: each layer (T, C, H, W) at the original size
    """

    def __init__(
        self,
        generators: Mapping[str, nn.Module],
        frames: int | None = None,
        drifting: Iterable[str] = ("clean", "transmission"),
        drift: float = 0.1,
        **kwargs: Any,
    ) -> None:
        if kwargs.setdefault("airlight", "fixed") == "banded":
            raise InputError(
                "video_dehaze takes one airlight colour: task.module.airlight=banded is for "
                "images (use fixed or learned)"
            )
        super().__init__(generators, **kwargs)
        self.init_video(frames, drifting, drift)

    def setup(self, stage: str) -> None:
        """Per-frame codes, A₀ (the haziest frame's estimate), per-frame transmission prior."""
        self._build_frame_codes(self.trainer.datamodule.num_frames)
        if torch.isnan(self.airlight0).any():
            frames = self.trainer.datamodule.original  # (T, 3, H, W)
            haziest = int(dark_channel(frames.float()).mean(dim=(1, 2, 3)).argmax())
            estimate = self.estimate_airlight(frames[haziest : haziest + 1])  # (1, 3, 1, 1)
            self.airlight0 = estimate.to(self.airlight0)
        if self.use_transmission_prior:
            frames = self.trainer.datamodule.image.to(self.airlight0)
            airlight = self.airlight0.expand(frames.shape[0], -1, -1, -1)
            self.transmission_dcp = dcp_dehaze(frames, airlight=airlight)["transmission"]

    def transmission_prior_target(self, batch: dict[str, Any]) -> Tensor:
        """Each frame's t_DCP under the batch's one transform (the frames are the batch)."""
        return dihedral(self.transmission_dcp, batch["k"][0])

    def baselines(self, original: Tensor) -> dict[str, Tensor]:
        return {"dcp": dcp_dehaze(original)["clean"]}

    def report(self, layers: dict[str, Tensor], datamodule: Any) -> dict[str, Any]:
        return {"frames": int(datamodule.num_frames), "airlight": self.airlight0.flatten().tolist()}
