"""The ``dipsys`` command (also ``python train.py`` and ``python -m dipsys``): one Hydra app.

``dipsys [task=<name>] [key=value ...]`` runs a task or system; ``dipsys --help`` lists the
tasks, common keys and examples. A user error (bad input, an unknown option, a diverging or
stopped run) ends in one line ``error: ...`` on stderr and a non-zero exit code: 2 for bad input
or options, 3 for a run that diverged (its best result so far is written), 143 for a run stopped
by SIGTERM (resumable with ``ckpt_path=last``). A run that fails before writing any result
leaves no run folder behind; one that fails later keeps its folder, with the error in
``train.log``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import traceback
from pathlib import Path

import hydra
from omegaconf import DictConfig

from dipsys.cli_help import register_help_resolver
from dipsys.config import REPO_ROOT

# Flags after which Hydra does not run a job (or reads another config): no pre-check then.
_OTHER_MODES = ("-h", "--help", "--hydra-help", "-c", "--cfg", "-i", "--info", "-p", "--package")
_OTHER_MODES += ("-cp", "--config-path", "-cn", "--config-name", "-cd", "--config-dir")
_OTHER_MODES += ("--shell-completion", "-sc", "--version", "--resolve", "--experimental-rerun")

#: what Hydra writes into a run folder before the run starts: a folder holding nothing else
#: holds no result
_HYDRA_ONLY = {".hydra", "train.log"}


def _fail(error) -> None:
    print(f"error: {error}", file=sys.stderr)
    sys.exit(error.exit_code)


def check_command_line(argv: list[str]) -> None:
    """Unknown options and keys as one line with the closest valid one, before Hydra reports
    them in several."""
    from dipsys.cli_hints import explain
    from dipsys.config_checks import check_overrides
    from dipsys.errors import InputError

    if any(arg.split("=")[0] in _OTHER_MODES for arg in argv):
        return
    multirun = "-m" in argv or "--multirun" in argv
    overrides = [arg for arg in argv if not arg.startswith("-")]
    try:
        check_overrides(overrides, multirun=multirun)
    except InputError as error:
        _fail(InputError(explain(str(error), overrides)))


def _log_to_file(message: str) -> None:
    """Write ``message`` as an ERROR record to the run's log file only (not the console)."""
    record = logging.LogRecord("dipsys.cli", logging.ERROR, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def leave_no_clutter(run_dir: Path, message: str) -> None:
    """After a failed run: remove ``run_dir`` when it holds nothing but what Hydra put there,
    else record ``message`` in its ``train.log``."""
    if not run_dir.is_dir():
        return
    if {entry.name for entry in run_dir.iterdir()} <= _HYDRA_ONLY:
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.FileHandler):
                handler.close()
        shutil.rmtree(run_dir, ignore_errors=True)
        with contextlib.suppress(OSError):  # outputs/<task>/ too, when this run was its only one
            run_dir.parent.rmdir()
        return
    _log_to_file(message)


@hydra.main(version_base="1.3", config_path=str(REPO_ROOT / "conf"), config_name="train")
def hydra_app(cfg: DictConfig) -> float | dict | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from dipsys.config_checks import check_input_paths, check_types
    from dipsys.errors import InputError, TrainingDiverged, user_error

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:  # before the training stack is imported (seconds): a bad input fails at once
        check_types(cfg)
        check_input_paths(cfg)
    except InputError as error:
        leave_no_clutter(run_dir, f"error: {error}")
        _fail(error)
    from dipsys.run import train

    try:
        metrics = train(cfg)
    except Exception as error:
        found = user_error(error)
        if found is None:
            leave_no_clutter(run_dir, traceback.format_exc())
            raise
        if isinstance(found, TrainingDiverged) and HydraConfig.get().mode == RunMode.MULTIRUN:
            # one diverged job of a sweep (say, too high a learning rate) must not end the sweep
            print(f"error: {found}", file=sys.stderr)
            _log_to_file(f"error: {found}")
            metrics = found.metrics
        else:
            leave_no_clutter(run_dir, f"error: {found}")
            _fail(found)
    metric = cfg.get("optimized_metric")
    if metric and metrics.get(metric) is None:
        print(
            f"error: optimized_metric '{metric}' is not in the metrics (needs data.gt?)",
            file=sys.stderr,
        )
        sys.exit(2)
    return metrics.get(metric) if metric else metrics


def main() -> None:
    """Entry point of ``dipsys``, ``python -m dipsys`` and ``python train.py``."""
    os.environ.setdefault("DIPSYS_ROOT", str(REPO_ROOT))
    register_help_resolver()
    check_command_line(sys.argv[1:])
    hydra_app()
