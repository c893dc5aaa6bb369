"""Fit (or refit) a checkpoint's safety gate on a validation ladder and save the result.

    python tools/fit_gate.py runs/classic/classic.pt --ladder "data/mix/val_ladder/*.npz" -o classic.pt
"""

from __future__ import annotations

import argparse
import sys

from redecode.models import load, save
from redecode.training.clips import load_clip
from redecode.training.gate import fit_gate
from redecode.training.sampler import expand_paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="checkpoint file")
    ap.add_argument("--ladder", nargs="+", required=True, metavar="GLOB", help="validation clips (all QPs)")
    ap.add_argument("-o", "--output", required=True, help="where the gated checkpoint goes")
    args = ap.parse_args(argv)
    model = load(args.model)
    gate = fit_gate(model, [load_clip(p) for p in expand_paths(args.ladder)], progress=sys.stderr.isatty())
    model.meta["gate"] = gate.to_meta()
    save(model, args.output)
    print(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
