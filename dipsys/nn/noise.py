"""Fixed input codes ``z`` fed to the DIP generators (ALGORITHMS.md §1.2)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

NOISE_KINDS = ("uniform", "normal", "meshgrid")


def make_noise(
    kind: str,
    depth: int,
    height: int,
    width: int,
    scale: float = 0.01,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Draw a fixed input code for a generator.

    * ``"uniform"``: ``z ~ U(-0.5, 0.5) * scale`` (the Double-DIP law; its default scale is 1/100).
    * ``"normal"``: ``z ~ N(0, 1) * scale``.
    * ``"meshgrid"``: ``depth / 2`` copies of ``[X, Y]`` with ``X[i, j] = j / (W - 1)`` and
      ``Y[i, j] = i / (H - 1)``, both in ``[0, 1]``; ``scale`` and ``generator`` are ignored.

    Args:
        kind: ``"uniform"``, ``"normal"`` or ``"meshgrid"``.
        depth: Number of channels (even for ``"meshgrid"``).
        height: Spatial height ``H``.
        width: Spatial width ``W``.
        scale: Multiplier of the random kinds.
        generator: CPU generator; a seeded one makes the draw reproducible.

    Returns:
        A float32 CPU tensor.

    Raises:
        ValueError: On an unknown ``kind``, non-positive sizes or an odd ``depth`` for meshgrid.

    Shape:
        - Output: ``(1, depth, height, width)``.
    """
    if min(depth, height, width) < 1:
        raise ValueError(
            f"depth, height and width must be positive, got {depth}, {height}, {width}"
        )
    shape = (1, depth, height, width)
    if kind == "uniform":
        return (torch.rand(shape, generator=generator) - 0.5) * scale
    if kind == "normal":
        return torch.randn(shape, generator=generator) * scale
    if kind == "meshgrid":
        if depth % 2:
            raise ValueError(f"meshgrid noise needs an even depth (pairs of X, Y), got {depth}")
        # max(..., 1) keeps a 1-pixel axis at 0 instead of dividing by zero.
        xs = torch.arange(width, dtype=torch.float32) / max(width - 1, 1)
        ys = torch.arange(height, dtype=torch.float32) / max(height - 1, 1)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        pair = torch.stack([grid_x, grid_y])
        return pair.repeat(depth // 2, 1, 1).unsqueeze(0)
    raise ValueError(f"unknown noise kind {kind!r}; expected one of {', '.join(NOISE_KINDS)}")


def step_noise(
    shape: tuple[int, ...],
    key: tuple[int, ...],
    shard: tuple[int, int] = (0, 1),
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """The perturbation ε ~ N(0, 1) of one step, reproducible from ``key`` alone.

    The generator is seeded by ``hash(key)`` (e.g. ``(seed, step, generator index)``), so a
    resumed run draws what an uninterrupted one drew. With ``shard = (r, N)`` the draw is made
    for all N ranks (``N·shape[0]`` rows) and rank r keeps every N-th row from the r-th, so the
    ranks together draw exactly what one process draws.

    Args:
        shape: the shape of this rank's draw (its first axis: the transforms it holds).
        key: what the draw is reproducible from, e.g. ``(seed, step, generator index)``.
        shard: ``(rank, world size)``.
        device: where to draw.
        dtype: the draw's dtype.

    Example:
        >>> a = step_noise((4, 2, 3, 3), (0, 7, 1))
        >>> b = step_noise((2, 2, 3, 3), (0, 7, 1), shard=(1, 2))
        >>> torch.equal(a[1::2], b)
        True

    Shape:
        - output: ``shape``
    """
    rank, world = shard
    gen = torch.Generator(device=device)
    gen.manual_seed(hash(key) & 0x7FFF_FFFF_FFFF_FFFF)
    full = (shape[0] * world, *shape[1:])
    return torch.randn(full, generator=gen, device=device, dtype=dtype)[rank::world]


@dataclass(frozen=True)
class NoiseSpec:
    """How to draw a generator's fixed input code; see :func:`make_noise`.

    Invalid settings fail at construction, before any training starts. Hydra builds it
    from ``_target_: dipsys.nn.noise.NoiseSpec``.

    Args:
        kind: ``"uniform"``, ``"normal"`` or ``"meshgrid"``.
        depth: Number of channels of the code.
        scale: Multiplier of the random kinds.
    """

    kind: str = "uniform"
    depth: int = 8
    scale: float = 0.01

    def __post_init__(self) -> None:
        if self.kind not in NOISE_KINDS:
            raise ValueError(
                f"unknown noise kind {self.kind!r}; expected one of {', '.join(NOISE_KINDS)}"
            )
        if self.depth < 1 or (self.kind == "meshgrid" and self.depth % 2):
            raise ValueError(f"noise depth must be positive (even for meshgrid), got {self.depth}")

    def make(self, height: int, width: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw the code for an ``height x width`` image.

        Shape:
            - Output: ``(1, depth, height, width)``.
        """
        return make_noise(self.kind, self.depth, height, width, self.scale, generator)
