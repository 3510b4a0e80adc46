"""Non-local (haze-lines) dehazing, after Berman, Treibitz & Avidan (CVPR 2016): a baseline.

Pixels of one scene colour lie on a haze-line through the airlight ``A``: ``I − A = t·(J − A)``.
Grouping pixels by the direction of ``I − A`` (points on a sphere) puts each haze-line in one
cluster; its farthest pixel from ``A`` is taken as haze-free, so ``t̃ = r / r_max`` with
``r = ‖I − A‖``. The estimate is bounded below by the physical bound ``1 − min_c I_c / A_c``
(``J ≥ 0``) and smoothed edge-aware (a guided filter stands in for the paper's weighted least
squares).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from dipsys.ops.guided_filter import guided_filter
from dipsys.ops.haze import remove_haze

__all__ = ["nonlocal_dehaze", "sphere_points"]


def sphere_points(count: int) -> Tensor:
    """``count`` nearly uniform unit vectors (a Fibonacci lattice on the sphere).

    Shape:
        - output: ``(count, 3)``
    """
    index = torch.arange(count, dtype=torch.float64) + 0.5
    z = 1 - 2 * index / count
    phi = math.pi * (1 + math.sqrt(5)) * index
    rho = torch.sqrt(1 - z**2)
    return torch.stack([rho * torch.cos(phi), rho * torch.sin(phi), z], dim=1).float()


def nonlocal_dehaze(
    image: Tensor,
    airlight: Tensor,
    lines: int = 1000,
    t_min: float = 0.1,
    radius: int | None = None,
    eps: float = 1e-3,
) -> dict[str, Tensor]:
    """Haze-lines dehazing of each image of the batch under a known airlight.

    .. math::
        \\tilde t(x) = \\max\\Big(\\frac{\\|I(x) - A\\|}{\\max_{y \\in H(x)} \\|I(y) - A\\|},
        1 - \\min_c \\frac{I_c(x)}{A_c}\\Big), \\quad
        J = \\frac{I - (1 - t) A}{\\max(t, t_{min})}

    with ``H(x)`` the pixels whose direction from ``A`` is nearest the same sphere point as
    ``x``'s, and ``t = GF_I(t̃)``.

    Args:
        image: Hazy RGB images in [0, 1].
        airlight: Their airlight colours.
        lines: Number of haze-line directions (sphere points).
        t_min: Transmission floor.
        radius: Guided-filter radius; None: ``max(4, min(H, W) // 16)``.
        eps: Guided-filter regulariser.

    Returns:
        ``{"clean", "transmission", "airlight"}``.

    Shape:
        - image: ``(B, 3, H, W)``; airlight: ``(B, 3, 1, 1)``
        - clean: ``(B, 3, H, W)``; transmission: ``(B, 1, H, W)``
    """
    b, _, h, w = image.shape
    directions = sphere_points(lines).to(image)
    offset = (image - airlight).flatten(2)  # (B, 3, HW)
    distance = offset.norm(dim=1)  # (B, HW)
    unit = offset / distance[:, None].clamp_min(1e-6)
    line = torch.einsum("kc,bcn->bkn", directions, unit).argmax(dim=1)  # (B, HW)
    farthest = torch.zeros(b, lines, dtype=image.dtype, device=image.device)
    farthest = farthest.scatter_reduce(1, line, distance, reduce="amax")
    estimate = distance / farthest.gather(1, line).clamp_min(1e-6)
    bound = 1 - (image / airlight.clamp_min(1e-3)).amin(dim=1).flatten(1)
    estimate = torch.maximum(estimate, bound).clamp(t_min, 1).view(b, 1, h, w)
    r = max(4, min(h, w) // 16) if radius is None else radius
    transmission = guided_filter(image, estimate, r, eps).clamp(t_min, 1)
    clean = remove_haze(image, transmission, airlight, t_min=t_min)
    return {"clean": clean, "transmission": transmission, "airlight": airlight}
