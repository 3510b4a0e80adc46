"""The synthetic dehazing suite: count, kinds, exact layers, determinism."""

from __future__ import annotations

import torch

from dipsys.data.synthetic.haze_suite import gradient_airlight, haze_suite
from dipsys.ops.haze import add_haze


def test_suite_cases_are_exact_and_varied():
    cases = haze_suite(side=40, count=21)
    assert len(cases) == 21
    kinds = [bool(c["uniform"]) for c in cases.values()]
    assert 5 <= kinds.count(False) <= 9
    betas = {name.rsplit("_b", 1)[1] for name in cases}
    assert len(betas) >= 5
    for case in cases.values():
        assert max(case["hazy"].shape[-2:]) == 40
        rebuilt = add_haze(case["clean"][None], case["transmission"][None], case["airlight"][None])
        assert torch.allclose(rebuilt[0].clamp(0, 1), case["hazy"], atol=1e-6)
    again = haze_suite(side=40, count=3)
    first = next(iter(cases))
    assert torch.equal(again[first]["hazy"], cases[first]["hazy"])


def test_gradient_airlight_blends_bottom_to_top():
    field = gradient_airlight(10, 12, (1.0, 0.5, 0.0), (0.0, 0.5, 1.0), tilt=0.0)
    assert field.shape == (3, 10, 12)
    assert torch.allclose(field[:, -1, 0], torch.tensor([1.0, 0.5, 0.0]))
    assert torch.allclose(field[:, 0, 0], torch.tensor([0.0, 0.5, 1.0]))
