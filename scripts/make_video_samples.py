"""Synthesize the bundled video samples from the bundled CC0 / public-domain images.

    python scripts/make_video_samples.py [--frames 8] [--side 96] [--seed 0] [--out assets/video]

Writes, each as folders of PNG frames (``000.png`` …) so the ground truth is lossless:

- ``segmentation/``: ``frames/`` (a tinted brick blob moving over tinted grass), ``masks/``;
- ``transparency/``: ``frames/`` (a camera panning across a photo, seen through a static photo
  of varying strength), ``layer1/`` (the transmission), ``layer2/`` (the reflection, every frame
  the same), ``alphas.json``;
- ``dehaze/``: ``frames/`` (a still scene under haze growing denser), ``clean/`` (every frame
  the same), ``meta.json`` (airlight and β per frame).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from dipsys.data.synthetic import (
    colorize,
    hazy_video,
    load_sample,
    moving_object_video,
    panning_video,
    transparent_video,
)
from dipsys.data.synthetic.samples import fit_to_size
from dipsys.data.video_io import write_frames

OUT = Path(__file__).resolve().parents[1] / "assets" / "video"


def make_video_samples(out: Path, frames: int = 8, side: int = 96, seed: int = 0) -> None:
    """Write the three samples under ``out`` (see the module docstring)."""
    size = (side, side)
    brick = colorize(load_sample("brick"), (0.9, 0.45, 0.3))
    grass = colorize(load_sample("grass"), (0.35, 0.8, 0.3))
    moving = moving_object_video(brick, grass, frames=frames, size=size, seed=seed)
    write_frames(out / "segmentation" / "frames", moving["frames"])
    write_frames(out / "segmentation" / "masks", moving["masks"])

    gen = torch.Generator().manual_seed(seed)
    scene = panning_video(load_sample("astronaut"), frames, size, seed=seed)
    reflection = fit_to_size(load_sample("coffee"), size, gen)
    mixed = transparent_video(scene, reflection)
    write_frames(out / "transparency" / "frames", mixed["frames"])
    write_frames(out / "transparency" / "layer1", mixed["transmission"])
    write_frames(out / "transparency" / "layer2", reflection.expand(frames, -1, -1, -1))
    alphas = {"alpha": [round(float(a), 4) for a in mixed["alpha"]], "seed": seed}
    (out / "transparency" / "alphas.json").write_text(json.dumps(alphas, indent=2) + "\n")

    clean = fit_to_size(load_sample("rocket"), size, gen)
    haze = hazy_video(clean, frames=frames, seed=seed)
    write_frames(out / "dehaze" / "frames", haze["frames"])
    write_frames(out / "dehaze" / "clean", clean.expand(frames, -1, -1, -1))
    meta = {
        "airlight": haze["airlight"].flatten().tolist(),
        "beta": [round(float(b), 4) for b in haze["beta"]],
        "seed": seed,
    }
    (out / "dehaze" / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {out}: {frames} frames of {side}×{side}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--side", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    make_video_samples(args.out, args.frames, args.side, args.seed)


if __name__ == "__main__":
    main()
