"""OmegaConf resolvers used by the shipped configs (registered when dipsys is imported)."""

from __future__ import annotations

import os

from omegaconf import OmegaConf


def sample_gt(image: str, sample_image: str, sample_gt: str) -> str | None:
    """The bundled sample's ground truth while ``data.image`` is that sample, else None.

    Lets a task default to its sample *with* ground truth, while ``data.image=photo.jpg`` alone
    runs without one (no stale ground truth of another image).
    """
    same = os.path.realpath(str(image)) == os.path.realpath(str(sample_image))
    return sample_gt if same else None


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("sample_gt", sample_gt, replace=True)
