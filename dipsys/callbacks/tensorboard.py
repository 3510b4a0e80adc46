"""The TensorBoard logger of a run: Lightning's, without its ``epoch`` curve, the noise schedule
under ``schedule/`` and the reconstruction's PSNR beside the ground truth's under ``psnr/``.

An "epoch" of a dipsys run is only a logging cadence, so Lightning's ``epoch`` scalar (which it
adds to every logged step) says nothing; σ_t, a schedule the run follows, not a result, is moved
out of the way of the loss terms and PSNRs.
"""

from __future__ import annotations

from collections.abc import Mapping

from pytorch_lightning.loggers import TensorBoardLogger

#: logged name (after a system's ``stage_<i>/`` prefix) → tag in TensorBoard
RENAMED = {"sigma": "schedule/sigma", "psnr_recon": "psnr/reconstruction"}
DROPPED = {"epoch"}


def tensorboard_tag(name: str) -> str | None:
    """The TensorBoard tag of a logged scalar (None: not written)."""
    prefix, base = "", name
    if name.startswith("stage_") and "/" in name:  # a system's stage: keep its prefix
        stage, base = name.split("/", 1)
        prefix = f"{stage}/"
    if base in DROPPED:
        return None
    return prefix + RENAMED.get(base, base)


class RunTensorBoard(TensorBoardLogger):
    """:class:`TensorBoardLogger` writing scalars under :func:`tensorboard_tag`."""

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        renamed = {}
        for name, value in metrics.items():
            tag = tensorboard_tag(name)
            if tag is not None:
                renamed[tag] = value
        if renamed:
            super().log_metrics(renamed, step)
