"""Decomposition tasks: one LightningModule each, on the LayerDecomposition base."""

from dipsys.tasks.base import LayerDecomposition
from dipsys.tasks.dehaze import Dehaze
from dipsys.tasks.segmentation import Segmentation, SegmentationNLayer

__all__ = ["Dehaze", "LayerDecomposition", "Segmentation", "SegmentationNLayer"]
