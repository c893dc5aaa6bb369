"""Quality benchmark: how much each model improves x264 video, per QP and frame type.

On the validation ladder of ``redecode dataset --val-ladder`` (validation sources never seen in
training: held-out photographs with camera motion and the held-out final stretch of real videos;
libx264 preset medium, 3 B-frames, 3 references, QP 22/27/32/37/42), every clip is restored
through the real streaming core (scheduler, engine, the one restoration step, the model's safety
gate) and compared with the pristine frames. Printed per model and QP: ΔPSNR-Y over the plain
decode (per frame, then per clip, then over clips) for all frames and by frame type, ΔSSIM-Y,
and the same model with its references withheld (every frame through the intra path): what
motion compensation adds on P/B. Rows are given for the real video alone, the photographs alone
and all scenes. Each model's gate (alpha per QP band, frame type and macroblock activity level) is printed too.

    python tools/bench_quality.py --ladder data/mix/val_ladder --model classic small PATH ...
    python tools/bench_quality.py --folds runs/gate_folds/folds.json

``--folds`` (written by ``tools/fit_gate.py --leave-out-sources``) restores each source's clips
with the model whose gate was fitted without them, and pools the figures over sources.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import time
from collections import defaultdict

import torch

from redecode import models
from redecode.pipeline.engine import Engine
from redecode.training.clips import load_clip, read_meta
from redecode.training.validate import mean_by_type, score_clip

from bench_common import machine

KINDS = {"video": "real video", "image": "photographs", "all": "all scenes"}


def by_qp(files: list[str]) -> dict[int, list[tuple[str, str]]]:
    """Ladder clip files (``..._qpQQ.npz``) -> QP -> [(clip file, source kind)]."""
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for p in files:
        out[int(re.search(r"_qp(\d+)", p).group(1))].append((p, (read_meta(p) or {}).get("source_kind", "image")))
    return dict(out)


def ladder(path: str) -> dict[int, list[tuple[str, str]]]:
    """QP -> [(clip file, source kind)] of a ladder folder."""
    return by_qp(sorted(glob.glob(os.path.join(path, "*_qp*.npz"))))


def bench_model(spec: str | dict[str, str], scenes: dict[int, list[tuple[str, str]]], device: torch.device,
                ablate: bool = True, precision: str = "fp32") -> tuple[dict, float, str]:
    """spec: a model for every clip, or {clip file: model} (each clip restored by its fold's model)."""
    engines: dict[str, tuple] = {}

    def engines_for(path: str) -> tuple:
        s = spec if isinstance(spec, str) else spec[os.path.realpath(path)]
        if s not in engines:
            net = models.load(s, device=device)
            engines[s] = (net, Engine(net, device, precision=precision),
                          Engine(net, device, references=False, precision=precision))
        return engines[s]

    started = time.perf_counter()
    rows: dict = {}
    for qp, files in sorted(scenes.items()):
        full, ablated, kinds = [], [], []
        for path, kind in files:
            net, with_refs, no_refs = engines_for(path)
            clip = load_clip(path)
            full.append(score_clip(clip, with_refs, with_ssim=True))
            ablated.append(score_clip(clip, no_refs) if ablate and with_refs.references else None)
            kinds.append(kind)
        for kind in KINDS:
            sel = [i for i, k in enumerate(kinds) if kind == "all" or k == kind]
            if not sel:
                continue
            f, a = [full[i] for i in sel], [ablated[i] for i in sel]
            psnr, ssim = mean_by_type(f), mean_by_type(f, "ssim")
            row = {"scenes": len(sel), "psnr": psnr, "ssim": ssim}
            if all(x is not None for x in a):  # the references were withheld in a second run
                row["noref"] = mean_by_type(a)
                row["mc_PB"] = psnr.get("PB", 0.0) - row["noref"].get("PB", 0.0)
            rows[f"{kind}/{qp}"] = row
    gates = [n.gate for n, _, _ in engines.values() if getattr(n, "gate", None)]
    return rows, time.perf_counter() - started, gates


def folds(path: str) -> tuple[dict[str, str], dict[int, list[tuple[str, str]]]]:
    """tools/fit_gate.py's folds.json -> ({clip file: model}, the ladder of those clips). Relative
    paths in it are relative to the folder that holds it."""
    base = os.path.dirname(os.path.abspath(path))
    spec = {os.path.realpath(os.path.join(base, clip)): os.path.join(base, fold["model"])
            for fold in json.loads(open(path).read()).values() for clip in fold["clips"]}
    return spec, by_qp(list(spec))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ladder", default="data/mix/val_ladder")
    ap.add_argument("--model", nargs="+", default=["classic", "small"], help="shipped names or checkpoint paths")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16", "auto"],
                    help="the engine's precision (as restore's --precision)")
    ap.add_argument("--no-ablation", action="store_true", help="skip the no-references runs")
    ap.add_argument("--folds", help="fit_gate.py --leave-out-sources's folds.json: held-out gates")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args()
    specs: list[str | dict[str, str]] = list(args.model)
    if args.folds:
        fold_models, scenes = folds(args.folds)
        specs, args.ladder = [fold_models], args.folds
    else:
        scenes = ladder(args.ladder)
    if not scenes:
        raise SystemExit(f"no ladder clips in {args.ladder}: build them with redecode dataset --val-ladder")
    print(f"machine: {machine()}")
    counts = {k: sum(1 for _, kk in scenes[min(scenes)] if kk == k) for k in ("video", "image")}
    print(f"ladder: {args.ladder}, {counts['video']} real-video and {counts['image']} photograph scenes "
          f"x QP {sorted(scenes)}")
    results = {}
    for spec in specs:
        name = spec if isinstance(spec, str) else f"held-out gates of {args.folds}"
        try:
            rows, seconds, gates = bench_model(spec, scenes, torch.device(args.device), not args.no_ablation,
                                               args.precision)
        except models.ModelError as e:
            print(f"\nmodel {name}: skipped ({e})")
            continue
        results[name] = rows
        gate = "no gate" if not gates else "its gate:" if len(gates) == 1 else f"{len(gates)} held-out gates"
        print(f"\nmodel {name} ({args.precision}, {seconds:.0f} s); {gate}")
        if len(gates) == 1:
            print("\n".join(gates[0].describe()) + "\n")
        print("| scenes | QP | ΔPSNR-Y all | I | P | B | ΔSSIM-Y all | no refs: all | no refs: P/B | refs add on P/B |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for key, r in rows.items():
            kind, qp = key.split("/")
            p, n = r["psnr"], r.get("noref", {})
            cells = [p.get("all"), p.get("I"), p.get("P"), p.get("B"), r["ssim"].get("all"),
                     n.get("all"), n.get("PB"), r.get("mc_PB")]
            print(f"| {KINDS[kind]} ({r['scenes']}) | {qp} | "
                  + " | ".join("-" if v is None else f"{v:+.4f}" if i == 4 else f"{v:+.3f}"
                               for i, v in enumerate(cells)) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
