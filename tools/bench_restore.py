"""Benchmark ``redecode restore``: start-up, per-frame throughput, model speed, memory.

In one run, on x264 clips (QP 37, 3 B-frames) at 640x360 and 1280x720:
* start-up: wall time of a whole ``redecode restore --model none`` process on a 1-frame clip
  (interpreter, imports, opening, the first frame encoded and written) -- floor 0.5 s;
* per-frame throughput of ``restore --model none`` (in-process, start-up excluded) against plain
  PyAV decode-then-encode with the same encoder settings (libx264 CRF 16, preset medium) --
  floor: >= 0.9 of it;
* frames/s of ``classic``, ``small`` and ``base`` end to end (decode, model, encode) on the CPU
  (and CUDA when available), in-process, on a 24-frame clip and (``classic``, ``small``) a 96-frame
  one, with the default two workers and (``classic``, ``small`` on the CPU) with one: x264's
  look-ahead (40 frames at preset medium) holds a 24-frame clip until the file is closed, so the
  short clip's figure includes the whole flush and the longer one is nearer what a real file sees; ``small`` floors: >= 15 frames/s at 640x360 (the quality issue; 30 in the
  CPU-speed issue);
* on a CPU with bf16 hardware (AMX-BF16 / AVX512-BF16), ``small`` under ``--precision bf16``
  beside the default (fp32);
* ``small`` as a user runs it: whole ``redecode restore --model small`` processes at 640x360 on a
  96-frame and a 384-frame clip (interpreter, imports, weights, the process's first touch of its
  memory, decode, model, encode, close), frames divided by wall time, with the process's peak
  RSS. The in-process figures above reuse an engine that other models ran beside, whose state
  differs from a fresh process's in either direction;
* peak RSS of ``restore --model none`` on a short and a 4x longer clip -- floor: no growth.

    python tools/bench_restore.py [--frames 120] [--repeats 4] [--model-repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

import av
import torch

from redecode.pipeline.engine import cpu_has_bf16
from redecode.pipeline.restore import make_engine, restore_file
from redecode.pipeline.samples import make_clip
from redecode.pipeline.writer import EncodeOptions

from bench_common import best_time, machine, model_spec


def plain_transcode(src: str, dst: str) -> int:
    """Decode with PyAV and re-encode with the same settings restore uses by default."""
    n = 0
    with av.open(src) as inp, av.open(dst, "w") as out:
        ist = inp.streams.video[0]
        ist.thread_type = "AUTO"
        ost = out.add_stream("libx264", rate=ist.average_rate)
        ost.width, ost.height, ost.pix_fmt = ist.width, ist.height, "yuv420p"
        ost.time_base = ist.time_base
        ost.options = EncodeOptions().encoder_options()
        for f in inp.decode(ist):
            f.pict_type = av.video.frame.PictureType.NONE
            out.mux(ost.encode(f))
            n += 1
        out.mux(ost.encode(None))
    return n


def startup_seconds(src: str, dst: str, repeats: int) -> float:
    """Best wall time of a whole ``redecode restore --model none`` process on ``src``."""
    import time

    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "redecode", "restore", src, "-o", dst, "--model", "none",
                        "--overwrite", "--no-progress"], check=True, capture_output=True)
        best = min(best, time.perf_counter() - t)
    return best


def process_run(src: str, dst: str, model: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a whole ``redecode restore --model MODEL`` process."""
    import time

    # VmHWM is the peak of this process image; ru_maxrss would start from the parent's RSS at
    # fork time on Linux (the benchmark process itself holds models by then).
    code = ("import sys; from redecode.cli import main; "
            f"rc = main(['restore', {src!r}, '-o', {dst!r}, '--model', {model!r}, '--overwrite', "
            "'--no-progress']); "
            "print(next(int(l.split()[1]) for l in open('/proc/self/status') "
            "if l.startswith('VmHWM')) / 1024); sys.exit(rc)")
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return time.perf_counter() - t, float(out.stdout.strip().splitlines()[-1])


