"""Lightning callbacks: TensorBoard layer images, PNG export and metrics.json."""

from dipsys.callbacks.export import ExportResults, image_metrics, write_json
from dipsys.callbacks.layer_images import LayerImages

__all__ = ["ExportResults", "LayerImages", "image_metrics", "write_json"]
