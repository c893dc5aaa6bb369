"""Benchmark the restoration models: parameters, MAC per pixel, frames per second of the step.

Usage::

    python tools/bench_models.py                   # small, base, classic; 2 CPU threads (+ CUDA)
    python tools/bench_models.py --sizes small --threads 4 --frames 50 --precision fp32 bf16
    python tools/bench_models.py --no-cuda --frames-1080p 2   # CPU only

Frames per second are measured for the one restoration step (``models.restore_step``: reference
alignment with 3 list-0 candidates, the model, the clamp) on one frame per call (batch 1) with
``torch.inference_mode``, for an I-frame (intra path), a P-frame (list 0) and a B-frame (both
lists); inputs already packed (decoding and packing are not timed); frames/s is 1 / the median
time per frame. ``bf16`` runs the step under CPU/CUDA autocast, as ``--precision bf16`` does.
MACs count Conv2d/Linear layers with forward hooks; the warp (grid_sample), classic's gathers
and element-wise work are not in that count but are in the timing.
Prints a Markdown report on stdout.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from torch import nn

import contextlib

from redecode.allocator import retain_freed_memory
from redecode.models import SIZES, Candidates, ClassicNet, build, restore_step

KINDS = {"I": (0, 0), "P": (1, 1), "B": (2, 2)}  # frame type code, reference lists


def cpu_name() -> str:
    """CPU model name from /proc/cpuinfo, else platform's guess."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def inputs(kind: str, height: int, width: int, device: torch.device) -> tuple:
    """Random packed inputs for one frame of a kind ("I", "P", "B") at a luma size."""
    g = torch.Generator().manual_seed(0)
    h, w = math.ceil(height / 2), math.ceil(width / 2)
    code, lists = KINDS[kind]

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=g).to(device)

    decoded = rand(1, 6, h, w)
    qp = torch.full((1, 1, math.ceil(height / 16), math.ceil(width / 16)), 32.0, device=device)
    frame_type = torch.tensor([code], device=device)
    gh, gw = math.ceil(height / 8), math.ceil(width / 8)
    refs = [Candidates([rand(1, 6, h, w) for _ in range(3 if k == 0 else 1)],
                       [rand(1, 6, h, w) for _ in range(3 if k == 0 else 1)],
                       (rand(1, 2, gh, gw) - 0.5) * 32, torch.ones(1, 1, gh, gw, device=device))
            for k in range(lists)]
    return (decoded, qp, frame_type, *refs)


def step(model: nn.Module, precision: str):
    """The timed call: the step under the precision's autocast."""
    def run(*args):
        ctx = torch.autocast(args[0].device.type, dtype=torch.bfloat16) if precision == "bf16" \
            else contextlib.nullcontext()
        with ctx:
            return restore_step(model, *args)
    return run


def count_macs(model: nn.Module, args: tuple) -> int:
    """Multiply-accumulates of one forward pass over Conv2d and Linear layers."""
    total = 0

    def hook(module: nn.Module, inp: tuple, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += out.numel() * (module.in_channels // module.groups) * kh * kw
        else:
            total += out.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.inference_mode():
        restore_step(model, *args)
    for handle in handles:
        handle.remove()
    return total


def fps(model, args: tuple, frames: int, device: torch.device) -> float:
    """Frames per second of ``model(*args)``: 1 / median time of ``frames`` calls after a warm-up.

    The median keeps a busy neighbour on a shared machine from skewing the figure.
    """
    times = []
    with torch.inference_mode():
        model(*args)
        for _ in range(frames):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(*args)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    return 1.0 / statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=[*SIZES, "classic"], choices=[*SIZES, "classic"])
    parser.add_argument("--precision", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--frames", type=int, default=30, help="timed frames at 640x360 (small)")
    parser.add_argument("--frames-base", type=int, default=5, help="timed frames at 640x360 (base)")
    parser.add_argument("--frames-1080p", type=int, default=3, help="timed frames at 1920x1080")
    parser.add_argument("--no-cuda", action="store_true", help="skip CUDA even when available")
    parser.add_argument("--system-malloc", action="store_true",
                        help="leave glibc's allocator as it is (the product retains freed memory)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    retained = not args.system_malloc and retain_freed_memory()
    devices = [torch.device("cpu")]
    if torch.cuda.is_available() and not args.no_cuda:
        devices.append(torch.device("cuda"))
    print(f"- CPU: {cpu_name()} ({os.cpu_count()} logical CPUs), torch threads: {torch.get_num_threads()}")
    print(f"- torch {torch.__version__}, Python {platform.python_version()}, {platform.system()} {platform.machine()}")
    print(f"- allocator: {'freed memory retained (redecode.allocator)' if retained else 'system default'}")
    if len(devices) > 1:
        print(f"- CUDA: {torch.cuda.get_device_name(0)}")
    print()
    print("| model | params | MAC/pixel I | MAC/pixel P | MAC/pixel B | device | precision | resolution "
          "| fps I | fps P | fps B |")
    print("|---|---:|---:|---:|---:|---|---|---|---:|---:|---:|")
    for size in args.sizes:
        model = (ClassicNet() if size == "classic" else build(size)).eval()
        params = sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
        macs = {k: count_macs(model, inputs(k, 360, 640, torch.device("cpu"))) / (640 * 360) for k in KINDS}
        for device in devices:
            model = model.to(device)
            frames_360p = args.frames if size != "base" else args.frames_base
            for precision in args.precision:
                for height, width, frames in ((360, 640, frames_360p), (1080, 1920, args.frames_1080p)):
                    if device.type == "cuda":
                        frames *= 10
                    run = step(model, precision)
                    rates = {k: fps(run, inputs(k, height, width, device), frames, device) for k in KINDS}
                    print(f"| {size} | {params:,} | {macs['I']:,.0f} | {macs['P']:,.0f} | {macs['B']:,.0f} | "
                          f"{device.type} | {precision} | {width}x{height} | {rates['I']:.2f} | {rates['P']:.2f} "
                          f"| {rates['B']:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
