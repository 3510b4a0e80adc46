"""Lightning callbacks: TensorBoard layer images, PNG export and metrics.json."""

from dipsys.callbacks.checkpoint import LastCheckpoint
from dipsys.callbacks.export import ExportResults, image_metrics, write_json
from dipsys.callbacks.layer_images import LayerImages

__all__ = ["ExportResults", "LastCheckpoint", "LayerImages", "image_metrics", "write_json"]
