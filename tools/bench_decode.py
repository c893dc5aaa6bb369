"""Benchmark: plain PyAV decoding to numpy planes vs ``open_video(..., metadata=True)``.

Both run in the same process on the same 1280x720 x264 clip (QP 37, 3 B-frames), alternating
repeats so that machine noise hits both alike. Prints frames/s and the ratio (floor: >= 0.7).

    python tools/bench_decode.py [--frames 240] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import av
import numpy as np

from redecode.decoders import open_video
from redecode.pipeline.samples import make_clip

from bench_common import machine


def plain_decode(path: str, thread_type: str | None) -> int:
    """PyAV's own decode loop, planes copied out to numpy (what any user would write)."""
    n = 0
    with av.open(path) as c:
        s = c.streams.video[0]
        if thread_type:
            s.thread_type = thread_type
        for f in c.decode(s):
            planes = [np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width].copy()
                      for p in f.planes]
            n += len(planes) > 0
    return n


def redecode_decode(path: str) -> int:
    n = 0
    with open_video(path, metadata=True) as video:
        for f in video:
            n += f.qp is not None
    return n


def timed(fn, *args) -> tuple[int, float]:
    t = time.perf_counter()
    n = fn(*args)
    return n, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=240)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench720.mp4")
        make_clip(path, width=1280, height=720, frames=args.frames, qp=37, bframes=3, gop=250,
                  options={"preset": "medium"})
        runs = {"plain (PyAV default, slice threads)": [], "plain (frame threads)": [],
                "redecode open_video(metadata=True)": []}
        for _ in range(args.repeats):
            runs["plain (PyAV default, slice threads)"].append(timed(plain_decode, path, None))
            runs["plain (frame threads)"].append(timed(plain_decode, path, "FRAME"))
            runs["redecode open_video(metadata=True)"].append(timed(redecode_decode, path))
    print(f"machine: {machine()}")
    print(f"clip: 1280x720 x264 QP 37, 3 B-frames, {args.frames} frames; best of {args.repeats}")
    fps = {}
    for name, rs in runs.items():
        n = rs[0][0]
        assert all(r[0] == n for r in rs) and n == args.frames, (name, rs)
        fps[name] = n / min(r[1] for r in rs)
        print(f"  {name:40s} {fps[name]:8.1f} frames/s")
    base = fps["plain (PyAV default, slice threads)"]
    meta = fps["redecode open_video(metadata=True)"]
    print(f"ratio metadata / plain (default threads): {meta / base:.3f}  (floor 0.7)")
    print(f"ratio metadata / plain (frame threads):   {meta / fps['plain (frame threads)']:.3f}")


if __name__ == "__main__":
    main()
