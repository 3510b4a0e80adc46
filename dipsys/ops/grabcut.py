"""OpenCV GrabCut (Rother, Kolmogorov & Blake, SIGGRAPH 2004) as a hinted segmentation baseline.

GrabCut fits one Gaussian mixture to the foreground colours and one to the background colours
and alternates between re-fitting them and a graph cut of the Gibbs energy

.. math:: E(\\alpha) = \\sum_x -\\log p(I_x \\mid \\alpha_x)
    + \\gamma \\sum_{(x, y)} [\\alpha_x \\ne \\alpha_y] \\, e^{-\\beta \\lVert I_x - I_y \\rVert^2}

It is seeded here with exactly the hints a DIP segmentation task gets, so the two are compared
on equal terms. More than two layers are handled one-vs-rest.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np
import torch
from torch import Tensor

from dipsys.ops.labels import single_plane
from dipsys.ops.resize import resize

__all__ = ["grabcut"]


def _shrink_hints(hints: list[Tensor], size: tuple[int, int]) -> list[np.ndarray]:
    """Hints at the working size: nearest neighbours, and any-coverage for ones that vanish.

    Nearest-neighbour sampling can miss a thin scribble entirely; such a hint is instead taken
    as every working pixel it touches (area coverage > 0), minus the pixels of other hints.
    """
    planes = [
        single_plane(h, "a hint").detach().to("cpu", torch.float32)[None, None] for h in hints
    ]
    small = [resize(p, size, mode="nearest")[0, 0] > 0.5 for p in planes]
    for k, plane in enumerate(planes):
        if not small[k].any() and bool((plane > 0.5).any()):
            touched = resize((plane > 0.5).float(), size, mode="area")[0, 0] > 0
            others = torch.zeros_like(touched)
            for j, mask in enumerate(small):
                if j != k:
                    others |= mask
            small[k] = touched & ~others
    return [mask.numpy() for mask in small]


def _distance_to(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance of every pixel to the nearest pixel of ``mask`` (inf if empty)."""
    if not mask.any():
        return np.full(mask.shape, np.inf, dtype=np.float32)
    # distanceTransform measures the distance to the nearest zero pixel: zero on the hint.
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def _run(
    image: np.ndarray,
    sure_fg: np.ndarray,
    sure_bg: np.ndarray,
    prefer_fg: np.ndarray,
    iterations: int,
    seed: int,
) -> np.ndarray | None:
    """One two-class GrabCut from a mask; the foreground, or None where OpenCV refuses."""
    mask = np.where(prefer_fg, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    mask[sure_bg] = cv2.GC_BGD
    mask[sure_fg] = cv2.GC_FGD
    background_model = np.zeros((1, 65), dtype=np.float64)
    foreground_model = np.zeros((1, 65), dtype=np.float64)
    # GrabCut seeds its colour mixtures with k-means++ from OpenCV's global RNG: fix it, so a
    # baseline figure does not depend on what ran before it in the process.
    cv2.setRNGSeed(seed)
    try:
        cv2.grabCut(
            image,
            mask,
            None,
            background_model,
            foreground_model,
            iterations,
            cv2.GC_INIT_WITH_MASK,
        )
    except cv2.error:
        # Raised for a degenerate seeding (e.g. no pixel of one class to fit its mixture to).
        return None
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def grabcut(
    image: Tensor,
    hints: Mapping[str, Tensor],
    iterations: int = 5,
    max_side: int = 512,
    seed: int = 0,
) -> Tensor:
    """Segment an image with OpenCV's GrabCut seeded by K hints.

    Label ``k`` is the ``k``-th hint in the mapping's order (for ``fg``/``bg`` hints, 0 is the
    foreground). With ``d_k`` the distance to hint ``k``:

    - K = 2: the GrabCut mask is ``GC_FGD`` on hint 0, ``GC_BGD`` on hint 1 and, elsewhere,
      ``GC_PR_FGD`` where ``d_0 < d_1`` else ``GC_PR_BGD``; ``cv2.grabCut`` with
      ``GC_INIT_WITH_MASK``.
    - K > 2: one run per label, hint ``k`` sure foreground and the other hints sure background
      (unhinted pixels probably foreground where hint ``k`` is the nearest); a pixel that exactly
      one run claims takes that label, any other pixel the label ``argmin_k d_k`` of its nearest
      hint.

    Pixels claimed by several hints count as unhinted. A run that OpenCV rejects (a degenerate
    hint) falls back to the nearest-hint labels instead of failing. It works on a copy shrunk to
    a longest side of ``max_side`` (hints nearest-resized; GrabCut is super-linear in the pixel
    count) and the labels are resized back with nearest neighbours.

    Args:
        image: RGB image in [0, 1].
        hints: name → hint mask (> 0.5 = marked), K >= 2 of them, at the image's size.
        iterations: GrabCut iterations per run.
        max_side: Longest side of the working copy.
        seed: Seed of OpenCV's RNG for each run (its k-means++ initialisation).

    Returns:
        Labels in ``0..K−1``.

    Shape:
        - image: ``(3, H, W)``
        - each hint: ``(1, H, W)`` or ``(H, W)``
        - output: ``(H, W)`` int64
    """
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"expected an RGB image (3, H, W), got shape {tuple(image.shape)}")
    masks = list(hints.values())
    count = len(masks)
    if count < 2:
        raise ValueError(f"grabcut needs at least 2 hints, got {count}")
    height, width = image.shape[-2:]
    for name, mask in hints.items():
        if tuple(single_plane(mask, "a hint").shape) != (height, width):
            raise ValueError(
                f"hint '{name}' has shape {tuple(mask.shape)} but the image is {height}×{width}"
            )
    if iterations < 1 or max_side < 1:
        raise ValueError(f"iterations and max_side must be >= 1, got {iterations}, {max_side}")

    scale = min(1.0, max_side / max(height, width))
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    small = resize(image[None].detach().to("cpu", torch.float32), size)[0]
    rgb = small.clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    bgr = np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    seeds = _shrink_hints(masks, size)
    contested = np.sum(seeds, axis=0) > 1
    seeds = [hint & ~contested for hint in seeds]
    distance = np.stack([_distance_to(hint) for hint in seeds])
    # argmin over all-inf columns (every hint empty) is 0: a defined, if uninformative, answer.
    nearest = distance.argmin(axis=0)

    if count == 2:
        foreground = _run(bgr, seeds[0], seeds[1], nearest == 0, iterations, seed)
        labels = nearest if foreground is None else np.where(foreground, 0, 1)
    else:
        claims = np.zeros((count, *size), dtype=bool)
        for k in range(count):
            others = np.zeros(size, dtype=bool)
            for j in range(count):
                if j != k:
                    others |= seeds[j]
            claimed = _run(bgr, seeds[k], others, nearest == k, iterations, seed)
            claims[k] = nearest == k if claimed is None else claimed
        single = claims.sum(axis=0) == 1
        labels = np.where(single, claims.argmax(axis=0), nearest)

    out = torch.from_numpy(labels.astype(np.float32))[None, None]
    out = resize(out, (height, width), mode="nearest")[0, 0]
    return out.round().to(torch.int64).to(image.device)
