"""Keep freed tensor memory for reuse instead of handing it back to the kernel (glibc only).

A restoration step allocates and frees tens of large tensors (a 16-channel 640x360 feature map is
3.7 MB). glibc serves blocks that large with ``mmap`` and returns them with ``munmap`` (or trims
the heap) as soon as they are freed, so every step faults in fresh, zeroed pages again; in a
virtual machine a page fault is dear. Raising the mmap threshold to its maximum (32 MiB on 64-bit)
and the trim threshold to 1 GiB keeps those blocks in the heap for the next step. Measured with
``tools/bench_models.py`` (docs/benchmarks.md, "Models"): the step of ``small`` 15-25 % faster on
the 2-core machine, at the cost of a resident size that stays at its peak.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

__all__ = ["retain_freed_memory"]

#: glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: The largest mmap threshold glibc accepts on 64-bit (HEAP_MAX_SIZE / 2).
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 1 << 30


@functools.lru_cache(maxsize=1)
def retain_freed_memory() -> bool:
    """Tune glibc's allocator once per process; False where there is no glibc (macOS, musl)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
