"""``python -m symgrad``: the ``symgrad`` command."""

import sys

from .cli import main

if __name__ == "__main__":  # not when a tool (pytest's doctest collection) imports it
    sys.exit(main())
