"""Shared bits of the benchmarks: machine description, timing, clips, untrained checkpoints."""

from __future__ import annotations

import os
import platform
import time


def machine() -> str:
    """CPU model, cores, Python, PyAV and torch versions, and the GPU if there is one."""
    import av
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu}, {os.cpu_count()} cores, {gpu}; Python {platform.python_version()}, "
            f"PyAV {av.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads)")


def best_time(fn, repeats: int) -> tuple[object, float]:
    """Run ``fn`` ``repeats`` times; its last result and the best wall time."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def model_spec(name: str, tmp: str) -> tuple[str, str]:
    """``name`` if shipped weights exist, else an untrained checkpoint of the same size
    (same speed); returns (spec for --model, note for the printout)."""
    from redecode import models

    try:
        models.load(name)
        return name, "shipped weights"
    except models.ModelError:
        path = os.path.join(tmp, f"{name}_untrained.pt")
        models.save(models.ClassicNet() if name == "classic" else models.build(name), path)
        return path, "untrained weights (same speed)"
