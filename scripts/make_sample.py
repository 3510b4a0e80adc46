"""Synthesize the bundled samples from public-domain / CC0 images (deterministic).

    python scripts/make_sample.py [--beta 1.5] [--seed 0]

Writes ``assets/rocket/hazy.png``, ``transmission.png`` (ground truth) and ``airlight.json``;
``assets/segmentation/two_regions.png`` with ``two_regions_mask.png`` (a tinted brick texture
pasted through a smooth blob over tinted grass) and ``three_regions.png`` with
``three_regions_labels.png`` (brick, gravel and grass regions, labels as gray levels 0/127/255);
``assets/transparency/`` (two photos mixed with opacities 0.3 and 0.6: ``mixture1.png``,
``mixture2.png``, ``layer1.png``, ``layer2.png``, ``alphas.json``) and ``assets/watermark/``
(semi-transparent text on a photo: ``image.png``, ``clean.png``, ``box.json``) and
``assets/watermark_multi/`` (the same watermark on three photos: ``image<i>.png``,
``clean<i>.png``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from dipsys.data.io import read_image, write_image
from dipsys.data.synthetic import (
    colorize,
    fg_bg_composite,
    hazy_image,
    load_sample,
    mixture_pair,
    region_composite,
    smooth_depth,
    watermark_case,
)
from dipsys.data.synthetic.samples import fit_to_size

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "rocket"
SEGMENTATION = SAMPLE.parent / "segmentation"
TRANSPARENCY = SAMPLE.parent / "transparency"
WATERMARK = SAMPLE.parent / "watermark"
WATERMARK_MULTI = SAMPLE.parent / "watermark_multi"


def make_segmentation_samples(seed: int) -> None:
    """Two- and three-region composites of tinted bundled textures, with exact labels."""
    brick = colorize(load_sample("brick"), (0.9, 0.45, 0.3))
    grass = colorize(load_sample("grass"), (0.35, 0.8, 0.3))
    gravel = colorize(load_sample("gravel"), (0.45, 0.55, 0.95))
    two = fg_bg_composite(brick, grass, seed=seed, size=(192, 256))
    write_image(SEGMENTATION / "two_regions.png", two["image"])
    write_image(SEGMENTATION / "two_regions_mask.png", two["mask"])
    three = region_composite([brick, gravel, grass], seed=seed, size=(192, 256))
    write_image(SEGMENTATION / "three_regions.png", three["image"])
    write_image(SEGMENTATION / "three_regions_labels.png", three["labels"].float() / 2)
    print(f"wrote {SEGMENTATION}: fg coverage {two['mask'].mean():.2f}")


def make_transparency_samples(seed: int, alphas: tuple[float, float] = (0.3, 0.6)) -> None:
    """Two bundled photos as the layers of two mixtures with known opacities."""
    gen = torch.Generator().manual_seed(seed)
    layer1 = fit_to_size(load_sample("chelsea"), (192, 256), gen)
    layer2 = fit_to_size(load_sample("coffee"), (192, 256), gen)
    pair = mixture_pair(layer1, layer2, *alphas)
    for index, mixture in enumerate(pair["mixtures"], start=1):
        write_image(TRANSPARENCY / f"mixture{index}.png", mixture)
    write_image(TRANSPARENCY / "layer1.png", layer1)
    write_image(TRANSPARENCY / "layer2.png", layer2)
    meta = {"alphas": list(alphas), "layer1": "chelsea", "layer2": "coffee", "seed": seed}
    (TRANSPARENCY / "alphas.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {TRANSPARENCY}: opacities {list(alphas)}")


def make_watermark_samples(seed: int) -> None:
    """Semi-transparent text on a bundled photo, with its bounding box."""
    clean = fit_to_size(load_sample("astronaut"), (192, 256), torch.Generator().manual_seed(seed))
    case = watermark_case(clean, seed=seed + 1)
    write_image(WATERMARK / "image.png", case["image"])
    write_image(WATERMARK / "clean.png", case["clean"])
    (WATERMARK / "box.json").write_text(json.dumps({"box": case["box"]}) + "\n")
    print(f"wrote {WATERMARK}: box {case['box']}")


def make_watermark_multi_samples(seed: int) -> None:
    """One text watermark (same colour, same box) on three bundled photos."""
    gen = torch.Generator().manual_seed(seed)
    box = None
    for index, name in enumerate(("coffee", "chelsea", "rocket"), start=1):
        clean = fit_to_size(load_sample(name), (192, 256), gen)
        case = watermark_case(clean, seed=seed + 2, box=box)
        box = case["box"]
        write_image(WATERMARK_MULTI / f"image{index}.png", case["image"])
        write_image(WATERMARK_MULTI / f"clean{index}.png", case["clean"])
    print(f"wrote {WATERMARK_MULTI}: box {box}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--beta",
        type=float,
        default=1.5,
        help="haze density (t = exp(-beta * depth), depth in [0.05, 1])",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the depth map")
    parser.add_argument("--airlight", type=float, nargs=3, default=(0.85, 0.88, 0.92))
    args = parser.parse_args()

    clean = read_image(SAMPLE / "clean.png")
    depth = smooth_depth(*clean.shape[-2:], seed=args.seed)
    haze = hazy_image(clean, depth, beta=args.beta, airlight=args.airlight)
    write_image(SAMPLE / "hazy.png", haze["hazy"])
    write_image(SAMPLE / "transmission.png", haze["transmission"])
    meta = {"airlight": list(args.airlight), "beta": args.beta, "seed": args.seed}
    (SAMPLE / "airlight.json").write_text(json.dumps(meta, indent=2) + "\n")
    t = haze["transmission"]
    print(f"wrote {SAMPLE}: transmission in [{t.min():.3f}, {t.max():.3f}]")
    make_segmentation_samples(args.seed)
    make_transparency_samples(args.seed)
    make_watermark_samples(args.seed)
    make_watermark_multi_samples(args.seed)


if __name__ == "__main__":
    main()
