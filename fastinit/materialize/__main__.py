"""``python -m fastinit.materialize``: the same command as ``fastinit materialize``."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
