"""Loss terms and the weighted sum."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dipsys.losses import WeightedSum, binary_mask_loss, exclusion_loss, extended_l1, std_loss


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def _ramp(size: int = 32) -> torch.Tensor:
    y = torch.linspace(0, 1, size).view(size, 1)
    x = torch.linspace(0, 1, size).view(1, size)
    return (0.5 + 0.4 * torch.sin(6 * x + 4 * y)).expand(1, 3, size, size).clone()


def test_std_loss_constant_noise_blur():
    assert std_loss(torch.full((1, 3, 16, 16), 0.4)) < 1e-12  # 0 up to float rounding
    noise = _rand(1, 3, 32, 32)
    blurred = F.avg_pool2d(noise, 5, stride=1, padding=2, count_include_pad=False)
    assert std_loss(noise) > 0
    assert std_loss(blurred) < std_loss(noise)
    # The smallest valid input (5×5) has exactly one valid position.
    tiny = _rand(1, 1, 5, 5)
    torch.testing.assert_close(std_loss(tiny), (tiny[..., 2, 2] - tiny.mean()).pow(2).squeeze())
    with pytest.raises(ValueError):
        std_loss(_rand(1, 1, 4, 8))


def test_exclusion_zero_for_constant_positive_for_shared_edges():
    image = _ramp()
    assert exclusion_loss(image, torch.full_like(image, 0.7)) == 0
    assert exclusion_loss(torch.full_like(image, 0.7), image) == 0
    correlated = exclusion_loss(image, 0.5 * image + 0.1)
    assert correlated > 0
    # Mixed channel counts (1-channel vs 3-channel) work and are symmetric in their arguments.
    gray = image[:, :1]
    torch.testing.assert_close(exclusion_loss(gray, image), exclusion_loss(image, gray))
    # Layers with edges in different places share fewer gradients than correlated ones.
    left = torch.zeros(1, 1, 32, 32)
    left[..., :, 8] = 1.0
    right = torch.zeros(1, 1, 32, 32)
    right[..., 24, :] = 1.0
    assert exclusion_loss(left, right) < exclusion_loss(left, left)


def test_exclusion_rejects_too_small_images():
    with pytest.raises(ValueError):
        exclusion_loss(torch.rand(1, 3, 6, 6), torch.rand(1, 3, 6, 6), levels=3)


def test_extended_l1_full_and_partial_masks():
    a, b = _rand(2, 3, 8, 8, seed=1), _rand(2, 3, 8, 8, seed=2)
    ones = torch.ones(2, 1, 8, 8)
    torch.testing.assert_close(extended_l1(a, b, ones), (a - b).abs().mean())
    mask = torch.zeros(2, 1, 8, 8)
    mask[..., :4, :] = 1
    b_changed = b.clone()
    b_changed[..., 4:, :] += 10.0  # only where the mask is 0
    torch.testing.assert_close(extended_l1(a, b, mask), extended_l1(a, b_changed, mask))
    # Normalised by the mask's mean: half the pixels → the mean L1 over those pixels.
    torch.testing.assert_close(extended_l1(a, b, mask), (a - b)[..., :4, :].abs().mean())
    assert extended_l1(a, b, torch.zeros(2, 1, 8, 8)) == 0


def test_binary_mask_loss_prefers_binary_and_is_bounded():
    binary = (_rand(1, 1, 16, 16) > 0.5).float()
    half = torch.full((1, 1, 16, 16), 0.5)
    assert binary_mask_loss(binary) < binary_mask_loss(half)
    assert torch.isfinite(binary_mask_loss(half))
    torch.testing.assert_close(binary_mask_loss(half, eps=1e-3), torch.tensor(1e3))


def test_weighted_sum_total_and_reporting():
    terms = {"recon": torch.tensor(2.0), "std_t": torch.tensor(3.0), "off": torch.tensor(5.0)}
    loss = WeightedSum({"recon": 1.0, "std_t": 0.5, "off": 0.0, "unused": 7.0})
    total, logged = loss(terms)
    torch.testing.assert_close(total, torch.tensor(2.0 + 1.5))
    assert set(logged) == set(terms)
    assert all(logged[k].equal(terms[k]) for k in terms)
    with pytest.raises(KeyError, match="typo"):
        loss({"typo": torch.tensor(1.0)})
    with pytest.raises(ValueError):
        loss({"recon": torch.ones(2)})


def test_weighted_sum_all_zero_weights_still_backpropagates():
    x = torch.tensor(1.0, requires_grad=True)
    total, _ = WeightedSum({"a": 0.0})({"a": 2 * x})
    total.backward()
    assert total == 0


def test_gradients_finite_for_all_terms():
    x = _rand(2, 3, 16, 16, seed=3).requires_grad_()
    flat = torch.full((2, 3, 16, 16), 0.5, requires_grad=True)
    mask = _rand(2, 1, 16, 16, seed=4).requires_grad_()
    target = _rand(2, 3, 16, 16, seed=5)
    loss = WeightedSum({"std": 1.0, "excl": 0.1, "excl_flat": 0.1, "ext": 1.0, "bin": 0.01})
    total, logged = loss(
        {
            "std": std_loss(x),
            "excl": exclusion_loss(x, target),
            "excl_flat": exclusion_loss(flat, x),  # zero gradient under the 4th root
            "ext": extended_l1(x, target, mask),
            "bin": binary_mask_loss(mask),
        }
    )
    total.backward()
    for tensor in (x, flat, mask):
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all()
    assert all(torch.isfinite(v) for v in logged.values())
    half = torch.full((1, 1, 8, 8), 0.5, requires_grad=True)
    binary_mask_loss(half).backward()
    assert torch.isfinite(half.grad).all()


def test_exclusion_matches_the_reference_formula():
    torch.manual_seed(0)
    a, b = torch.rand(1, 3, 16, 16), torch.rand(1, 2, 16, 16)

    def reference(a, b, levels=3):
        psi = lambda g: 2 * torch.sigmoid(g) - 1  # noqa: E731
        ex, ey = [], []
        for level in range(levels):
            if level:
                a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
            gxa, gxb = a[:, :, 1:, :] - a[:, :, :-1, :], b[:, :, 1:, :] - b[:, :, :-1, :]
            gya, gyb = a[:, :, :, 1:] - a[:, :, :, :-1], b[:, :, :, 1:] - b[:, :, :, :-1]
            for i in range(a.shape[1]):
                for j in range(b.shape[1]):
                    ex.append((psi(gxa[:, i]) ** 2 * psi(gxb[:, j]) ** 2).mean() ** 0.25)
                    ey.append((psi(gya[:, i]) ** 2 * psi(gyb[:, j]) ** 2).mean() ** 0.25)
        n = levels * a.shape[1] * b.shape[1]
        return 0.5 * (sum(ex) / n + sum(ey) / n)

    assert torch.allclose(exclusion_loss(a, b), reference(a, b), rtol=1e-5)
