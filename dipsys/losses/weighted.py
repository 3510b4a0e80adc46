"""A weighted sum of named loss terms that reports every term."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

__all__ = ["WeightedSum"]


class WeightedSum:
    """Combine named scalar loss terms with fixed weights.

    .. math:: L = \\sum_{k:\\, w_k \\neq 0} w_k \\, \\ell_k

    Every term passed in is reported (detached, unweighted) for logging, including those whose
    weight is 0; zero-weight terms are left out of the sum so they cost no backward pass. A term
    without a weight is an error rather than a silent 0, so a typo in a config cannot switch a
    term off.

    Args:
        weights: Term name → weight.

    Shape:
        - terms: mapping of name → ``()`` tensors
        - output: ``(total (), {name: ()})``

    Example:
        >>> loss = WeightedSum({"recon": 1.0, "std_t": 0.005})
        >>> total, logged = loss({"recon": mse, "std_t": std_loss(t)})  # doctest: +SKIP
    """

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights: dict[str, float] = {str(k): float(v) for k, v in weights.items()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.weights})"

    def __call__(self, terms: Mapping[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """Weighted total and the unweighted, detached terms.

        Args:
            terms: Term name → scalar tensor.

        Returns:
            ``(total, logged)``: the weighted sum (with gradient) and ``{name: term.detach()}``.

        Raises:
            KeyError: A term has no weight.
            ValueError: No terms, or a term is not a scalar.
        """
        if not terms:
            raise ValueError("WeightedSum got no loss terms")
        unknown = sorted(set(terms) - set(self.weights))
        if unknown:
            raise KeyError(
                f"loss term(s) {unknown} have no weight; weights are given for "
                f"{sorted(self.weights)}"
            )
        total: Tensor | None = None
        for name, value in terms.items():
            if value.ndim != 0:
                raise ValueError(f"loss term {name!r} must be a scalar, got {tuple(value.shape)}")
            weight = self.weights[name]
            if weight == 0:
                continue
            total = weight * value if total is None else total + weight * value
        if total is None:  # every weight is 0: a zero that still supports backward()
            first = next(iter(terms.values()))
            needs_grad = any(v.requires_grad for v in terms.values())
            total = torch.zeros((), dtype=first.dtype, device=first.device).requires_grad_(
                needs_grad
            )
        return total, {name: value.detach() for name, value in terms.items()}
