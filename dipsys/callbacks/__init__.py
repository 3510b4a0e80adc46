"""Lightning callbacks: TensorBoard layer images, PNG export and metrics.json, checkpoints, the
NaN guard and the step progress bar."""

from dipsys.callbacks.checkpoint import LastCheckpoint
from dipsys.callbacks.export import RESULT_FILE, ExportResults, image_metrics, write_json
from dipsys.callbacks.layer_images import LayerImages
from dipsys.callbacks.nan_guard import NanGuard
from dipsys.callbacks.progress import StepProgressBar
from dipsys.callbacks.tensorboard import RunTensorBoard

__all__ = [
    "RESULT_FILE",
    "ExportResults",
    "LastCheckpoint",
    "LayerImages",
    "NanGuard",
    "RunTensorBoard",
    "StepProgressBar",
    "image_metrics",
    "write_json",
]
