"""What ``ckpt_path`` resumes: a checkpoint file, a run folder, or ``last``.

- ``ckpt_path=<file>.ckpt``: a single task continues from that checkpoint and writes into this
  run's folder (a system refuses: its stages need their folders).
- ``ckpt_path=<run folder>``: that run continues, in its own folder (task or system).
- ``ckpt_path=last``: the run in ``hydra.run.dir`` if it holds a checkpoint or finished stages,
  else the most recent run of the same task under ``outputs/<task>/``; it continues in its own
  folder.

A run resumed from a folder continues where it stopped: a task from ``checkpoints/last.ckpt``,
a system at its first unfinished stage (see :class:`dipsys.systems.System`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from dipsys.errors import InputError
from dipsys.systems.system import LAST_CHECKPOINT, System, checkpoint_step

log = logging.getLogger(__name__)

#: the keyword that picks the latest run of the task
LAST = "last"


def check_checkpoint(path: Path, max_steps: int) -> None:
    """A checkpoint to resume from must exist, load (``weights_only=True``) and stop short of
    the step budget."""
    if not path.is_file():
        raise InputError(f"checkpoint not found: {path}")
    try:
        step = checkpoint_step(path)
    except Exception as error:
        raise InputError(f"cannot read checkpoint {path}: {error}") from error
    if step >= max_steps:
        raise InputError(
            f"checkpoint {path} is at step {step}; set trainer.max_steps above it to continue"
        )


def _state_files(run_dir: Path) -> list[Path]:
    """Files that make a folder resumable: checkpoints and finished stages' results."""
    if not run_dir.is_dir():
        return []
    found = [run_dir / LAST_CHECKPOINT] if (run_dir / LAST_CHECKPOINT).is_file() else []
    found += run_dir.glob(f"stage_*/{LAST_CHECKPOINT.as_posix()}")
    found += run_dir.glob("stage_*/result.pt")
    return found


def latest_run(out_dir: Path, runs: Path) -> Path:
    """The run ``ckpt_path=last`` continues: ``out_dir`` if it holds state, else the run under
    ``runs`` whose newest checkpoint or stage result is the most recent."""
    if _state_files(out_dir):
        return out_dir
    candidates = [d for d in runs.iterdir() if d.is_dir()] if runs.is_dir() else []
    stamped = []
    for candidate in candidates:
        files = _state_files(candidate)
        if files:
            stamped.append((max(f.stat().st_mtime for f in files), candidate))
    if not stamped:
        raise InputError(
            f"ckpt_path=last: no checkpoint to resume in {out_dir} or under {runs}; "
            "start the run without ckpt_path"
        )
    return max(stamped)[1]


def _check_resumable(system: System, run_dir: Path) -> None:
    stage, step = system.progress(run_dir)
    count = len(system.stages)
    if stage == count:
        if (run_dir / "metrics.json").is_file():
            raise InputError(f"the run in {run_dir} has finished; nothing to resume")
        log.info("every stage of %s finished; writing the final result", run_dir)
        return
    if count == 1:
        check_checkpoint(run_dir / LAST_CHECKPOINT, system.stages[0].max_steps)
    where = f"step {step}" if step is not None else "its start"
    log.info("resuming %s at stage %d of %d, %s", run_dir, stage, count, where)


def resume_target(
    ckpt_path: str | None, system: System, out_dir: Path, runs: Path
) -> tuple[Path | None, str | None]:
    """``(run folder to continue or None, checkpoint file for the first stage or None)``.

    Raises:
        InputError: nothing to resume, a missing or finished checkpoint, or a checkpoint file
            given to a system.
    """
    if ckpt_path is None:
        return None, None
    target = Path(str(ckpt_path))
    if str(ckpt_path) == LAST or target.is_dir():
        run_dir = latest_run(out_dir, runs) if str(ckpt_path) == LAST else target
        if not _state_files(run_dir):
            raise InputError(f"nothing to resume in {run_dir}: no checkpoint, no finished stage")
        _check_resumable(system, run_dir)
        if run_dir != out_dir:
            log.info("the run continues in %s (this folder keeps only this log)", run_dir)
        return run_dir, None
    if len(system.stages) > 1:
        raise InputError(
            "a checkpoint file resumes single tasks only; resume a system with ckpt_path=last "
            "or ckpt_path=<its run folder>"
        )
    check_checkpoint(target, system.stages[0].max_steps)
    return None, str(target)
