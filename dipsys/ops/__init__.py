"""Pure tensor functions: compositing, filtering, resizing, segmentation hints and scoring.

Nothing here knows about networks or Lightning. The compositing, filtering and resizing
functions are batched and device-agnostic; the segmentation helpers (saliency, hints, GrabCut,
labels) take one image and compute on the CPU through OpenCV, returning tensors on the input's
device.
"""

from dipsys.ops.cluster_hints import cluster_hints
from dipsys.ops.dark_channel import (
    dark_channel,
    dcp_dehaze,
    default_dcp_radius,
    estimate_airlight,
)
from dipsys.ops.dihedral import (
    NUM_DIHEDRAL,
    dihedral,
    dihedral_inverse,
    dihedral_shape,
    dihedral_stack,
    dihedral_unstack,
)
from dipsys.ops.grabcut import grabcut
from dipsys.ops.guided_filter import effective_radius, guided_filter, guided_filter_torch
from dipsys.ops.haze import add_haze, remove_haze
from dipsys.ops.hints import equalize, hint_names, region_depth, threshold_hints
from dipsys.ops.labels import MAX_LABELS, binary_iou, labels_from_gray, mean_iou
from dipsys.ops.resize import resize
from dipsys.ops.saliency import SALIENCY_METHODS, color_contrast, saliency_map, spectral_residual
from dipsys.ops.user_hints import box_mask, exclusive, scribble_mask

__all__ = [
    "MAX_LABELS",
    "NUM_DIHEDRAL",
    "SALIENCY_METHODS",
    "add_haze",
    "binary_iou",
    "box_mask",
    "cluster_hints",
    "color_contrast",
    "dark_channel",
    "dcp_dehaze",
    "default_dcp_radius",
    "dihedral",
    "dihedral_inverse",
    "dihedral_shape",
    "dihedral_stack",
    "dihedral_unstack",
    "effective_radius",
    "equalize",
    "estimate_airlight",
    "exclusive",
    "grabcut",
    "guided_filter",
    "guided_filter_torch",
    "hint_names",
    "labels_from_gray",
    "mean_iou",
    "region_depth",
    "remove_haze",
    "resize",
    "saliency_map",
    "scribble_mask",
    "spectral_residual",
    "threshold_hints",
]
