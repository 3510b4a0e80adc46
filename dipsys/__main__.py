"""``python -m dipsys [task=<name>] [key=value ...]``: the ``dipsys`` command."""

from dipsys.cli import main

if __name__ == "__main__":
    main()
