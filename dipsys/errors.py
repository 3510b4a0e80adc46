"""User-facing errors: bad input or contradicting options.

``train.py`` turns an :class:`InputError` into one line on stderr and exit code 2, without a
traceback. Raise it before any heavy work starts.
"""


class InputError(ValueError):
    """A problem with what the user asked for (file, hint, option), not a bug in dipsys."""
