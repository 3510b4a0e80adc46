"""Train a dipsys task or system: ``python train.py [task=<name>] [overrides...]``.

See ``conf/train.yaml`` for the keys; ``python train.py --help`` lists the config groups.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

import dipsys  # noqa: F401  (registers the config resolvers)

os.environ.setdefault("DIPSYS_ROOT", str(Path(__file__).resolve().parent))


def _input_error(error: BaseException):
    """The InputError behind an exception (Hydra wraps errors raised while instantiating)."""
    from dipsys.errors import InputError

    while error is not None:
        if isinstance(error, InputError):
            return error
        error = error.__cause__ or error.__context__
    return None


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | dict | None:
    from dipsys.run import train

    try:
        metrics = train(cfg)
    except Exception as error:
        user_error = _input_error(error)
        if user_error is None:
            raise
        print(f"error: {user_error}", file=sys.stderr)
        sys.exit(2)
    metric = cfg.get("optimized_metric")
    if metric and metrics.get(metric) is None:
        print(
            f"error: optimized_metric '{metric}' is not in the metrics (needs data.gt?)",
            file=sys.stderr,
        )
        sys.exit(2)
    return metrics.get(metric) if metric else metrics


if __name__ == "__main__":
    main()
