"""Train a dipsys task or system: ``python train.py [task=<name>] [overrides...]``.

The same command as ``dipsys`` and ``python -m dipsys`` (see :mod:`dipsys.cli`);
``python train.py --help`` lists the tasks, the common keys and examples.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("DIPSYS_ROOT", str(Path(__file__).resolve().parent))

from dipsys.cli import main  # noqa: E402  (DIPSYS_ROOT first: the configs read it)

if __name__ == "__main__":
    main()
