"""Loss terms (plain functions returning scalars) and a weighted sum that reports every term."""

from dipsys.losses.terms import (
    binary_mask_loss,
    exclusion_loss,
    extended_l1,
    onehot_loss,
    std_loss,
)
from dipsys.losses.weighted import WeightedSum

__all__ = [
    "WeightedSum",
    "binary_mask_loss",
    "exclusion_loss",
    "extended_l1",
    "onehot_loss",
    "std_loss",
]
