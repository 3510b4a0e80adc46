"""Synthesize the bundled hazy sample from its clean, public-domain photo (deterministic).

    python scripts/make_sample.py [--beta 1.5] [--seed 0]

Writes ``assets/rocket/hazy.png``, ``transmission.png`` (ground truth) and ``airlight.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dipsys.data.io import read_image, write_image
from dipsys.data.synthetic import hazy_image, smooth_depth

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "rocket"


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


if __name__ == "__main__":
    main()
