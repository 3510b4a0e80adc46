"""Errors a user sees as one line: bad input, a diverging run, a stopped run.

``train.py`` turns a :class:`DipsysError` into one line on stderr, ``error: <message>``, and
exits with the error's ``exit_code``, without a traceback. Raise an :class:`InputError` before
any heavy work starts.
"""


class DipsysError(Exception):
    """A run that cannot go on, for a reason the user can act on (not a bug in dipsys)."""

    exit_code = 1


class InputError(DipsysError, ValueError):
    """A problem with what the user asked for (file, hint, option), not a bug in dipsys."""

    exit_code = 2


class TrainingDiverged(DipsysError, RuntimeError):
    """The loss became NaN or infinite; the best result before it was written."""

    exit_code = 3


class RunInterrupted(DipsysError):
    """The run was stopped (SIGTERM) after saving a checkpoint it can resume from."""

    exit_code = 143  # 128 + SIGTERM, what a shell reports for a process ended by SIGTERM


def user_error(error: BaseException | None) -> DipsysError | None:
    """The DipsysError behind an exception, if any: Hydra wraps errors raised while it
    instantiates a target (an InputError from a constructor) in its own exception."""
    while error is not None:
        if isinstance(error, DipsysError):
            return error
        error = error.__cause__ or error.__context__
    return None
