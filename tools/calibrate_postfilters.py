"""Calibrate the quantiser scale handed to FFmpeg's spp/pp7/fspp/uspp on H.264 streams.

These post-filters were written for MPEG-1/2/4 quantiser scales. For an H.264 stream FFmpeg
gives them the QP unchanged (a QP 37 is taken for quantiser scale 37), so ``redecode evaluate``
passes a constant ``qp=`` instead (``redecode.evaluation.baselines.postfilter_qscale``). This
prints, for the built-in sample clip (x264 preset medium, 3 B-frames, QP 22..42), each filter's
ΔPSNR-Y over the decode for quantiser scales 1..8, and the best one, so the rule can be checked:

    python tools/calibrate_postfilters.py [--size 320x192] [--frames 24]
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

from redecode.evaluation.baselines import BASELINES, FilterRun, postfilter_qscale
from redecode.pipeline.ffmpeg_tool import find_ffmpeg
from redecode.pipeline.samples import camera_frames, encode_frames

from bench_common import machine

QPS = (22, 27, 32, 37, 42)
SCALES = {"spp": (1, 2, 3, 4, 5, 6, 8), "pp7": (1, 2, 3, 4, 5, 6, 8),
          "fspp": (1, 2, 3, 4, 5, 6, 8), "uspp": (1, 2, 3, 4)}


def decode_luma(path: str, width: int, height: int, vf: str | None = None) -> np.ndarray:
    """Luma planes (T, H, W) float64 of an ffmpeg decode (quantizers exported, one filter thread),
    run as ``redecode evaluate`` runs its baselines."""
    run = FilterRun(path, vf or "null", width, height)
    return np.stack([planes[0] for planes in run.frames()]).astype(np.float64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="320x192")
    ap.add_argument("--frames", type=int, default=24)
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    find_ffmpeg()  # a clear error now when there is none
    frames = list(camera_frames(width, height, args.frames))
    print(f"machine: {machine()}")
    print(f"clip: built-in sample {width}x{height}, {args.frames} frames, x264 medium, 3 B-frames")
    with tempfile.TemporaryDirectory() as tmp:
        lossless = encode_frames(os.path.join(tmp, "ll.mkv"), frames,
                                 options={"qp": "0", "preset": "ultrafast"})
        ref = decode_luma(lossless, width, height)

        def psnr(a: np.ndarray) -> float:
            return 10 * np.log10(255.0 ** 2 / np.mean((a - ref) ** 2))

        print("| QP | filter | ΔPSNR-Y by quantiser scale | best | rule |")
        print("|---:|---|---|---:|---:|")
        for qp in QPS:
            path = encode_frames(os.path.join(tmp, f"q{qp}.mp4"), frames,
                                 options={"qp": str(qp), "bf": "3", "preset": "medium"})
            base = psnr(decode_luma(path, width, height))
            for name, scales in SCALES.items():
                gains = {q: psnr(decode_luma(path, width, height,
                                             f"{BASELINES[name]}:qp={q}")) - base for q in scales}
                best = max(gains, key=gains.get)
                cells = " ".join(f"{q}:{g:+.2f}" for q, g in gains.items())
                print(f"| {qp} | {name} | {cells} | {best} | {postfilter_qscale(name, qp)} |", flush=True)


if __name__ == "__main__":
    main()
