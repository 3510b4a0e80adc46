"""Watermarked cases from clean photos and RGBA logos, for ``scripts/evaluate_watermark.py``.

The compositing follows the SWCNN protocol: the logo is resized by ``scale``, its alpha channel
multiplied by ``opacity`` and the logo pasted with that alpha at ``(x, y)``:

.. math:: I = (1 - o \\cdot \\alpha_L) \\cdot J + o \\cdot \\alpha_L \\cdot L

with the photo ``J``, the logo's colour ``L`` and its alpha ``α_L`` in [0, 1] (the dev logos
carry α_L = 100/255 on their shape, so opacity 0.3 is an effective opacity of 0.12). The image is
rounded to 8 bits, as a saved photo would be. The box a user would draw is the bounding box of the
logo's visible pixels grown by ``BOX_MARGIN`` pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

#: pixels a user's box leaves around the visible logo
BOX_MARGIN = 4


@dataclass(frozen=True)
class Case:
    """One photo × logo composite: where, how large, how opaque."""

    photo: Path
    logo: Path
    opacity: float
    scale: float
    position: tuple[int, int]  # requested (x, y) of the logo's corner
    inverted: bool = False  # the logo's colour L replaced by 1 − L (a white logo turned black)

    @property
    def name(self) -> str:
        x, y = self.position
        name = f"p{self.photo.stem}_l{self.logo.stem}_o{self.opacity:g}_s{self.scale:g}_x{x}y{y}"
        return f"{name}_inv" if self.inverted else name


def read_rgb(path: Path) -> np.ndarray:
    """A photo as (H, W, 3) float32 RGB in [0, 1], alpha dropped."""
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise SystemExit(f"error: cannot read {path}")
    if pixels.ndim == 2:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    return pixels[..., 2::-1].astype(np.float32) / 255.0


def read_logo(path: Path, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The logo's RGB (h, w, 3) and alpha (h, w), in [0, 1], resized by ``scale``."""
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.ndim != 3 or pixels.shape[2] != 4:
        raise SystemExit(f"error: {path} is not an RGBA logo")
    height, width = pixels.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_LINEAR)
    rgba = pixels.astype(np.float32) / 255.0
    return rgba[..., 2::-1], rgba[..., 3]


def composite(case: Case) -> dict[str, np.ndarray | list[int]]:
    """The watermarked image, its clean photo, the logo's footprint and the user's box.

    The logo's corner is moved inside the photo when the requested position would cut it.

    Returns:
        ``image`` and ``clean`` (H, W, 3) in [0, 1], ``footprint`` (H, W) bool (α_L > 0),
        ``alpha`` (H, W) the effective opacity, ``box`` ``[x0, y0, x1, y1]`` (end exclusive).
    """
    clean = read_rgb(case.photo)
    colour, alpha = read_logo(case.logo, case.scale)
    if case.inverted:
        colour = 1.0 - colour
    height, width = clean.shape[:2]
    h, w = alpha.shape
    if h > height or w > width:
        raise SystemExit(f"error: logo {case.logo} at ×{case.scale} exceeds photo {case.photo}")
    x = min(max(0, case.position[0]), width - w)
    y = min(max(0, case.position[1]), height - h)
    opacity = np.zeros((height, width), np.float32)
    opacity[y : y + h, x : x + w] = case.opacity * alpha
    layer = np.zeros_like(clean)
    layer[y : y + h, x : x + w] = colour
    image = (1 - opacity[..., None]) * clean + opacity[..., None] * layer
    image = np.round(image * 255.0) / 255.0
    footprint = opacity > 0
    rows, cols = np.nonzero(footprint)
    box = [
        max(0, int(cols.min()) - BOX_MARGIN),
        max(0, int(rows.min()) - BOX_MARGIN),
        min(width, int(cols.max()) + 1 + BOX_MARGIN),
        min(height, int(rows.max()) + 1 + BOX_MARGIN),
    ]
    return {"image": image, "clean": clean, "footprint": footprint, "alpha": opacity, "box": box}


def single_cases(
    photos: list[Path], logos: list[Path], count: int, inverted: bool = False
) -> list[Case]:
    """``count`` cases: every photo and logo in turn, opacities 0.3–0.6, three scales and four
    positions (the first case is the protocol's: ×1.5, opacity 0.3, at (128, 128)); with
    ``inverted`` the logos' colours are inverted (dark logos)."""
    opacities = (0.3, 0.4, 0.5, 0.6)
    scales = (1.5, 1.0, 1.25)
    positions = ((128, 128), (40, 220), (250, 40), (180, 200))
    return [
        Case(
            photo=photos[(3 * i) % len(photos)],
            logo=logos[i % len(logos)],
            opacity=opacities[i % len(opacities)],
            scale=scales[i % len(scales)],
            position=positions[i % len(positions)],
            inverted=inverted,
        )
        for i in range(count)
    ]


def multi_sets(
    photos: list[Path], logos: list[Path], sets: int, inverted: bool = False
) -> list[list[Case]]:
    """``sets`` groups of three same-size photos, each group under one logo at one place (its
    colour inverted with ``inverted``).

    The first ``P`` groups (``P`` = the same-size photos // 3) use the protocol's ×1.5 at
    (128, 128), opacity 0.3, 0.45, 0.6 by group; later groups reuse the same photo triples
    under other logos, at other scales (×1, ×1.25), places and opacities (0.3–0.6)."""
    by_size: dict[tuple[int, int], list[Path]] = {}
    for photo in photos:
        by_size.setdefault(read_rgb(photo).shape[:2], []).append(photo)
    pool = max(by_size.values(), key=len)
    triples = len(pool) // 3
    if triples == 0:
        raise SystemExit(f"error: a set needs 3 same-size photos, found {len(pool)}")
    positions = ((128, 128), (40, 220), (250, 40), (180, 200))
    groups = []
    for index in range(sets):
        members = pool[3 * (index % triples) : 3 * (index % triples) + 3]
        variant = index // triples
        if variant == 0:
            logo, opacity = logos[(2 * index + 1) % len(logos)], (0.3, 0.45, 0.6)[index % 3]
            scale, position = 1.5, (128, 128)
        else:
            logo, opacity = logos[(3 * index + 2) % len(logos)], (0.3, 0.4, 0.5, 0.6)[index % 4]
            scale = (1.0, 1.25, 1.5)[(variant - 1) % 3]
            position = positions[(index + 2 * variant) % 4]
        groups.append([Case(p, logo, opacity, scale, position, inverted) for p in members])
    return groups
