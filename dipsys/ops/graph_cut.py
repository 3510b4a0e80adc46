"""Exact two-label MAP of a grid CRF by a minimum s–t cut (scipy's max-flow).

.. math:: E(y) = \\sum_x U_x [y_x = 0] \\, \\mathbb 1[U_x > 0] + |U_x| \\, [y_x = 1] \\,
    \\mathbb 1[U_x < 0] + \\sum_{x \\sim x'} w_{xx'} [y_x \\ne y_{x'}]

written with one signed unary ``U`` (the log-odds of label 1: labelling a pixel 0 costs ``U``
when ``U > 0``, labelling it 1 costs ``−U`` when ``U < 0``) and non-negative weights on the
4-neighbour edges. Such an energy is submodular, so a minimum cut finds its global minimum
(Boykov & Jolly, ICCV 2001): source → pixel edges carry the cost of label 0, pixel → sink the
cost of label 1, and the pixels still reachable from the source in the residual graph take
label 1.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

__all__ = ["grid_min_cut", "source_side"]

# Capacities are integers for scipy's max-flow: energies are scaled by this and rounded.
_RESOLUTION = 256.0


def grid_min_cut(
    unary: np.ndarray,
    right: np.ndarray,
    down: np.ndarray,
    sure_one: np.ndarray | None = None,
    sure_zero: np.ndarray | None = None,
) -> np.ndarray:
    """Minimise the energy in the module docstring.

    Args:
        unary: ``U``, the log-odds (cost difference) of label 1 per pixel.
        right: weight of each edge to the right-hand neighbour.
        down: weight of each edge to the neighbour below.
        sure_one, sure_zero: pixels fixed to label 1 / label 0 (bool), or None.

    Returns:
        The labels (bool, True = label 1).

    Shape:
        - unary, sure_one, sure_zero, output: ``(H, W)``
        - right: ``(H, W − 1)``; down: ``(H − 1, W)``
    """
    height, width = unary.shape
    if right.shape != (height, width - 1) or down.shape != (height - 1, width):
        raise ValueError(
            f"edge weights {right.shape}, {down.shape} do not fit a {height}×{width} grid"
        )
    count = height * width
    source, sink = count, count + 1
    cost = np.asarray(unary, np.float64).ravel().copy()
    # A fixed pixel's cost exceeds anything it could save on its four edges, so it never flips
    # (and the capacities stay small integers).
    hard = 4.0 * max(float(right.max(initial=0)), float(down.max(initial=0))) + 1.0
    if sure_one is not None:
        cost[np.asarray(sure_one).ravel()] = hard
    if sure_zero is not None:
        cost[np.asarray(sure_zero).ravel()] = -hard
    pixels = np.arange(count).reshape(height, width)
    to_label0, to_label1 = cost > 0, cost < 0
    left, right_of = pixels[:, :-1].ravel(), pixels[:, 1:].ravel()
    up, below = pixels[:-1].ravel(), pixels[1:].ravel()
    rows = np.concatenate(
        [np.full(to_label0.sum(), source), pixels.ravel()[to_label1], left, right_of, up, below]
    )
    cols = np.concatenate(
        [pixels.ravel()[to_label0], np.full(to_label1.sum(), sink), right_of, left, below, up]
    )
    weights = np.concatenate(
        [
            cost[to_label0],
            -cost[to_label1],
            right.ravel(),
            right.ravel(),
            down.ravel(),
            down.ravel(),
        ]
    )
    capacity = np.round(np.maximum(weights, 0) * _RESOLUTION).astype(np.int32)
    graph = csr_matrix((capacity, (rows, cols)), shape=(count + 2, count + 2))
    return source_side(graph, source, sink)[:count].reshape(height, width)


def source_side(graph: csr_matrix, source: int, sink: int) -> np.ndarray:
    """The nodes still reachable from ``source`` after a maximum flow: the minimum cut's side.

    Args:
        graph: integer capacities, ``graph[i, j]`` for the edge i → j.
        source, sink: the terminals' node indices.

    Returns:
        One bool per node, True on the source side (label 1 in :func:`grid_min_cut`).

    Shape:
        - graph: ``(N, N)``; output: ``(N,)``
    """
    flow = maximum_flow(graph, source, sink, method="dinic").flow
    residual = (graph - flow).tocsr()
    residual.data = (residual.data > 0).astype(np.int8)
    residual.eliminate_zeros()
    reached = breadth_first_order(residual, source, directed=True, return_predecessors=False)
    labels = np.zeros(graph.shape[0], bool)
    labels[reached] = True
    return labels
