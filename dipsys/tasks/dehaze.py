"""Dehazing as a Double-DIP decomposition: I = t·J + (1 − t)·A."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dipsys.errors import InputError
from dipsys.losses.terms import std_loss
from dipsys.ops.airlight import AIRLIGHT_ESTIMATORS
from dipsys.ops.airlight_map import banded_airlight_map
from dipsys.ops.dark_channel import dcp_dehaze
from dipsys.ops.dihedral import dihedral_stack
from dipsys.ops.guided_filter import guided_filter
from dipsys.ops.haze import add_haze, remove_haze
from dipsys.ops.nonlocal_dehaze import nonlocal_dehaze
from dipsys.ops.resize import resize
from dipsys.tasks.base import LayerDecomposition

AIRLIGHT_MODES = ("fixed", "learned", "banded")


class Dehaze(LayerDecomposition):
    """Clean image J, transmission t and airlight A from one hazy image I.

    Model: I ≈ t·J + (1 − t)·A, with J = G_J(z_J) (3 channels), t = G_t(z_t) (1 channel) and A
    either a fixed map whose colour may vary with the height (``banded``, the default:
    :func:`dipsys.ops.airlight_map.banded_airlight_map`, the estimate's colour unless bands of
    dense haze agree on another, as under a dusk sky), one fixed colour (``fixed``: the estimate,
    or given), or a learned, spatially varying map A = G_A(z_A) anchored to the estimate for the
    first ``anchor_steps`` steps.

    Loss terms (weights from ``loss_weights``): ``recon`` = MSE(Î, I), ``smooth_t`` = Std(t);
    learned A adds ``smooth_airlight`` = Std(A) and ``airlight_anchor`` = MSE(A, A₀); the
    transmission prior adds ``transmission_prior`` = MSE(t, t_DCP), where t_DCP is the dark
    channel prior's refined transmission of the working image under A₀.

    Why a transmission prior: the reconstruction alone is met equally well by many (t, J) pairs,
    and on synthetic haze with known layers the DIP's own t lands far from the truth (often below
    the plain dark-channel result). Pulling t towards t_DCP picks the physically plausible pair,
    and the DIP then corrects t where the dark-channel assumption fails (bright objects, sky).

    The result uses only t and A: t is resized to the original size, refined with a guided filter
    guided by the original image, clamped to [t_min, 1], and J = (I − (1 − t)·A) / t.

    Args:
        generators: ``clean`` (→3 channels) and ``transmission`` (→1 channel).
        airlight: ``banded``, ``fixed`` or ``learned``.
        airlight_generator: factory of the A-generator (→3 channels), used for ``learned``.
        airlight_value: A₀ as three numbers, or a (3, H, W) map (a system stage receiving the
            previous stage's A-map; resized to the working size); None estimates it with
            ``airlight_estimator`` on the original image when training starts.
        airlight_estimator: name in :data:`dipsys.ops.airlight.AIRLIGHT_ESTIMATORS`
            (``bounded``: the haziest region's colour, brightened until no dehazed pixel
            passes white; ``dark_channel``: brightest of the haziest pixels; ...); ``banded``
            takes its brightness and the colour its bands are pulled to from this estimate.
        anchor_steps: steps during which a learned A is pulled towards A₀.
        transmission_prior: add the ``transmission_prior`` loss term.
        transmission_steps: steps during which it applies (None: all steps).
        t_min: lower clamp of the refined transmission.
        guided_radius: guided-filter radius in original-image pixels; None picks
            ``max(4, min(H, W) // 16)``.
        guided_eps: guided-filter regulariser.
        **kwargs: the base class's (inputs, size, loss_weights, perturb, optimizer, ...).
    """

    gt_layer = "clean"

    def __init__(
        self,
        generators: Mapping[str, nn.Module],
        airlight: str = "banded",
        airlight_generator: Callable[[], nn.Module] | None = None,
        airlight_value: Sequence[float] | Tensor | None = None,
        airlight_estimator: str = "bounded",
        anchor_steps: int = 1000,
        transmission_prior: bool = False,
        transmission_steps: int | None = None,
        t_min: float = 0.1,
        guided_radius: int | None = None,
        guided_eps: float = 1e-4,
        **kwargs: Any,
    ) -> None:
        if airlight not in AIRLIGHT_MODES:
            raise InputError(f"task airlight must be one of {AIRLIGHT_MODES}, got '{airlight}'")
        if airlight_estimator not in AIRLIGHT_ESTIMATORS:
            raise InputError(
                f"task.module.airlight_estimator must be one of {', '.join(AIRLIGHT_ESTIMATORS)}, "
                f"got '{airlight_estimator}'"
            )
        generators = dict(generators)
        if airlight == "learned":
            if airlight_generator is None:
                raise InputError("airlight=learned needs an airlight_generator")
            generators["airlight"] = airlight_generator()
        super().__init__(generators=generators, **kwargs)
        self.airlight_mode = airlight
        self.estimate_airlight = AIRLIGHT_ESTIMATORS[airlight_estimator]
        self.register_buffer("airlight0", self._airlight_anchor(airlight_value))
        self.anchor_steps = int(anchor_steps)
        self.use_transmission_prior = transmission_prior
        self.transmission_steps = transmission_steps
        self.register_buffer("transmission_dcp", torch.ones(1, 1, *self.size))
        self.t_min, self.guided_radius, self.guided_eps = t_min, guided_radius, guided_eps

    def _airlight_anchor(self, value: Sequence[float] | Tensor | None) -> Tensor:
        """A₀ as (1, 3, 1, 1), or (1, 3, h, w) for a map; NaN when it is to be estimated."""
        if value is None:
            return torch.full((1, 3, 1, 1), float("nan"))
        if isinstance(value, Tensor) and value.dim() == 3 and value.shape[-2:] != (1, 1):
            if value.shape[0] != 3:
                raise InputError(f"an airlight map needs 3 channels, got {tuple(value.shape)}")
            return resize(value[None].float(), self.size, mode="bilinear").clamp(0, 1)
        flat = torch.as_tensor(value, dtype=torch.float32).flatten()
        if flat.numel() != 3:
            raise InputError(f"airlight_value needs 3 numbers, got {flat.tolist()}")
        return flat.view(1, 3, 1, 1)

    def setup(self, stage: str) -> None:
        """Estimate A₀ from the original image when it was not given."""
        if torch.isnan(self.airlight0).any():
            original = self.trainer.datamodule.original[None]
            estimate = self.estimate_airlight(original)
            if self.airlight_mode == "banded":
                banded = banded_airlight_map(original, estimate)  # broadcast along the width
                banded = resize(banded, self.size, mode="bilinear").contiguous()
                self.airlight0 = banded.to(self.airlight0)  # a buffer checkpoints load into
            else:
                self.airlight0 = estimate.to(self.airlight0)
        if self.use_transmission_prior:
            image = self.trainer.datamodule.image[None].to(self.airlight0)
            prior = dcp_dehaze(image, airlight=self.airlight0)["transmission"]
            self.transmission_dcp = prior.to(self.transmission_dcp)

    def decompose(self, outputs: dict[str, Tensor], batch: dict[str, Any]) -> dict[str, Tensor]:
        clean, transmission = outputs["clean"], outputs["transmission"]
        if self.airlight_mode == "learned":
            airlight = outputs["airlight"]
        else:
            airlight = self.oriented_airlight(batch).to(clean.dtype).expand_as(clean)
        return {"clean": clean, "transmission": transmission, "airlight": airlight}

    def oriented_airlight(self, batch: dict[str, Any]) -> Tensor:
        """A₀ (one colour or the banded map) in the batch's orientation, one per transform.

        Shape:
            - output: ``(n, 3, 1, 1)`` for one colour, ``(n, 3, h', w')`` for a map
        """
        return dihedral_stack(self.airlight0, batch["k"])

    def composite(self, layers: dict[str, Tensor]) -> Tensor:
        return add_haze(layers["clean"], layers["transmission"], layers["airlight"])

    def loss_terms(
        self, layers: dict[str, Tensor], recon: Tensor, batch: dict[str, Any]
    ) -> dict[str, Tensor]:
        terms = {
            "recon": F.mse_loss(recon, batch["target"]),
            "smooth_t": std_loss(layers["transmission"]),
        }
        if self.use_transmission_prior:
            prior = self.transmission_prior_target(batch).to(recon)
            active = self.transmission_steps is None or batch["step"] < self.transmission_steps
            terms["transmission_prior"] = F.mse_loss(layers["transmission"], prior) * float(active)
        if self.airlight_mode == "learned":
            airlight = layers["airlight"]
            terms["smooth_airlight"] = std_loss(airlight)
            anchor_map = self.oriented_airlight(batch).to(airlight).expand_as(airlight)
            anchor = F.mse_loss(airlight, anchor_map)
            terms["airlight_anchor"] = anchor * float(batch["step"] < self.anchor_steps)
        return terms

    def transmission_prior_target(self, batch: dict[str, Any]) -> Tensor:
        """t_DCP in the batch's orientation, one copy per transform of the batch."""
        return dihedral_stack(self.transmission_dcp, batch["k"])

    def export(self, original: Tensor) -> dict[str, Tensor]:
        image = original[None].to(self.best["transmission"])
        size = tuple(image.shape[-2:])
        radius = self.guided_radius or max(4, min(size) // 16)
        transmission = resize(self.best["transmission"], size)
        transmission = guided_filter(image, transmission, radius, self.guided_eps)
        transmission = transmission.clamp(self.t_min, 1.0)
        airlight = resize(self.best["airlight"], size).clamp(0, 1)
        clean = remove_haze(image, transmission, airlight, t_min=self.t_min)
        return {"clean": clean[0], "transmission": transmission[0], "airlight": airlight[0]}

    def baselines(self, original: Tensor) -> dict[str, Tensor]:
        """The dark channel prior and non-local (haze-lines) dehazing, both under the
        dark-channel airlight estimate."""
        dcp = dcp_dehaze(original[None])
        nonlocal_result = nonlocal_dehaze(original[None], dcp["airlight"])
        return {"dcp": dcp["clean"][0], "nonlocal": nonlocal_result["clean"][0]}
