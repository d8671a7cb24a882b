"""``python -m playground``: the command line (``playground.cli``), also installed as ``model-playground``."""

from __future__ import annotations

import sys

from playground.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m playground"))
