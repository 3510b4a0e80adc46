"""Image I/O, the single- and multi-image DataModules and their schedules."""

from dipsys.data.io import read_image, read_mask, write_image
from dipsys.data.multi_image import MultiImageDataModule
from dipsys.data.schedules import AugmentationPlan, Constant, Ramp, Staircase
from dipsys.data.single_image import SingleImageDataModule, working_size

__all__ = [
    "AugmentationPlan",
    "Constant",
    "MultiImageDataModule",
    "Ramp",
    "SingleImageDataModule",
    "Staircase",
    "read_image",
    "read_mask",
    "working_size",
    "write_image",
]
