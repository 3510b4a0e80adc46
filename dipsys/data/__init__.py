"""Image and video I/O, the single-image, multi-image and video DataModules, schedules."""

from dipsys.data.io import read_image, read_mask, write_image
from dipsys.data.multi_image import MultiImageDataModule
from dipsys.data.schedules import AugmentationPlan, Constant, Ramp, Staircase
from dipsys.data.single_image import SingleImageDataModule, working_size
from dipsys.data.video import VideoDataModule
from dipsys.data.video_io import read_video, write_video

__all__ = [
    "AugmentationPlan",
    "Constant",
    "MultiImageDataModule",
    "Ramp",
    "SingleImageDataModule",
    "Staircase",
    "VideoDataModule",
    "read_image",
    "read_mask",
    "read_video",
    "working_size",
    "write_image",
    "write_video",
]
