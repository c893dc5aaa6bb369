"""Block motion compensation in numpy: predict a frame from a reference and its vectors.

This is the decoder's own prediction step, without the residual; it proves the vectors are
read right (tests) and draws ``redecode inspect``'s pictures. The differentiable torch
version the networks use lives in ``redecode.models``.
"""

from __future__ import annotations

import cv2
import numpy as np


def dense_field(vectors: np.ndarray, height: int, width: int, block: int = 8) -> np.ndarray:
    """Expand block vectors (2, gh, gw) to a per-pixel field (2, height, width)."""
    field = np.repeat(np.repeat(vectors, block, axis=1), block, axis=2)
    return np.ascontiguousarray(field[:, :height, :width])


def predict_from_reference(
    reference: np.ndarray,
    vectors: np.ndarray,
    *,
    block: int = 8,
    scale: float = 1.0,
) -> np.ndarray:
    """Motion-compensated prediction of a plane.

    Pixel (x, y) of the prediction is ``reference`` sampled at (x + dx, y + dy), bilinear for
    sub-pixel vectors, edge pixels repeated outside the picture (as codecs pad references).

    Args:
        reference: (H, W) plane of the reference frame (any numeric dtype).
        vectors: (2, ceil(H/block), ceil(W/block)) block vectors (dx, dy) in this plane's pixels
            after multiplying by ``scale``.
        block: block size in this plane's pixels (8 for luma, 4 for 4:2:0 chroma).
        scale: factor applied to the vectors (0.5 for 4:2:0 chroma with luma vectors).

    Returns:
        float32 (H, W) prediction.
    """
    h, w = reference.shape
    field = dense_field(vectors.astype(np.float32) * scale, h, w, block)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    src = reference.astype(np.float32)
    return cv2.remap(src, xs + field[0], ys + field[1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
