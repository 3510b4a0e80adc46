"""Transparency mixtures (α-blends of two layers) and semi-transparent watermarks."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch


def _check_pair(layer1: torch.Tensor, layer2: torch.Tensor) -> None:
    if layer1.shape != layer2.shape:
        raise ValueError(
            f"layers must have the same shape, got {tuple(layer1.shape)} and {tuple(layer2.shape)}"
        )


def _check_alpha(alpha: float) -> None:
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")


def alpha_mixture(
    layer1: torch.Tensor, layer2: torch.Tensor, alpha: float
) -> dict[str, torch.Tensor | float]:
    """Mix two layers with a global opacity.

    .. math:: I = \\alpha \\cdot L_1 + (1 - \\alpha) \\cdot L_2

    Returns:
        ``mixture``, ``layer1``, ``layer2`` and ``alpha`` (a float).

    Shape:
        - layer1, layer2, mixture: :math:`(3, H, W)`
    """
    _check_pair(layer1, layer2)
    _check_alpha(alpha)
    mixture = alpha * layer1.float() + (1 - alpha) * layer2.float()
    return {"mixture": mixture, "layer1": layer1.float(), "layer2": layer2.float(), "alpha": alpha}


def mixture_pair(
    layer1: torch.Tensor, layer2: torch.Tensor, alpha1: float, alpha2: float
) -> dict[str, torch.Tensor]:
    """Two mixtures of the same layers with different opacities (a separable pair).

    .. math:: I_i = \\alpha_i \\cdot L_1 + (1 - \\alpha_i) \\cdot L_2, \\quad i = 1, 2

    Returns:
        ``mixtures``, ``layer1``, ``layer2`` and ``alphas``.

    Shape:
        - layer1, layer2: :math:`(3, H, W)`
        - mixtures: :math:`(2, 3, H, W)`; alphas: :math:`(2,)`
    """
    _check_pair(layer1, layer2)
    _check_alpha(alpha1)
    _check_alpha(alpha2)
    if alpha1 == alpha2:
        raise ValueError(f"the two alphas must differ to make the layers separable, got {alpha1}")
    alphas = torch.tensor([alpha1, alpha2], dtype=torch.float32)
    weights = alphas.view(2, 1, 1, 1)
    mixtures = weights * layer1.float() + (1 - weights) * layer2.float()
    return {
        "mixtures": mixtures,
        "layer1": layer1.float(),
        "layer2": layer2.float(),
        "alphas": alphas,
    }


# --------------------------------------------------------------------------- watermark

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _text_layout(text: str, width: int, height: int) -> tuple[float, int, int, int]:
    """Font scale, thickness and text width / height (with descent) that fit in a box."""
    scale, thickness = 1.0, 2
    for _ in range(3):  # thickness depends on scale and changes the size: settle in a few steps
        (text_w, text_h), base = cv2.getTextSize(text, _FONT, scale, thickness)
        scale *= min(0.9 * width / text_w, 0.8 * height / (text_h + base))
        thickness = max(2, round(2.5 * scale))
    (text_w, text_h), base = cv2.getTextSize(text, _FONT, scale, thickness)
    return scale, thickness, text_w, text_h + base


def _render_text(text: str, width: int, height: int) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of ``text`` centred in a ``height × width`` box."""
    scale, thickness, text_w, text_h = _text_layout(text, width, height)
    canvas = np.zeros((height, width), np.uint8)
    (_, ascent), _ = cv2.getTextSize(text, _FONT, scale, thickness)
    origin = ((width - text_w) // 2, (height - text_h) // 2 + ascent)
    cv2.putText(canvas, text, origin, _FONT, scale, 255, thickness, cv2.LINE_AA)
    return canvas.astype(np.float32) / 255.0


def _draw_box(text: str, height: int, width: int, gen: torch.Generator) -> list[int]:
    """A box ~40% of the image width, as tall as the text needs, at a random place inside."""
    box_w = max(8, round(0.4 * width))
    _, _, _, text_h = _text_layout(text, box_w, height)
    box_h = min(height, round(text_h / 0.8))
    x0 = int(torch.randint(0, width - box_w + 1, (), generator=gen))
    y0 = int(torch.randint(0, height - box_h + 1, (), generator=gen))
    return [x0, y0, x0 + box_w, y0 + box_h]


def watermark_case(
    clean: torch.Tensor,
    seed: int = 0,
    text: str = "dipsys",
    opacity: float = 0.45,
    box: Sequence[int] | None = None,
) -> dict[str, torch.Tensor | list[int]]:
    """Overlay semi-transparent text on an image.

    .. math:: I = (1 - a) \\cdot J + a \\cdot W

    The text is rendered thick with ``cv2.putText`` into ``box``; ``a`` is its anti-aliased
    coverage times ``opacity`` (zero outside the box) and ``W`` a flat colour: white or, for
    half the seeds, a random saturated colour.

    Args:
        clean: the image ``J`` in [0, 1].
        seed: draws the colour and, when ``box`` is None, the box (inside the image, 40% of its
            width).
        text: the watermark text.
        opacity: peak opacity of the watermark.
        box: ``[x0, y0, x1, y1]`` in pixels, end exclusive.

    Returns:
        ``image``, ``clean``, ``watermark`` (the opaque colour layer ``W``), ``alpha`` and
        ``box``.

    Shape:
        - clean, image, watermark: :math:`(3, H, W)`; alpha: :math:`(1, H, W)`
    """
    if not text.strip():
        raise ValueError("watermark text must not be empty")
    height, width = clean.shape[-2:]
    gen = torch.Generator().manual_seed(seed)
    white = torch.rand((), generator=gen).item() < 0.5
    hue = torch.rand((), generator=gen).item()
    box = _draw_box(text, height, width, gen) if box is None else [int(v) for v in box]
    x0, y0, x1, y1 = box
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise ValueError(f"box {box} must lie inside the {width}×{height} image")
    color = torch.ones(3) if white else _saturated(hue)
    alpha = torch.zeros(1, height, width)
    alpha[0, y0:y1, x0:x1] = opacity * torch.from_numpy(_render_text(text, x1 - x0, y1 - y0))
    watermark = color.view(3, 1, 1).expand(3, height, width).clone()
    image = (1 - alpha) * clean.float() + alpha * watermark
    return {
        "image": image,
        "clean": clean.float(),
        "watermark": watermark,
        "alpha": alpha,
        "box": box,
    }


def _saturated(hue: float) -> torch.Tensor:
    """A bright, saturated RGB colour of the given hue in [0, 1).

    Shape:
        - Output: :math:`(3,)`
    """
    pixel = np.array([[[hue * 180, 220, 255]]], np.uint8)
    return torch.from_numpy(cv2.cvtColor(pixel, cv2.COLOR_HSV2RGB)[0, 0] / 255.0).float()
