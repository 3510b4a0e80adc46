"""Synthetic test cases with exact ground truth, deterministic from a seed.

Haze follows the atmospheric scattering model I = t·J + (1 − t)·A with t = exp(−β·d) for a
smooth depth map d in [0, 1]. Segmentation cases paste textures through smooth random regions
(I = m·F + (1 − m)·B), transparency cases mix two layers (I = α·L1 + (1 − α)·L2), watermark cases
overlay rendered text (I = (1 − a)·J + a·W). Every generator takes a ``seed`` and draws from its
own ``torch.Generator``, so equal seeds give equal cases. Images are float32, channels first, in
[0, 1]; the bundled photographs and textures under ``assets/`` are loaded by :func:`load_sample`.

Modules: ``samples`` (bundled images, shared random helpers), ``haze``, ``regions``,
``mixtures`` (transparency, watermarks), ``video``, and the suites ``haze_suite`` and
``watermark_suite``.
"""

from dipsys.data.synthetic.haze import haze_case, hazy_image, hazy_video, smooth_depth
from dipsys.data.synthetic.mixtures import alpha_mixture, mixture_pair, watermark_case
from dipsys.data.synthetic.regions import blob_mask, fg_bg_composite, region_composite
from dipsys.data.synthetic.samples import ASSETS, SAMPLES, colorize, load_sample
from dipsys.data.synthetic.video import moving_object_video, panning_video, transparent_video
from dipsys.data.synthetic.watermark_suite import watermark_suite

__all__ = [
    "ASSETS",
    "SAMPLES",
    "alpha_mixture",
    "blob_mask",
    "colorize",
    "fg_bg_composite",
    "haze_case",
    "hazy_image",
    "hazy_video",
    "load_sample",
    "mixture_pair",
    "moving_object_video",
    "panning_video",
    "region_composite",
    "smooth_depth",
    "transparent_video",
    "watermark_case",
    "watermark_suite",
]
