"""Decomposition tasks: one LightningModule each, on the LayerDecomposition base."""

from dipsys.tasks.base import LayerDecomposition
from dipsys.tasks.dehaze import Dehaze
from dipsys.tasks.segmentation import Segmentation
from dipsys.tasks.segmentation_nlayer import SegmentationNLayer
from dipsys.tasks.transparency import Transparency
from dipsys.tasks.video_dehaze import VideoDehaze
from dipsys.tasks.video_segmentation import VideoSegmentation
from dipsys.tasks.video_transparency import VideoTransparency
from dipsys.tasks.watermark import Watermark
from dipsys.tasks.watermark_multi import WatermarkMulti

__all__ = [
    "Dehaze",
    "LayerDecomposition",
    "Segmentation",
    "SegmentationNLayer",
    "Transparency",
    "VideoDehaze",
    "VideoSegmentation",
    "VideoTransparency",
    "Watermark",
    "WatermarkMulti",
]
