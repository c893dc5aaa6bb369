"""Turn FFmpeg's exported side data into grids: motion per 8x8 block, QP per macroblock.

Facts these functions rely on (checked with PyAV 18.1 / FFmpeg 8.1, see DESIGN.md):

* ``MOTION_VECTORS`` entries are blocks of w x h (8 or 16) luma pixels centred on
  (dst_x, dst_y); the block is predicted from ``dst + motion / motion_scale`` of the
  reference; ``source < 0`` means reference list 0 (past), ``> 0`` list 1 (future).
  Intra macroblocks have no entry.
* ``VIDEO_ENC_PARAMS`` holds one block per 16x16 macroblock. H.264 gives its luma QP
  (``qp + delta``). The MPEG-1/2/4 decoders give ``2 * quantiser_scale_code`` for the
  MPEG-1/MPEG-4 quantiser (linear), i.e. the quantizer *step* of inter coefficients with
  a flat matrix; we map that step onto the H.264 scale, where step = 2 ** ((QP - 4) / 6):
  ``QP = 4 + 6 * log2(step)`` (step 2 -> QP 10, step 10 -> QP 24, step 62 -> QP 40).
"""

from __future__ import annotations

import math

import numpy as np

from .frames import Motion

# Codecs whose FFmpeg decoders export motion vectors and per-macroblock quantizers.
MOTION_CODECS = frozenset({"h264", "mpeg1video", "mpeg2video", "mpeg4"})
QP_CODECS = frozenset({"h264", "mpeg1video", "mpeg2video", "mpeg4"})
# Codecs whose exported quantizer is an MPEG quantiser step rather than an H.264 QP.
MPEG_STEP_CODECS = frozenset({"mpeg1video", "mpeg2video", "mpeg4"})

# av.video.frame.PictureType values -> our three types (S = sprite/GMC P, SI/SP/BI kin).
_PICT_TYPES = {1: "I", 2: "P", 3: "B", 4: "P", 5: "I", 6: "P", 7: "B"}


def picture_type(pict_type: int, key_frame: bool) -> str:
    """Map an AVPictureType code to "I", "P" or "B" (unknown types: I if key frame, else P)."""
    t = _PICT_TYPES.get(int(pict_type))
    if t is None:
        t = "I" if key_frame else "P"
    return t


def motion_grid(mvs: np.ndarray, width: int, height: int, block: int = 8) -> Motion:
    """Rasterise FFmpeg motion-vector side data onto an 8x8 block grid.

    Args:
        mvs: structured array from ``MotionVectors.to_ndarray()`` (fields source, w, h,
            dst_x, dst_y, motion_x, motion_y, motion_scale).
        width, height: luma frame size.

    Returns:
        Motion with l0/l1 (2, ceil(H/8), ceil(W/8)) float32 and their masks.
    """
    gh, gw = -(-height // block), -(-width // block)
    n = gh * gw
    # Flat buffers written with one 1-D fancy assignment per block offset (4-D fancy indexing
    # costs more than the rest together): vec is (list, component, cell), mask (list, cell).
    vec = np.zeros(4 * n, np.float32)
    mask = np.zeros(2 * n, bool)
    if len(mvs):
        base = (mvs["source"] > 0) * (2 * n)  # offset of the entry's list in vec
        scale = np.maximum(mvs["motion_scale"], 1).astype(np.float32)
        dx = mvs["motion_x"] / scale
        dy = mvs["motion_y"] / scale
        bw = mvs["w"].astype(np.int32)
        bh = mvs["h"].astype(np.int32)
        x0 = (mvs["dst_x"] - bw // 2) // block
        y0 = (mvs["dst_y"] - bh // 2) // block
        wide, tall = bw > block, bh > block  # 16-pixel sides cover two grid cells
        for oy, ox, extra in ((0, 0, None), (0, 1, wide), (1, 0, tall), (1, 1, wide & tall)):
            cx, cy = x0 + ox, y0 + oy
            ok = (cx >= 0) & (cx < gw) & (cy >= 0) & (cy < gh)
            if extra is not None:
                ok &= extra
            cell = (cy * gw + cx)[ok]
            b = base[ok]
            vec[b + cell] = dx[ok]
            vec[b + n + cell] = dy[ok]
            mask[b // 2 + cell] = True
    vec = vec.reshape(2, 2, gh, gw)
    mask = mask.reshape(2, gh, gw)
    return Motion(block_size=block, l0=vec[0], l1=vec[1], l0_mask=mask[0], l1_mask=mask[1])


def empty_motion(width: int, height: int, block: int = 8) -> Motion:
    """Motion of a predicted frame whose blocks are all intra (no vectors at all)."""
    return motion_grid(np.zeros(0, _EMPTY_MV_DTYPE), width, height, block)


_EMPTY_MV_DTYPE = np.dtype([
    ("source", "i4"), ("w", "u1"), ("h", "u1"), ("dst_x", "i2"), ("dst_y", "i2"),
    ("motion_x", "i4"), ("motion_y", "i4"), ("motion_scale", "u2"),
])


def mpeg_step_to_qp(step: np.ndarray) -> np.ndarray:
    """Map MPEG-1/2/4 quantiser steps (FFmpeg's exported ``2 * qscale``) to H.264 QPs."""
    s = np.maximum(step.astype(np.float32), 1.0)
    return np.clip(np.rint(4.0 + 6.0 * np.log2(s)), 0, 51).astype(np.int16)


_BLOCK_FIELDS = ["src_x", "src_y", "w", "h", "delta_qp"]


def qp_grid(params, codec: str, width: int, height: int) -> np.ndarray:
    """Per-macroblock luma QP on the H.264 scale, shaped (ceil(H/16), ceil(W/16)).

    Reads ``AVVideoBlockParams`` straight from the side-data buffer (PyAV's ``qp_map()`` is a
    Python loop that costs milliseconds per HD frame).

    Args:
        params: ``av.sidedata.encparams.VideoEncParams`` of a frame.
        codec: FFmpeg codec name; MPEG-1/2/4 steps are converted (see module docstring).
    """
    gh, gw = -(-height // 16), -(-width // 16)
    dtype = np.dtype({"names": _BLOCK_FIELDS, "formats": ["<i4"] * 5,
                      "offsets": [0, 4, 8, 12, 16], "itemsize": params.block_size})
    start = params.blocks_offset
    raw = np.frombuffer(params, np.uint8, count=start + params.nb_blocks * params.block_size)
    blocks = raw[start:].view(dtype)
    values = params.qp + blocks["delta_qp"]
    q = np.full((gh, gw), params.qp, np.int32)
    ys = np.clip(blocks["src_y"] // 16, 0, gh - 1)
    xs = np.clip(blocks["src_x"] // 16, 0, gw - 1)
    q[ys, xs] = values
    return mpeg_step_to_qp(q) if codec in MPEG_STEP_CODECS else q.astype(np.int16)


def qstep(qp: float) -> float:
    """H.264 quantizer step of a QP: 2 ** ((QP - 4) / 6)."""
    return math.pow(2.0, (qp - 4.0) / 6.0)
