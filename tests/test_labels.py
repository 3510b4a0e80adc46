"""Label maps and their scores: gray-level label files, binary and mean IoU (dipsys.ops)."""

from __future__ import annotations

import pytest
import torch

from dipsys.errors import InputError
from dipsys.ops import binary_iou, labels_from_gray, mean_iou


def test_labels_from_gray_both_encodings() -> None:
    labels = torch.tensor([[0, 1, 2], [2, 1, 0]])
    as_levels = labels.float()[None] / 255  # stored as gray levels 0, 1, 2
    as_spread = torch.tensor([0.0, 127.0, 255.0])[labels][None] / 255  # stored 0/127/255
    for gray in (as_levels, as_spread, (labels * 127).to(torch.uint8)):
        out = labels_from_gray(gray)
        assert out.dtype == torch.int64 and torch.equal(out, labels)


def test_labels_from_gray_rejects_many_values() -> None:
    assert labels_from_gray(torch.arange(16.0).view(1, 4, 4) / 255).max() == 15
    with pytest.raises(InputError, match="17 distinct gray values.*JPEG"):
        labels_from_gray(torch.arange(17.0).view(1, 1, 17) / 255)


def test_binary_iou_of_known_masks() -> None:
    pred = torch.zeros(1, 4, 4)
    target = torch.zeros(1, 4, 4)
    pred[0, :2, :] = 1  # 8 pixels
    target[0, 1:3, :] = 1  # 8 pixels, 4 shared
    assert binary_iou(pred, target) == pytest.approx(4 / 12)
    assert binary_iou(pred > 0.5, pred > 0.5) == 1.0
    assert binary_iou(torch.zeros(3, 3), torch.ones(3, 3)) == 0.0


def test_mean_iou_is_invariant_to_renaming_the_predicted_labels() -> None:
    truth = torch.randint(0, 4, (20, 24), generator=torch.Generator().manual_seed(0))
    renamed = torch.tensor([2, 0, 3, 1])[truth]  # pred label 2 is true label 0, ...
    iou, perm = mean_iou(renamed, truth, 4)
    assert iou == pytest.approx(1.0)
    assert perm == [1, 3, 0, 2]  # perm[pred_label] = target_label
    assert mean_iou(renamed, truth, 4, match=False)[0] < 0.5
    # More labels than the exhaustive search covers: the greedy matching recovers it too.
    truth = torch.arange(90).view(9, 10) % 9
    shuffled = torch.tensor([4, 7, 0, 8, 1, 6, 2, 5, 3])[truth]
    assert mean_iou(shuffled, truth, 9)[0] == pytest.approx(1.0)


def test_mean_iou_of_an_imperfect_prediction() -> None:
    truth = torch.tensor([[0, 0, 1, 1]])
    pred = torch.tensor([[1, 1, 1, 0]])
    iou, perm = mean_iou(pred, truth, 2)
    # Renamed: [0, 0, 0, 1] → IoU(0) = 2/3, IoU(1) = 1/2.
    assert perm == [1, 0] and iou == pytest.approx((2 / 3 + 1 / 2) / 2)
