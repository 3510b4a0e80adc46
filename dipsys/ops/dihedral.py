"""The 8 symmetries of the square acting on the last two (H, W) dims (ALGORITHMS.md §1.3).

Index ``k`` in ``0..7`` names ``T_k``: for ``k < 4`` a counter-clockwise rotation by ``k * 90°``;
for ``k >= 4`` an up-down flip followed by ``k - 4`` such rotations. This is the order of
Double-DIP's ``create_augmentations`` (``np.rot90`` on axes (1, 2) of a CHW array).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import torch
from torch import Tensor

NUM_DIHEDRAL = 8


def _check_k(k: int) -> int:
    """Return ``k`` as a plain int; NumPy integers are accepted, bools and floats are not."""
    if isinstance(k, Integral) and not isinstance(k, bool) and 0 <= k < NUM_DIHEDRAL:
        return int(k)
    raise ValueError(f"dihedral index must be an int in 0..{NUM_DIHEDRAL - 1}, got {k!r}")


def dihedral(x: Tensor, k: int) -> Tensor:
    """Apply ``T_k = rot90^(k mod 4) ∘ flip_ud^[k >= 4]`` to the last two dims.

    Shape:
        - Input: ``(..., H, W)``
        - Output: ``(..., H, W)`` for even ``k``, ``(..., W, H)`` for odd ``k``.
    """
    k = _check_k(k)
    if k >= 4:
        x = x.flip(-2)
    return torch.rot90(x, k % 4, dims=(-2, -1))


def dihedral_inverse(x: Tensor, k: int) -> Tensor:
    """Undo :func:`dihedral`: ``dihedral_inverse(dihedral(x, k), k) == x``.

    Shape:
        - Input: ``(..., h, w)``, the output of ``dihedral(x, k)``.
        - Output: ``(..., H, W)``, the shape of the original ``x``.
    """
    k = _check_k(k)
    x = torch.rot90(x, -(k % 4), dims=(-2, -1))
    return x.flip(-2) if k >= 4 else x


def dihedral_shape(height: int, width: int, k: int) -> tuple[int, int]:
    """Spatial size ``(h, w)`` of ``dihedral(x, k)`` for an ``height x width`` input."""
    k = _check_k(k)
    return (width, height) if k % 2 else (height, width)


def dihedral_stack(x: Tensor, ks: Sequence[int]) -> Tensor:
    """Batch the transforms ``T_k x`` for every ``k`` in ``ks``.

    Args:
        x: One image or code, ``(C, H, W)`` or ``(1, C, H, W)``.
        ks: Dihedral indices, one per output element.

    Raises:
        ValueError: If ``ks`` is empty or invalid, ``x`` has a wrong shape, or the transforms give
            different shapes (a non-square ``x`` with both odd and even ``k``).

    Shape:
        - Input: ``(C, H, W)`` or ``(1, C, H, W)``.
        - Output: ``(len(ks), C, h, w)`` with ``(h, w) = dihedral_shape(H, W, k)``.
    """
    if x.dim() == 4 and x.shape[0] == 1:
        x = x[0]
    if x.dim() != 3:
        raise ValueError(f"dihedral_stack expects (C, H, W) or (1, C, H, W), got {tuple(x.shape)}")
    _check_same_shape(x.shape[-2], x.shape[-1], ks)
    return torch.stack([dihedral(x, k) for k in ks])


def dihedral_unstack(y: Tensor, ks: Sequence[int]) -> Tensor:
    """Map each batch element ``y[i]`` back with ``T_{ks[i]}^{-1}``; inverts :func:`dihedral_stack`.

    Raises:
        ValueError: If ``len(ks)`` differs from the batch size, ``ks`` is invalid, or the inverses
            give different shapes.

    Shape:
        - Input: ``(B, C, h, w)`` with ``B = len(ks)``.
        - Output: ``(B, C, H, W)``, the common shape before the transforms.
    """
    if y.dim() != 4 or y.shape[0] != len(ks):
        raise ValueError(
            f"dihedral_unstack expects (len(ks)={len(ks)}, C, H, W), got {tuple(y.shape)}"
        )
    # T_k^{-1} swaps H and W exactly when T_k does, so the same check applies.
    _check_same_shape(y.shape[-2], y.shape[-1], ks)
    return torch.stack([dihedral_inverse(item, k) for item, k in zip(y, ks, strict=True)])


def _check_same_shape(height: int, width: int, ks: Sequence[int]) -> None:
    if len(ks) == 0:
        raise ValueError("ks must name at least one dihedral index")
    shapes = {dihedral_shape(height, width, k) for k in ks}
    if len(shapes) > 1:
        raise ValueError(
            f"dihedral indices {list(ks)} give different shapes {sorted(shapes)} for a "
            f"{height}x{width} input; mix odd and even k only for square inputs"
        )
