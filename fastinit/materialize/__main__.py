"""``python -m fastinit.materialize``: the same command as ``fastinit materialize``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
