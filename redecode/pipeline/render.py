"""Pictures for people: Y'CbCr planes to RGB, colour maps, side-by-side crops."""

from __future__ import annotations

import cv2
import numpy as np

# Luma/chroma weights (Kr, Kb) per H.273 matrix code; everything else is treated as BT.601.
_KR_KB = {1: (0.2126, 0.0722), 9: (0.2627, 0.0593), 10: (0.2627, 0.0593)}


def planes_to_rgb(
    planes: tuple[np.ndarray, np.ndarray, np.ndarray],
    bit_depth: int = 8,
    matrix: int = 2,
    full_range: bool = False,
) -> np.ndarray:
    """Convert Y'CbCr planes (any subsampling, any depth) to RGB uint8 (H, W, 3) for display."""
    y, u, v = (p.astype(np.float32) / (1 << (bit_depth - 8)) for p in planes)
    h, w = y.shape
    if u.shape != y.shape:
        u = cv2.resize(u, (w, h), interpolation=cv2.INTER_LINEAR)
        v = cv2.resize(v, (w, h), interpolation=cv2.INTER_LINEAR)
    kr, kb = _KR_KB.get(matrix, (0.299, 0.114))
    kg = 1.0 - kr - kb
    if full_range:
        yy, cb, cr = y, u - 128.0, v - 128.0
    else:
        yy, cb, cr = (y - 16.0) * 255 / 219, (u - 128.0) * 255 / 224, (v - 128.0) * 255 / 224
    r = yy + 2 * (1 - kr) * cr
    b = yy + 2 * (1 - kb) * cb
    g = (yy - kr * r - kb * b) / kg
    return np.clip(np.stack([r, g, b], -1) + 0.5, 0, 255).astype(np.uint8)


def save_png(path, rgb: np.ndarray) -> None:
    """Write an RGB uint8 image as PNG."""
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write {path}")


def label(rgb: np.ndarray, text: str, *, scale: float = 0.5) -> np.ndarray:
    """Draw a caption with a dark backing box in the top-left corner (in place; returns it)."""
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(rgb, (0, 0), (tw + 8, th + base + 8), (0, 0, 0), -1)
    cv2.putText(rgb, text, (4, th + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                cv2.LINE_AA)
    return rgb


def upscale(rgb: np.ndarray, min_width: int = 640) -> np.ndarray:
    """Enlarge small pictures by an integer factor (nearest) so details stay visible."""
    f = max(1, -(-min_width // rgb.shape[1]))
    if f == 1:
        return rgb
    return cv2.resize(rgb, (rgb.shape[1] * f, rgb.shape[0] * f), interpolation=cv2.INTER_NEAREST)
