"""Picture quality metrics on Y'CbCr planes (DESIGN.md §4 conventions).

Every function takes one frame's planes (uint8 or uint16 numpy arrays at ``bit_depth``).
Averaging is the caller's business and goes per frame first, then per sequence, then over
sequences (FFmpeg's psnr filter averages MSE over frames instead: do not mix the two).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

PSNR_CAP = 100.0
"""PSNR given to identical frames when averaging (a frame's own PSNR is ``inf``)."""

# SSIM constants of Wang et al. 2004 ("Image quality assessment: from error visibility to
# structural similarity"): an 11x11 circular-symmetric Gaussian window, sigma 1.5.
SSIM_K1 = 0.01
SSIM_K2 = 0.03
SSIM_SIGMA = 1.5
SSIM_RADIUS = 5  # int(3.5 * sigma + 0.5): scikit-image's truncate=3.5 gives the same 11 taps


def psnr(a: np.ndarray, b: np.ndarray, bit_depth: int = 8) -> float:
    """PSNR in dB between two planes of the same shape (inf when identical)."""
    peak = float((1 << bit_depth) - 1)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def psnr_yuv(planes_a, planes_b, bit_depth: int = 8) -> dict[str, float]:
    """PSNR of each plane and PSNR-YUV = (6*Y + U + V) / 8."""
    y, u, v = (psnr(a, b, bit_depth) for a, b in zip(planes_a, planes_b))
    return {"y": y, "u": u, "v": v, "yuv": (6 * y + u + v) / 8}


def capped(value: float, cap: float = PSNR_CAP) -> float:
    """``value`` limited to ``cap`` (for averaging PSNRs that may be infinite)."""
    return min(float(value), cap)


def _gaussian_kernel(sigma: float = SSIM_SIGMA, radius: int = SSIM_RADIUS) -> np.ndarray:
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


_KERNEL = _gaussian_kernel()


def _blur(x: np.ndarray) -> np.ndarray:
    # Separable Gaussian, float64. Borders do not matter: ssim_map crops them away.
    return cv2.sepFilter2D(x, cv2.CV_64F, _KERNEL, _KERNEL, borderType=cv2.BORDER_REFLECT)


def ssim_map(a: np.ndarray, b: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """Local SSIM of two planes where the 11x11 window fits: shape (H - 10, W - 10).

    The Gaussian-window SSIM of Wang et al. 2004 (sigma 1.5, K1 0.01, K2 0.03, population
    statistics), as ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=2**bit_depth - 1)`` computes it.
    """
    if a.shape != b.shape:
        raise ValueError(f"planes differ in shape: {a.shape} and {b.shape}")
    r = SSIM_RADIUS
    if min(a.shape) < 2 * r + 1:
        raise ValueError(f"SSIM needs planes of at least {2 * r + 1}x{2 * r + 1} pixels, got {a.shape}")
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    peak = float((1 << bit_depth) - 1)
    c1 = (SSIM_K1 * peak) ** 2
    c2 = (SSIM_K2 * peak) ** 2
    inner = np.s_[r:-r, r:-r]  # where the whole window lies inside the picture
    mx, my = _blur(x)[inner], _blur(y)[inner]
    mxx, myy, mxy = mx * mx, my * my, mx * my
    sxx = _blur(x * x)[inner] - mxx
    syy = _blur(y * y)[inner] - myy
    sxy = _blur(x * y)[inner] - mxy
    num = (2 * mxy + c1) * (2 * sxy + c2)
    den = (mxx + myy + c1) * (sxx + syy + c2)
    return num / den


def ssim(a: np.ndarray, b: np.ndarray, bit_depth: int = 8) -> float:
    """Mean SSIM of two planes (see :func:`ssim_map`); 1.0 when identical."""
    return float(ssim_map(a, b, bit_depth).mean())


def frame_metrics(reference, distorted, bit_depth: int = 8) -> dict[str, float]:
    """PSNR-Y/U/V, PSNR-YUV and SSIM-Y of one frame.

    Args:
        reference, distorted: (Y, U, V) planes of the same shapes.

    Returns:
        ``{"psnr_y", "psnr_u", "psnr_v", "psnr_yuv", "ssim_y"}``; PSNRs are capped at
        :data:`PSNR_CAP` so that identical frames average to a finite number.
    """
    y, u, v = (capped(psnr(r, d, bit_depth)) for r, d in zip(reference, distorted))
    return {
        "psnr_y": y, "psnr_u": u, "psnr_v": v, "psnr_yuv": (6 * y + u + v) / 8,
        "ssim_y": ssim(reference[0], distorted[0], bit_depth),
    }
