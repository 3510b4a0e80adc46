"""Airlight error of every registered estimator on the real photos and the synthetic suite.

    python scripts/evaluate_airlight.py [--airlight-set DIR] [--side 128] [--cases 24]

Prints two Markdown tables (per photo / per case, then median and mean): the L2 error between
the estimated and the annotated RGB airlight on the real hazy photos with an annotation
(``airlights_gt.json``; read by path, never copied), and on the uniform-airlight cases of the
synthetic suite, where the airlight is known exactly. One thread: it runs beside other jobs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from dehazing_report import _airlight_table, airlight_errors, synthetic_airlight_errors
from evaluate import dev_airlight_set

from dipsys.data.synthetic.haze_suite import haze_suite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--airlight-set", type=Path, default=dev_airlight_set())
    parser.add_argument("--side", type=int, default=128, help="synthetic suite side (px)")
    parser.add_argument("--cases", type=int, default=24, help="synthetic suite cases")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.airlight_set.is_dir():
        start = time.perf_counter()
        real = airlight_errors(args.airlight_set)
        print(f"## Real hazy photos ({time.perf_counter() - start:.0f} s)\n")
        print(_airlight_table(real))
    else:
        print(f"(no annotated photos at {args.airlight_set})\n")
    start = time.perf_counter()
    synthetic = synthetic_airlight_errors(haze_suite(side=args.side, count=args.cases))
    print(f"## Synthetic suite, uniform airlight ({time.perf_counter() - start:.0f} s)\n")
    print(_airlight_table(synthetic))


if __name__ == "__main__":
    main()
