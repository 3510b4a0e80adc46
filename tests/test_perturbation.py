"""The per-step input perturbation σ_t·f_g·ε reaches the generators, and is off on the last step."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from dipsys.run import build_task


def _dehaze(make_cfg):
    datamodule, task = build_task(make_cfg("trainer.max_steps=10"), {})
    datamodule.trainer = SimpleNamespace(max_steps=10, world_size=1, global_rank=0, global_step=0)
    datamodule.setup("fit")
    task._trainer = SimpleNamespace(datamodule=datamodule, world_size=1, max_steps=10)
    task.setup("fit")
    return datamodule, task


def test_sigma_changes_the_generator_input_and_zero_leaves_the_code(make_cfg):
    _, task = _dehaze(make_cfg)
    perturbed = [name for name, factor in task.perturb.items() if factor != 0.0]
    assert perturbed  # the shipped dehazing config perturbs at least one generator
    for index, name in enumerate(task.generators):
        code = task.generator_code(name, [0, 3])
        quiet = task.generator_input(name, index, [0, 3], torch.tensor(0.0), step=4)
        assert torch.equal(quiet, code)
        noisy = task.generator_input(name, index, [0, 3], torch.tensor(0.05), step=4)
        if name in perturbed:
            change = (noisy - code).std() / (0.05 * task.perturb[name])
            assert 0.8 < float(change) < 1.2, name  # ε ~ N(0, 1), scaled by σ·f_g
        else:
            assert torch.equal(noisy, code)


def test_training_steps_are_perturbed_until_the_last(make_cfg):
    datamodule, task = _dehaze(make_cfg)
    first, last = datamodule.batch(0), datamodule.batch(9)
    assert float(first["sigma"]) > 0 and last["last"] and float(last["sigma"]) == 0.0
    task.train()
    torch.manual_seed(0)
    with torch.no_grad():
        noisy = task(first["k"], first["sigma"], 0, first["target"])
        calm = task(first["k"], torch.tensor(0.0), 0, first["target"])
        again = task(first["k"], torch.tensor(0.0), 0, first["target"])
    assert all(torch.equal(calm[name], again[name]) for name in calm)
    assert any(not torch.allclose(noisy[name], calm[name]) for name in calm)
