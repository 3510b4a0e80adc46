"""Train a dipsys task or system: ``python train.py [task=<name>] [overrides...]``.

See ``conf/train.yaml`` for the keys; ``python train.py --help`` lists the config groups.
A user error (bad input, an unknown option, a diverging or stopped run) ends in one line
``error: ...`` on stderr and a non-zero exit code: 2 for bad input or options, 3 for a run that
diverged (its best result so far is written), 143 for a run stopped by SIGTERM (resumable with
``ckpt_path=last``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

import dipsys  # noqa: F401  (registers the config resolvers)

os.environ.setdefault("DIPSYS_ROOT", str(Path(__file__).resolve().parent))

# Flags after which Hydra does not run a job (or reads another config): no pre-check then.
_OTHER_MODES = ("-h", "--help", "--hydra-help", "-c", "--cfg", "-i", "--info", "-p", "--package")
_OTHER_MODES += ("-cp", "--config-path", "-cn", "--config-name", "-cd", "--config-dir")
_OTHER_MODES += ("--shell-completion", "-sc", "--version", "--resolve", "--experimental-rerun")


def _fail(error) -> None:
    print(f"error: {error}", file=sys.stderr)
    sys.exit(error.exit_code)


def _check_command_line(argv: list[str]) -> None:
    """Unknown options and keys as one line, before Hydra reports them in several."""
    from dipsys.config_checks import check_overrides
    from dipsys.errors import InputError

    if any(arg.split("=")[0] in _OTHER_MODES for arg in argv):
        return
    multirun = "-m" in argv or "--multirun" in argv
    overrides = [arg for arg in argv if not arg.startswith("-")]
    try:
        check_overrides(overrides, multirun=multirun)
    except InputError as error:
        _fail(error)


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | dict | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from dipsys.errors import TrainingDiverged, user_error
    from dipsys.run import train

    try:
        metrics = train(cfg)
    except Exception as error:
        found = user_error(error)
        if found is None:
            raise
        if isinstance(found, TrainingDiverged) and HydraConfig.get().mode == RunMode.MULTIRUN:
            # one diverged job of a sweep (say, too high a learning rate) must not end the sweep
            print(f"error: {found}", file=sys.stderr)
            metrics = found.metrics
        else:
            _fail(found)
    metric = cfg.get("optimized_metric")
    if metric and metrics.get(metric) is None:
        print(
            f"error: optimized_metric '{metric}' is not in the metrics (needs data.gt?)",
            file=sys.stderr,
        )
        sys.exit(2)
    return metrics.get(metric) if metric else metrics


if __name__ == "__main__":
    _check_command_line(sys.argv[1:])
    main()
