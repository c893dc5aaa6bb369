"""Picture quality metrics on Y'CbCr planes (DESIGN.md §4 conventions)."""

from __future__ import annotations

import math

import numpy as np


def psnr(a: np.ndarray, b: np.ndarray, bit_depth: int = 8) -> float:
    """PSNR in dB between two planes of the same shape (inf when identical)."""
    peak = float((1 << bit_depth) - 1)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def psnr_yuv(planes_a, planes_b, bit_depth: int = 8) -> dict[str, float]:
    """PSNR of each plane and PSNR-YUV = (6*Y + U + V) / 8."""
    y, u, v = (psnr(a, b, bit_depth) for a, b in zip(planes_a, planes_b))
    return {"y": y, "u": u, "v": v, "yuv": (6 * y + u + v) / 8}
