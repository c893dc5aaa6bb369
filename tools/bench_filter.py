"""Benchmark ``redecode filter`` against ``redecode restore`` doing the same work.

On a 640x360 x264 stream (QP 37, 3 B-frames), in one run: frames/s of the filter writing
(a) YUV4MPEG2 and (b) an encoded stream (libx264 CRF 16 in Matroska, what restore writes),
against restore on the same file with the same model and encoder; and per-frame latency
(decoder hand-out to write, and in frames). Floor: filter keeps >= 0.9 of restore's throughput.

    python tools/bench_filter.py [--frames 120]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile

from redecode.pipeline.filter import run_filter
from redecode.pipeline.restore import make_engine, restore_file
from redecode.pipeline.samples import make_clip

from bench_common import best_time, machine, model_spec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        src = make_clip(os.path.join(tmp, "in.ts"), width=640, height=360, frames=args.frames,
                        qp=37, bframes=3, gop=250, container_format="mpegts")
        print(f"640x360, {args.frames} frames, x264 QP 37, 3 B-frames, MPEG-TS")
        for name in ("none", "small"):
            spec, note = (name, "") if name == "none" else model_spec(name, tmp)
            engine = make_engine(spec, "cpu")
            reps = args.repeats if name == "none" else 1
            r, t_restore = best_time(lambda: restore_file(
                src, os.path.join(tmp, "out.mkv"), engine=engine, overwrite=True,
                progress=False), reps)

            def filt(fmt):
                with open(os.path.join(tmp, f"out.{fmt}"), "wb") as out:
                    return run_filter(src, out, engine, fmt=fmt)

            enc, t_mkv = best_time(lambda: filt("mkv"), reps)
            y4m, t_y4m = best_time(lambda: filt("y4m"), reps)
            n = r.frames
            assert enc.frames == y4m.frames == n
            lat = sorted(y4m.latency)
            frames_late = [e - (i + 1) for i, e in enumerate(y4m.emitted)]
            print(f"  model {name} {note}")
            print(f"    restore -> mkv (x264 CRF 16)     {n / t_restore:7.1f} frames/s")
            print(f"    filter  -> mkv (x264 CRF 16)     {n / t_mkv:7.1f} frames/s   "
                  f"ratio {t_restore / t_mkv:.3f} (floor 0.9)")
            print(f"    filter  -> y4m                   {n / t_y4m:7.1f} frames/s   "
                  f"ratio {t_restore / t_y4m:.3f}")
            print(f"    y4m latency, decoded -> written: median {1000 * statistics.median(lat):.1f} ms,"
                  f" p95 {1000 * lat[int(0.95 * (len(lat) - 1))]:.1f} ms, max "
                  f"{1000 * lat[-1]:.1f} ms; frames waited: max {max(frames_late)}")


if __name__ == "__main__":
    main()
