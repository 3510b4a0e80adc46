"""Atmospheric scattering model (Koschmieder): ``I = t·J + (1 − t)·A``.

``J`` is the haze-free scene radiance, ``t`` the transmission (the fraction of scene light that
reaches the camera, 1 = no haze) and ``A`` the airlight (the colour of the haze at infinite depth).
All images are in [0, 1].
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["add_haze", "remove_haze"]


def add_haze(clean: Tensor, transmission: Tensor, airlight: Tensor) -> Tensor:
    """Composite a hazy image from its layers.

    .. math:: I = t \\cdot J + (1 - t) \\cdot A

    Args:
        clean: Haze-free image ``J``.
        transmission: Transmission map ``t`` in [0, 1].
        airlight: Airlight ``A``, a constant colour per image or a spatial map.

    Returns:
        The hazy image ``I`` (no clipping: it stays in [0, 1] when the inputs do).

    Shape:
        - clean: ``(B, 3, H, W)``
        - transmission: ``(B, 1, H, W)``
        - airlight: ``(B, 3, 1, 1)`` or ``(B, 3, H, W)`` (anything that broadcasts)
        - output: ``(B, 3, H, W)``
    """
    return transmission * clean + (1 - transmission) * airlight


def remove_haze(
    hazy: Tensor,
    transmission: Tensor,
    airlight: Tensor,
    t_min: float = 0.1,
    clip: bool = True,
) -> Tensor:
    """Invert the scattering model for the clean image.

    .. math:: J = \\frac{I - (1 - t) \\cdot A}{\\max(t, t_{min})}

    Where ``t ≥ t_min`` this is the exact inverse of :func:`add_haze`. The floor ``t_min`` keeps
    the division from amplifying noise without bound in dense haze (He et al. use 0.1, as does
    Double-DIP's finalisation).

    Args:
        hazy: Hazy image ``I``.
        transmission: Transmission map ``t``.
        airlight: Airlight ``A`` (constant per image or a spatial map).
        t_min: Lower bound on the transmission used in the division.
        clip: Clip the result to [0, 1].

    Returns:
        The recovered clean image ``J``.

    Shape:
        - hazy: ``(B, 3, H, W)``
        - transmission: ``(B, 1, H, W)``
        - airlight: ``(B, 3, 1, 1)`` or ``(B, 3, H, W)``
        - output: ``(B, 3, H, W)``
    """
    clean = (hazy - (1 - transmission) * airlight) / transmission.clamp_min(t_min)
    return clean.clamp(0.0, 1.0) if clip else clean
