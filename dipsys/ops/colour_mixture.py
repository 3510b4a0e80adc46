"""Gaussian mixtures of colours, as GrabCut models a region: fit and log-likelihood.

Used by the full-resolution refinement (a foreground and a background model) and by the
watermark footprint cut (a model of the photo's own colours).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["gaussian_mixture", "mixture_log_likelihood"]

# covariance ridge (RGB in [0, 1])
_RIDGE = 1e-4


def gaussian_mixture(samples: np.ndarray, components: int, seed: int) -> list[tuple]:
    """GrabCut-style mixture: k-means clusters, then one full-covariance Gaussian each.

    .. math:: p(x) = \\sum_k \\pi_k \\, \\mathcal N(x \\mid \\mu_k, \\Sigma_k + \\epsilon I)

    with ``π_k`` the share of the samples in k-means cluster ``k`` (k-means++ start, seeded),
    ``μ_k, Σ_k`` their mean and covariance and ``ε = 1e-4`` a ridge that keeps a flat-coloured
    component invertible.

    Args:
        samples: colours, e.g. RGB in [0, 1].
        components: clusters (fewer when there are fewer samples).
        seed: seed of the k-means initialisation.

    Returns:
        ``(log weight, mean, inverse covariance, log-determinant)`` per component (an empty
        list for no samples).

    Shape:
        - samples: ``(N, 3)`` float32
    """
    count = min(components, len(samples))
    if count < 1:
        return []
    if count == 1:
        assignment = np.zeros(len(samples), np.int64)
    else:
        cv2.setRNGSeed(seed)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1e-3)
        _, labels, _ = cv2.kmeans(samples, count, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
        assignment = labels.ravel()
    model = []
    for k in range(count):
        members = samples[assignment == k].astype(np.float64)
        if len(members) == 0:
            continue
        mean = members.mean(0)
        # The ridge keeps a flat-coloured component's covariance invertible.
        cov = np.cov(members.T, bias=True) if len(members) > 1 else np.zeros((3, 3))
        cov = cov + _RIDGE * np.eye(3)
        _, logdet = np.linalg.slogdet(cov)
        model.append((np.log(len(members) / len(samples)), mean, np.linalg.inv(cov), logdet))
    return model


def mixture_log_likelihood(pixels: np.ndarray, model: list[tuple]) -> np.ndarray:
    """``log Σ_k π_k N(x | μ_k, Σ_k)`` for every pixel row, under a :func:`gaussian_mixture`.

    Shape:
        - pixels: ``(N, 3)``
        - output: ``(N,)``
    """
    terms = []
    for log_weight, mean, inverse, logdet in model:
        centred = pixels - mean
        mahalanobis = np.einsum("ni,ij,nj->n", centred, inverse, centred)
        terms.append(log_weight - 0.5 * (mahalanobis + logdet + 3 * np.log(2 * np.pi)))
    stacked = np.stack(terms)
    top = stacked.max(0)
    return top + np.log(np.exp(stacked - top).sum(0))
