"""User hints as masks: boxes, scribbles, and exclusivity between hints (dipsys.ops)."""

from __future__ import annotations

import pytest
import torch

from dipsys.errors import InputError
from dipsys.ops import box_mask, exclusive, scribble_mask


def test_box_mask_union_and_values() -> None:
    mask = box_mask((10, 20), [[0, 0, 5, 4], [15, 6, 20, 10], [2.5, 1, 3.2, 2]])
    assert mask.shape == (1, 10, 20) and mask.dtype == torch.float32
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    assert mask.sum() == 5 * 4 + 5 * 4  # the fractional box lies inside the first one
    assert mask[0, :4, :5].all() and mask[0, 6:, 15:].all() and not mask[0, 4, 5]
    assert box_mask((10, 20), [[0, 0, 20, 10]]).all()
    assert not box_mask((10, 20), []).any()


@pytest.mark.parametrize(
    ("boxes", "message"),
    [
        ([[0, 0, 5]], "4 numbers"),
        ([[0, 0, 5, "a"]], "4 numbers"),
        ([[0, 0, 5, True]], "4 numbers"),
        ([0, 0, 5, 5], "list of boxes"),
        ([[5, 0, 5, 4]], r"box \[5, 0, 5, 4\] is empty"),
        ([[0, 6, 5, 2]], "is empty"),
        ([[-1, 0, 5, 4]], r"box \[-1, 0, 5, 4\] lies outside the 20×10 image"),
        ([[15, 5, 21, 10]], "outside the 20×10 image"),
        ([[0, 0, 4, 11]], "outside the 20×10 image"),
        ("0 0 5 5", "list of"),
    ],
)
def test_box_mask_errors(boxes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        box_mask((10, 20), boxes)


def test_scribble_mask_lines_and_dots() -> None:
    line = scribble_mask((30, 40), [[[5, 10], [30, 10]]], width=3)
    assert line.shape == (1, 30, 40) and set(line.unique().tolist()) == {0.0, 1.0}
    assert line[0, 9:12, 5:31].all() and not line[0, 13].any() and not line[0, :, 35:].any()
    dot = scribble_mask((30, 40), [[[20, 15]]], width=5)
    assert dot[0, 15, 20] == 1 and dot[0, 13:18, 18:23].sum() >= 13 and dot.sum() <= 25
    both = scribble_mask((30, 40), [[[5, 10], [30, 10]], [[20, 15.4]]], width=3)
    assert torch.equal(both, torch.maximum(line, scribble_mask((30, 40), [[[20, 15]]], width=3)))
    wider = scribble_mask((30, 40), [[[5, 10], [30, 10]]], width=7)
    assert wider.sum() > line.sum()
    assert not scribble_mask((30, 40), []).any()


@pytest.mark.parametrize(
    ("scribbles", "width", "message"),
    [
        ([[[5, 10], [40, 10]]], 5, r"\[40, 10\] lies outside the 40×30 image"),
        ([[[-1, 3]]], 5, "outside"),
        ([[[3, 30]]], 5, "outside"),
        ([[]], 5, "non-empty list"),
        ([[[1, 2, 3]]], 5, "2 numbers"),
        ([[["a", 2]]], 5, "2 numbers"),
        ([[5, 10]], 5, "2 numbers"),
        ([[[5, 10]]], 0, "width"),
    ],
)
def test_scribble_mask_errors(scribbles, width: int, message: str) -> None:
    with pytest.raises(InputError, match=message):
        scribble_mask((30, 40), scribbles, width=width)


def test_exclusive_drops_shared_pixels_from_all_hints() -> None:
    a = torch.tensor([[[1.0, 1.0, 0.0, 0.0, 1.0]]])
    b = torch.tensor([[[0.0, 1.0, 1.0, 0.0, 1.0]]])
    c = torch.tensor([[[0.0, 0.0, 0.0, 1.0, 1.0]]])
    out = exclusive({"fg": a, "mg": b, "bg": c})
    assert list(out) == ["fg", "mg", "bg"]
    assert out["fg"].tolist() == [[[1.0, 0.0, 0.0, 0.0, 0.0]]]
    assert out["mg"].tolist() == [[[0.0, 0.0, 1.0, 0.0, 0.0]]]
    assert out["bg"].tolist() == [[[0.0, 0.0, 0.0, 1.0, 0.0]]]
    assert exclusive({}) == {}
