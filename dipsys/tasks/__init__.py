"""Decomposition tasks: one LightningModule each, on the LayerDecomposition base."""

from dipsys.tasks.base import LayerDecomposition
from dipsys.tasks.dehaze import Dehaze

__all__ = ["Dehaze", "LayerDecomposition"]
