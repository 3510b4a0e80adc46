"""Best-result tracking of a decomposition task, and the checkpoint that carries it.

Every ``select_every`` steps (and on the last step), when the task's ``selectable(step)``
allows it, the reconstruction PSNR of batch element 0 is compared with the best so far, on the
device with ``torch.where`` (no host synchronisation); the canonical-orientation layers of the
best step are kept in ``best`` and saved with every Lightning checkpoint, so a resumed run
exports the best result of the whole run.

.. math:: \\mathrm{PSNR} = -10 \\log_{10}
    \\overline{(\\operatorname{clip}(\\hat I_0, 0, 1) - T_{k_0} I)^2}

Shape:
    - ``best``: name → (1, C, h, w), canonical orientation, working size.
    - ``latest``: the last step's ``layers`` (name → (n, C, h', w')), ``recon`` and ``target``
      (n, 3, h', w') in the batch's orientation, and its dihedral indices ``k``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from dipsys.ops.dihedral import dihedral_inverse


class BestResult:
    """Mixin of :class:`dipsys.tasks.base.LayerDecomposition`: the best step's layers.

    The host class is a LightningModule; it calls :meth:`init_best_result` in ``__init__``
    and :meth:`_track_best` from its training step.
    """

    def init_best_result(self) -> None:
        """The best PSNR so far (a buffer, so it follows the module's device and checkpoint),
        the best layers and the latest step's layers."""
        self.register_buffer("best_psnr", torch.tensor(float("-inf")))
        self.best: dict[str, Tensor] = {}
        self.latest: dict[str, Any] = {}

    def _track_best(self, layers: dict[str, Tensor], recon: Tensor, batch: dict[str, Any]) -> None:
        mse = F.mse_loss(recon[:1].clamp(0, 1), batch["target"][:1].float())
        psnr = -10.0 * torch.log10(mse.clamp_min(1e-12))  # data range 1
        self.log(f"{self.log_prefix}psnr_recon", psnr)
        better = psnr > self.best_psnr
        self.best_psnr.copy_(torch.where(better, psnr, self.best_psnr))
        k = batch["k"][0]
        for name, layer in layers.items():
            canonical = dihedral_inverse(layer[:1].float(), k)
            previous = self.best.get(name)
            self.best[name] = (
                canonical
                if previous is None
                else torch.where(better, canonical, previous.to(canonical))
            )

    def canonical_latest(self) -> dict[str, Tensor]:
        """The latest step's layers, reconstruction and target for element 0, un-augmented."""
        if not self.latest:
            return {}
        k = self.latest["k"][0]
        items = {**self.latest["layers"], "reconstruction": self.latest["recon"]}
        items["target"] = self.latest["target"]
        return {name: dihedral_inverse(x[:1].float(), k)[0] for name, x in items.items()}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["dipsys_best"] = {name: t.cpu() for name, t in self.best.items()}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.best = {
            name: t.to(self.device) for name, t in checkpoint.get("dipsys_best", {}).items()
        }
