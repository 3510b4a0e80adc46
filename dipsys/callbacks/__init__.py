"""Lightning callbacks: TensorBoard layer images, PNG export and metrics.json, checkpoints, and
the NaN guard."""

from dipsys.callbacks.checkpoint import LastCheckpoint
from dipsys.callbacks.export import RESULT_FILE, ExportResults, image_metrics, write_json
from dipsys.callbacks.layer_images import LayerImages
from dipsys.callbacks.nan_guard import NanGuard

__all__ = [
    "RESULT_FILE",
    "ExportResults",
    "LastCheckpoint",
    "LayerImages",
    "NanGuard",
    "image_metrics",
    "write_json",
]
