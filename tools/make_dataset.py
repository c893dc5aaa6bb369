"""Shim: ``python tools/make_dataset.py ARGS`` is ``redecode dataset ARGS`` (redecode/training/)."""

import sys

from redecode.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["dataset", *sys.argv[1:]]))
