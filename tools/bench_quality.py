"""Quality benchmark: how much each shipped model improves x264 video, per QP and frame type.

On the validation ladder built by ``tools/make_dataset.py --val-ladder`` (validation scenes
never seen in training, libx264 preset medium, 3 B-frames, 3 references, at QP 22, 27, 32, 37
and 42), every clip is restored through the real streaming core (scheduler, engine, reference
selection) and compared with the pristine frames. Printed per model and QP: ΔPSNR-Y and
ΔSSIM-Y against the plain decode (per frame, then per clip, then over clips), split by frame
type, and the same model with its references withheld (every frame through the intra path):
the gain of motion compensation on P/B frames.

    python tools/bench_quality.py [--ladder data_cc0/val_ladder] [--model small base PATH ...]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import time
from collections import defaultdict
from fractions import Fraction

import numpy as np
import torch

from redecode import models
from redecode.decoders import Frame, Motion
from redecode.pipeline.engine import Engine
from redecode.pipeline.metrics import psnr, ssim
from redecode.pipeline.scheduler import restore_frames

from bench_common import machine

TYPES = "IPB"


def clip_frames(data) -> list[Frame]:
    """Decoder frames rebuilt from a dataset shard (same planes and metadata the decoder gave)."""
    frames = []
    for t in range(len(data["types"])):
        kind = TYPES[int(data["types"][t])]
        motion = None
        if kind != "I":
            motion = Motion(8, data["l0"][t], data["l1"][t], data["l0_mask"][t], data["l1_mask"][t])
        frames.append(Frame(index=t, pts=t, time_base=Fraction(1, 25), pict_type=kind,
                            planes=(data["dec_y"][t], data["dec_u"][t], data["dec_v"][t]),
                            qp=data["qp"][t], motion=motion))
    return frames


def score(data, engine: Engine) -> dict[str, list[tuple[float, float]]]:
    """Per frame type: (ΔPSNR-Y, ΔSSIM-Y) of each restored frame over its decode."""
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in restore_frames(clip_frames(data), engine):
        t = r.frame.index
        src, dec, res = data["src_y"][t], data["dec_y"][t], r.planes[0]
        d_psnr = psnr(res, src) - psnr(dec, src)
        d_ssim = ssim(res, src) - ssim(dec, src)
        out[r.frame.pict_type].append((d_psnr, d_ssim))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ladder", default="data_cc0/val_ladder")
    ap.add_argument("--model", nargs="+", default=["small", "base"],
                    help="shipped model names or checkpoint paths")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args()
    paths = sorted(glob.glob(os.path.join(args.ladder, "*_qp*.npz")))
    if not paths:
        raise SystemExit(f"no ladder clips in {args.ladder}: build them with "
                         "tools/make_dataset.py --val-ladder")
    print(f"machine: {machine()}")
    by_qp: dict[int, list[str]] = defaultdict(list)
    for p in paths:
        by_qp[int(re.search(r"_qp(\d+)", p).group(1))].append(p)
    print(f"ladder: {args.ladder}, {len(by_qp[min(by_qp)])} scenes x QP {sorted(by_qp)}")
    device = torch.device(args.device)
    results = {}
    for spec in args.model:
        try:
            net = models.load(spec, device=device)
        except models.ModelError as e:
            print(f"\nmodel {spec}: skipped ({e})")
            continue
        with_refs = Engine(net, device)
        no_refs = Engine(net, device, references=False)
        started = time.perf_counter()
        rows = {}
        for qp in sorted(by_qp):
            per_clip = defaultdict(list)  # key -> per-clip means
            for p in by_qp[qp]:
                with np.load(p) as z:
                    data = {k: z[k] for k in z.files}
                full, ablated = score(data, with_refs), score(data, no_refs)
                for kind in TYPES:
                    if full[kind]:
                        per_clip[("psnr", kind)].append(np.mean([d[0] for d in full[kind]]))
                        per_clip[("ssim", kind)].append(np.mean([d[1] for d in full[kind]]))
                        per_clip[("noref", kind)].append(np.mean([d[0] for d in ablated[kind]]))
                every = [d for k in TYPES for d in full[k]]
                every_ab = [d for k in TYPES for d in ablated[k]]
                pb = [d for k in "PB" for d in full[k]]
                pb_ab = [d for k in "PB" for d in ablated[k]]
                per_clip[("psnr", "all")].append(np.mean([d[0] for d in every]))
                per_clip[("ssim", "all")].append(np.mean([d[1] for d in every]))
                per_clip[("noref", "all")].append(np.mean([d[0] for d in every_ab]))
                per_clip[("mc", "PB")].append(np.mean([d[0] for d in pb]) -
                                              np.mean([d[0] for d in pb_ab]))
            rows[qp] = {f"{m}_{k}": float(np.mean(v)) for (m, k), v in per_clip.items()}
        seconds = time.perf_counter() - started
        results[spec] = rows
        name = getattr(net, "name", spec)
        print(f"\nmodel {spec} ({name}; {seconds:.0f} s)")
        print("| QP | ΔPSNR-Y all | I | P | B | ΔSSIM-Y all | no refs: ΔPSNR-Y all "
              "| MC gain on P/B (dB) |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for qp, r in rows.items():
            print(f"| {qp} | {r['psnr_all']:+.3f} | {r.get('psnr_I', float('nan')):+.3f} | "
                  f"{r.get('psnr_P', float('nan')):+.3f} | {r.get('psnr_B', float('nan')):+.3f} | "
                  f"{r['ssim_all']:+.4f} | {r['noref_all']:+.3f} | {r['mc_PB']:+.3f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