def peak_rss_mib(src: str, dst: str) -> float:
    """Peak resident memory of a ``redecode restore --model none`` process."""
    return process_run(src, dst, "none")[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--repeats", type=int, default=4, help="rounds of plain and `none` (best of each)")
    ap.add_argument("--model-frames", type=int, nargs="+", default=[24, 96],
                    help="clip lengths for the model runs (base: the first only)")
    ap.add_argument("--model-repeats", type=int, default=3,
                    help="rounds of the model runs (the median is printed; base runs once)")
    ap.add_argument("--memory-only", action="store_true", help="only the peak-memory check")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    with tempfile.TemporaryDirectory() as tmp:
        if not args.memory_only:
            one = make_clip(os.path.join(tmp, "one.mp4"), width=640, height=360, frames=1, qp=37)
            t_start = startup_seconds(one, os.path.join(tmp, "one.mkv"), 3)
            print(f"start-up, restore --model none, 1 frame at 640x360: {t_start:.3f} s (floor 0.5 s)")
        for w, h in () if args.memory_only else ((640, 360), (1280, 720)):
            src = make_clip(os.path.join(tmp, f"c{h}.mp4"), width=w, height=h, frames=args.frames,
                            qp=37, bframes=3, gop=250)
            dst = os.path.join(tmp, f"o{h}.mkv")
            none = make_engine("none")
            t_plain = t_none = float("inf")
            for _ in range(args.repeats):  # interleaved, so that the machine's drift hits both
                n, t = best_time(lambda: plain_transcode(src, dst), 1)
                t_plain = min(t_plain, t)
                r, t = best_time(lambda: restore_file(src, dst, engine=none, overwrite=True,
                                                      progress=False), 1)
                t_none = min(t_none, t)
            assert r.frames == n == args.frames
            print(f"{w}x{h}, {n} frames (x264 QP 37, 3 B-frames -> libx264 CRF 16 medium)")
            print(f"  plain PyAV decode + encode      {n / t_plain:7.1f} frames/s")
            print(f"  restore --model none            {n / t_none:7.1f} frames/s   "
                  f"ratio {t_plain / t_none:.3f} (floor 0.9)")
            clips = [make_clip(os.path.join(tmp, f"m{h}_{n}.mp4"), width=w, height=h, frames=n, qp=37,
                               bframes=3) for n in args.model_frames]
            # every model configuration once per round, rounds interleaved, so that the machine's
            # drift spreads over all of them; the median and the range of the rounds are printed
            runs = []
            for name in ("classic", "small", "base"):
                spec, note = model_spec(name, tmp)
                for dev in devices:
                    engines = [make_engine(spec, dev)]  # the default precision (auto)
                    if name == "small" and dev == "cpu" and cpu_has_bf16():  # and bf16 beside it
                        engines.append(make_engine(spec, dev, "bf16"))
                    for engine in engines:
                        # the default: two one-thread workers on a CPU; one worker alongside
                        workers = [(None, "")] + ([(1, ", one worker")] if dev == "cpu" and name != "base" else [])
                        for clip in clips[:1] if name == "base" else clips:
                            for count, label in workers:
                                runs.append((name, dev, engine, clip, count, note, label, []))
            for r in range(args.model_repeats):
                for name, dev, engine, clip, count, note, label, results in runs:
                    if name == "base" and r:
                        continue  # one round: it is slow and has no floor
                    out, t = best_time(lambda: restore_file(clip, dst, engine=engine, overwrite=True,
                                                            progress=False, workers=count), 1)
                    results.append((out.frames / t, out.frames))
            for name, dev, engine, clip, count, note, label, results in runs:
                rates = [rate for rate, _ in results]
                spread = f"; range {min(rates):.2f}-{max(rates):.2f} over {len(rates)} rounds" if len(rates) > 1 else ""
                print(f"  restore --model {name:5s} on {dev} {engine.precision:4s}  {statistics.median(rates):7.2f} frames/s"
                      f"   ({note}, {results[0][1]} frames{label}{spread})")
        if not args.memory_only:
            # small as a user runs it: whole processes, rounds interleaved
            lengths = (96, 384)
            clips = {n: make_clip(os.path.join(tmp, f"p{n}.mp4"), width=640, height=360, frames=n,
                                  qp=37, bframes=3) for n in lengths}
            spec, note = model_spec("small", tmp)
            runs = {n: [] for n in lengths}
            for _ in range(args.model_repeats):
                for n in lengths:
                    runs[n].append(process_run(clips[n], os.path.join(tmp, "p.mkv"), spec))
            print("640x360, whole `redecode restore --model small` processes (start-up included)")
            for n in lengths:
                rates = [n / t for t, _ in runs[n]]
                print(f"  {n:4d} frames  {statistics.median(rates):7.2f} frames/s   ({note}; range "
                      f"{min(rates):.2f}-{max(rates):.2f} over {len(rates)} rounds; peak RSS "
                      f"{max(m for _, m in runs[n]):.0f} MiB)")
        # memory: clips 4x and 16x longer must not need more memory
        peaks = []
        for n in (150, 600, 2400):
            src = make_clip(os.path.join(tmp, f"len{n}.mp4"), width=640, height=360, frames=n,
                            qp=37)
            peaks.append((n, peak_rss_mib(src, os.path.join(tmp, f"len{n}.mkv"))))
        text = ", ".join(f"{n} frames {mib:.0f} MiB" for n, mib in peaks)
        print(f"peak RSS, restore --model none at 640x360: {text} "
              f"(ratio longest/shortest {peaks[-1][1] / peaks[0][1]:.3f}; floor: no growth)")


if __name__ == "__main__":
    main()
