"""Label maps and their scores: ground truth read from gray images, IoU and matched mean IoU."""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import Tensor
from torchmetrics.functional.classification import (
    binary_jaccard_index,
    multiclass_jaccard_index,
)

from dipsys.errors import InputError

__all__ = ["MAX_LABELS", "binary_iou", "labels_from_gray", "mean_iou"]

#: Most distinct gray values :func:`labels_from_gray` accepts.
MAX_LABELS = 16
# Up to this many labels the best renaming is found over all K! permutations (5040 at 7).
_EXHAUSTIVE_LABELS = 7


def single_plane(x: Tensor, what: str) -> Tensor:
    """A one-channel map ``(1, H, W)`` or ``(H, W)`` as ``(H, W)``; ``what`` names it in errors."""
    if x.ndim == 3 and x.shape[0] == 1:
        return x[0]
    if x.ndim == 2:
        return x
    raise ValueError(f"expected {what} (1, H, W) or (H, W), got shape {tuple(x.shape)}")


def labels_from_gray(gray: Tensor) -> Tensor:
    """Label map from a gray-level image: each distinct value becomes its rank.

    .. math:: \\ell(x) = \\big|\\{v \\in V : v < g(x)\\}\\big|, \\quad V = \\{g(x)\\}

    so a map stored as 0/1/2, as 0/127/255 or as 0/0.5/1 all give labels 0/1/2 (black is 0).

    Args:
        gray: The label image, float in [0, 1] or integer levels.

    Returns:
        Labels ``0..n−1`` with ``n`` the number of distinct values.

    Raises:
        InputError: more than 16 distinct values; the image is not a label map, e.g. a
            JPEG-compressed or antialiased one.

    Shape:
        - gray: ``(1, H, W)`` or ``(H, W)``
        - output: ``(H, W)`` int64
    """
    plane = single_plane(gray, "a gray label image")
    values, labels = torch.unique(plane, sorted=True, return_inverse=True)
    if len(values) > MAX_LABELS:
        raise InputError(
            f"the ground-truth label map has {len(values)} distinct gray values (at most "
            f"{MAX_LABELS} allowed); it must hold one exact gray level per region, so save it "
            "losslessly (PNG, not JPEG) and without antialiasing"
        )
    return labels.to(torch.int64)


def binary_iou(pred: Tensor, target: Tensor) -> float:
    """Intersection over union of the positive class of two binary masks.

    .. math:: \\operatorname{IoU} = \\frac{|P \\cap T|}{|P \\cup T|}

    Two empty masks agree perfectly and score 1.

    Args:
        pred: Predicted mask (bool, or numbers where > 0.5 is positive).
        target: True mask, same convention.

    Returns:
        The IoU in [0, 1].

    Shape:
        - pred, target: any shape, equal number of elements
    """
    p, t = _binary(pred), _binary(target)
    if p.numel() != t.numel():
        raise ValueError(f"masks differ in size: {tuple(pred.shape)} and {tuple(target.shape)}")
    iou = binary_jaccard_index(p.flatten(), t.flatten(), zero_division=1.0)
    return float(iou)


def _binary(mask: Tensor) -> Tensor:
    if mask.dtype == torch.bool:
        return mask.long()
    return (mask > 0.5).long()


def _iou_table(pred: Tensor, target: Tensor, num_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """``iou[p, t]`` of predicted label p against true label t, and whether the pair occurs.

    ``present[p, t]`` is False when neither p is predicted nor t is true: torchmetrics' macro
    average leaves such a class out, so the permutation search must too.
    """
    joint = torch.bincount(pred * num_labels + target, minlength=num_labels**2)
    confusion = joint.view(num_labels, num_labels).double().numpy()
    union = confusion.sum(axis=1)[:, None] + confusion.sum(axis=0)[None, :] - confusion
    present = union > 0
    iou = np.divide(confusion, union, out=np.zeros_like(confusion), where=present)
    return iou, present


def _best_permutation(iou: np.ndarray, present: np.ndarray) -> list[int]:
    """Renaming ``perm[p] = t`` maximising the macro mean of ``iou`` over present classes."""
    count = len(iou)
    rows = np.arange(count)

    def score(perm: np.ndarray) -> np.ndarray:
        kept = present[rows, perm].sum(axis=-1)
        return iou[rows, perm].sum(axis=-1) / np.maximum(kept, 1)

    if count <= _EXHAUSTIVE_LABELS:
        perms = np.array(list(itertools.permutations(range(count))))
        return perms[int(np.argmax(score(perms)))].tolist()
    # Greedy: pair the best-overlapping labels first, then improve by swapping pairs of targets.
    perm = np.full(count, -1)
    free_p, free_t = set(range(count)), set(range(count))
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        p, t = divmod(int(flat), count)
        if p in free_p and t in free_t:
            perm[p] = t
            free_p.discard(p)
            free_t.discard(t)
    best = score(perm)
    improved = True
    while improved:
        improved = False
        for a, b in itertools.combinations(range(count), 2):
            trial = perm.copy()
            trial[a], trial[b] = perm[b], perm[a]
            value = score(trial)
            if value > best + 1e-12:
                perm, best, improved = trial, value, True
    return perm.tolist()


def mean_iou(
    pred: Tensor, target: Tensor, num_labels: int, match: bool = True
) -> tuple[float, list[int]]:
    """Mean IoU over labels, optionally after renaming the predicted labels to fit best.

    .. math:: \\operatorname{mIoU} = \\max_{\\pi} \\frac{1}{|C|} \\sum_{c \\in C}
        \\operatorname{IoU}(\\pi(P) = c,\\ T = c)

    ``C`` is the set of labels that are predicted or true (torchmetrics'
    ``multiclass_jaccard_index`` with ``average="macro"``, which leaves the other labels out).
    An unsupervised decomposition does not know which of its layers is which region, so with
    ``match=True`` ``π`` ranges over all permutations (exhaustive for K ≤ 7, greedy pairing with
    pairwise-swap refinement beyond); with ``match=False`` it is the identity.

    Args:
        pred: Predicted labels in ``0..num_labels−1``.
        target: True labels in ``0..num_labels−1``.
        num_labels: Number of labels K.
        match: Search the renaming of the predicted labels.

    Returns:
        The mean IoU in [0, 1] and the renaming, ``perm[pred_label] = target_label``.

    Shape:
        - pred, target: ``(H, W)`` or ``(1, H, W)``, equal number of elements
    """
    if num_labels < 1:
        raise ValueError(f"num_labels must be >= 1, got {num_labels}")
    p = pred.detach().to("cpu").reshape(-1).to(torch.int64)
    t = target.detach().to("cpu").reshape(-1).to(torch.int64)
    if p.numel() != t.numel():
        raise ValueError(f"label maps differ in size: {tuple(pred.shape)}, {tuple(target.shape)}")
    for what, labels in (("predicted", p), ("true", t)):
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_labels):
            raise ValueError(
                f"{what} labels span {int(labels.min())}..{int(labels.max())}, "
                f"outside 0..{num_labels - 1}"
            )
    perm = list(range(num_labels))
    if match and num_labels > 1:
        perm = _best_permutation(*_iou_table(p, t, num_labels))
        p = torch.tensor(perm, dtype=torch.int64)[p]
    if num_labels == 1:
        # torchmetrics needs two classes; one label everywhere is a perfect match.
        return 1.0, perm
    iou = multiclass_jaccard_index(p, t, num_classes=num_labels, average="macro")
    return float(iou), perm
