"""Fit (or refit) a checkpoint's safety gate on a validation ladder and save the result.

    python tools/fit_gate.py runs/classic/classic.pt --ladder "data/mix/val_ladder/*.npz" -o classic.pt

``--leave-out-sources DIR`` also writes, for each real-video source of the ladder, the model with
the gate fitted without that source's clips, and ``DIR/folds.json`` ({source: {"model", "clips"}}, paths
relative to DIR, so the folder can be committed and read from any checkout);
``tools/bench_quality.py --folds DIR/folds.json`` then restores each source's clips with the gate
that never saw them: held-out figures for the gate of all clips.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from redecode.atomic import write_text_atomic
from redecode.models import load, save
from redecode.models.gate import MB_ACTIVITY
from redecode.training.clips import load_clip, read_meta
from redecode.training.gate import MIN_GAIN_DB, fit_gate_leaving_out
from redecode.training.sampler import expand_paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="checkpoint file")
    ap.add_argument("--ladder", nargs="+", required=True, metavar="GLOB", help="validation clips (all QPs)")
    ap.add_argument("-o", "--output", required=True, help="where the gated checkpoint goes")
    ap.add_argument("--leave-out-sources", metavar="DIR",
                    help="also fit the gate once without each real-video source (models and folds.json here)")
    ap.add_argument("--video-share", type=float, metavar="F",
                    help="the real-video clips weigh F of the total (0-1; default: by count)")
    ap.add_argument("--activity", nargs="*", type=float, default=list(MB_ACTIVITY), metavar="A",
                    help="macroblock activity levels' upper edges (default %(default)s; none: QP band and "
                         "frame type only)")
    ap.add_argument("--min-gain-db", type=float, default=MIN_GAIN_DB, metavar="DB",
                    help="cells whose correction gains less than DB on their own pixels keep the decode "
                         "(default %(default)s: only cells whose own error would grow)")
    args = ap.parse_args(argv)
    model = load(args.model)
    paths = expand_paths(args.ladder)
    metas = [read_meta(p) or {} for p in paths]
    video = [m.get("source_kind") == "video" for m in metas]
    labels = [None] * len(paths)
    if args.leave_out_sources:
        labels = [m.get("source") if v else None for m, v in zip(metas, video)]
    weights = None
    if args.video_share is not None:
        if not 0 < args.video_share < 1 or all(video) or not any(video):
            raise SystemExit("--video-share needs 0 < F < 1 and both real-video and other clips")
        nv = sum(video)
        weights = [args.video_share / nv if v else (1 - args.video_share) / (len(paths) - nv) for v in video]
    gate, held_out = fit_gate_leaving_out(model, [load_clip(p) for p in paths], labels,
                                          progress=sys.stderr.isatty(), clip_weights=weights,
                                          activity=args.activity, min_gain_db=args.min_gain_db)
    model.meta["gate"] = gate.to_meta()
    save(model, args.output)
    print(args.output)
    if args.leave_out_sources:
        out = Path(args.leave_out_sources)
        out.mkdir(parents=True, exist_ok=True)
        folds = {}
        for label, g in held_out.items():
            model.meta["gate"] = g.to_meta()
            model.meta["gate_left_out"] = label
            file = out / (re.sub(r"[^A-Za-z0-9._-]+", "_", label) + ".pt")
            save(model, file)
            folds[label] = {"model": os.path.relpath(file, out),
                            "clips": [os.path.relpath(p, out) for p, lab in zip(paths, labels) if lab == label]}
        write_text_atomic(out / "folds.json", json.dumps(folds, indent=2) + "\n")
        print(f"{out / 'folds.json'}: {len(folds)} sources left out in turn")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
