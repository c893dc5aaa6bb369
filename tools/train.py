"""Shim: ``python tools/train.py ARGS`` is ``redecode train ARGS`` (redecode/training/)."""

import sys

from redecode.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["train", *sys.argv[1:]]))
