"""Put a gated checkpoint into the package as a shipped model, with what it was made from.

    python tools/ship_weights.py runs/classic_v/classic_v_ga.pt --name classic \
        --bench runs/ship/classic.json --manifest data/mix/manifest.json --note "..."

The shipped file is a plain checkpoint (arch, config, state_dict, meta: never optimizer state).
Its meta keeps the model's own record (training recipe and steps, or the least-squares fit), its
gate, a summary of the data (from the dataset's manifest.json), the validation scores that
bench_quality measured with this very file (``--bench``: its ``--json`` output) and a note.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from redecode.models import SHIPPED, load, save

WEIGHTS = Path(__file__).resolve().parents[1] / "redecode" / "models" / "weights"


def data_summary(manifest: dict) -> dict:
    """The parts of a dataset manifest worth keeping beside the weights."""
    keep = ("clips", "frames", "codecs", "kinds", "frame_types", "settings")
    out = {split: {k: s[k] for k in keep if k in s} for split, s in manifest.get("splits", {}).items()}
    out["sources"] = {split: len(v) for split, v in manifest.get("sources", {}).items()}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="gated checkpoint (tools/fit_gate.py or redecode train)")
    ap.add_argument("--name", required=True, choices=SHIPPED)
    ap.add_argument("--bench", required=True, help="bench_quality.py --json output for this checkpoint")
    ap.add_argument("--manifest", required=True, help="the training dataset's manifest.json")
    ap.add_argument("--note", default="", help="how the validation figures were obtained")
    args = ap.parse_args(argv)
    model = load(args.model)
    if getattr(model, "gate", None) is None:
        raise SystemExit(f"{args.model}: no gate; fit one with tools/fit_gate.py first")
    if (args.name == "classic") != (model.arch == "classic"):
        raise SystemExit(f"{args.model}: a {model.arch} model cannot ship as {args.name!r}")
    bench = json.loads(Path(args.bench).read_text())
    validation = next(iter(bench.values())) if len(bench) == 1 else bench.get(args.model)
    if validation is None:
        raise SystemExit(f"{args.bench}: no figures for {args.model}")
    meta = dict(model.meta)
    meta.update({"shipped_as": args.name, "source_checkpoint": args.model,
                 "data": data_summary(json.loads(Path(args.manifest).read_text())),
                 "validation": validation, "validation_note": args.note})
    out = WEIGHTS / f"{args.name}.pt"
    save(model, out, meta=meta)
    print(f"{out} ({out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
