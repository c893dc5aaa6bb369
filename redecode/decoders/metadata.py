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

import functools
import math

import numpy as np

from ..coding import PICTURE_TYPES
from .frames import Motion

# Codecs whose FFmpeg decoders export motion vectors and per-macroblock quantizers.
MOTION_CODECS = frozenset({"h264", "mpeg1video", "mpeg2video", "mpeg4"})
QP_CODECS = frozenset({"h264", "mpeg1video", "mpeg2video", "mpeg4"})
# Codecs whose exported quantizer is an MPEG quantiser step rather than an H.264 QP.
MPEG_STEP_CODECS = frozenset({"mpeg1video", "mpeg2video", "mpeg4"})
# Codecs whose B-frame vectors FFmpeg does not export. The MPEG-4 Part 2 (H.263-family) decoder
# stores a macroblock's vectors in the picture's motion table only for non-B pictures
# (libavcodec/h263dec.c, decode_slice: ``if (s->pict_type != AV_PICTURE_TYPE_B)
# ff_h263_update_motion_val(s)``; B-frames are never references, so it needs none), and the
# export reads that table. So every B macroblock is listed with list-0 and list-1 entries whose
# vectors are all zero, whatever its mode: direct (vectors derived from the co-located P vectors
# plus a coded delta), forward, backward or bi-directional. The delta vectors are not exported
# either, so the true ones cannot be rebuilt; the reader hands such frames out with
# ``motion = None`` (measured on an FFmpeg mpeg4 clip: 1653 B vectors, none non-zero; its
# P-frames: 338, all non-zero; MPEG-2 B-frames: 1330 of 1384 non-zero; tests/test_containers.py).
UNEXPORTED_B_MOTION_CODECS = frozenset({"mpeg4"})

def picture_type(pict_type: int, key_frame: bool) -> str:
    """Map an AVPictureType code to "I", "P" or "B" (unknown types: I if key frame, else P)."""
    t = PICTURE_TYPES.get(int(pict_type))
    if t is None:
        return "I" if key_frame else "P"
    return t.letter


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
    # The grid gets a margin of one cell on the left and top and two on the right and bottom:
    # blocks (or the halves of 16-pixel blocks) outside the frame land there and are cropped.
    gwp = gw + 3
    n = (gh + 3) * gwp
    # One scatter per output: every entry names 4 cells (its block's 1, 2 or 4 cells, the top-
    # left one repeated), and (dx, dy) travel together as one float32 pair viewed as int64.
    # Laid out (4, entries) so numpy's inner loops run over the entries.
    pairs = np.zeros(2 * n, np.int64)  # (list, cell) -> (dx, dy)
    mask = np.zeros(2 * n, bool)
    if len(mvs):
        # dst is the block's centre, so (dst - 1) // block is its top-left cell
        # (np.minimum/np.maximum: np.clip's Python wrapper costs more than the work here)
        x0 = np.minimum(np.maximum((mvs["dst_x"] - 1) // block + 1, 0), gw + 1)
        y0 = np.minimum(np.maximum((mvs["dst_y"] - 1) // block + 1, 0), gh + 1)
        key = (mvs["source"] > 0) * n + (y0 * gwp + x0)
        shape = (mvs["w"] > block) + 2 * (mvs["h"] > block)  # 16-pixel sides cover 2 cells
        spill = np.array([[0, 0, 0, 0], [0, 1, 0, 1], [0, gwp, 0, gwp], [0, 1, gwp, gwp + 1]])
        cells = (np.take(spill.T, shape, axis=1) + key).ravel()
        scale = np.maximum(mvs["motion_scale"], 1).astype(np.float32)
        vec = np.empty((len(mvs), 2), np.float32)
        np.divide(mvs["motion_x"], scale, out=vec[:, 0])
        np.divide(mvs["motion_y"], scale, out=vec[:, 1])
        pairs[cells] = np.concatenate([vec.view(np.int64).ravel()] * 4)
        mask[cells] = True
    grid = pairs.view(np.float32).reshape(2, gh + 3, gwp, 2)[:, 1:gh + 1, 1:gw + 1]
    grid = np.ascontiguousarray(grid.transpose(0, 3, 1, 2))  # (list, component, y, x)
    mask = np.ascontiguousarray(mask.reshape(2, gh + 3, gwp)[:, 1:gh + 1, 1:gw + 1])
    return Motion(block_size=block, l0=grid[0], l1=grid[1], l0_mask=mask[0], l1_mask=mask[1])


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


@functools.lru_cache(maxsize=4)
def _block_dtype(itemsize: int) -> np.dtype:
    """``AVVideoBlockParams`` as a numpy dtype (FFmpeg may pad it: ``itemsize``)."""
    return np.dtype({"names": _BLOCK_FIELDS, "formats": ["<i4"] * 5,
                     "offsets": [0, 4, 8, 12, 16], "itemsize": itemsize})


@functools.lru_cache(maxsize=8)
def _raster(count: int) -> np.ndarray:
    return np.arange(count)


def qp_grid(params, codec: str, width: int, height: int) -> np.ndarray:
    """Per-macroblock luma QP on the H.264 scale, shaped (ceil(H/16), ceil(W/16)).

    Reads ``AVVideoBlockParams`` straight from the side-data buffer (PyAV's ``qp_map()`` is a
    Python loop that costs milliseconds per HD frame).

    Args:
        params: ``av.sidedata.encparams.VideoEncParams`` of a frame.
        codec: FFmpeg codec name; MPEG-1/2/4 steps are converted (see module docstring).
    """
    gh, gw = -(-height // 16), -(-width // 16)
    start = params.blocks_offset
    raw = np.frombuffer(params, np.uint8, count=start + params.nb_blocks * params.block_size)
    blocks = raw[start:].view(_block_dtype(params.block_size))
    values = params.qp + blocks["delta_qp"]
    ys, xs = blocks["src_y"] >> 4, blocks["src_x"] >> 4
    if len(values) == gh * gw and np.array_equal(ys * gw + xs, _raster(gh * gw)):
        q = values.reshape(gh, gw)  # one block per macroblock in raster order (H.264, MPEG)
    else:
        q = np.full((gh, gw), params.qp, np.int32)
        q[np.clip(ys, 0, gh - 1), np.clip(xs, 0, gw - 1)] = values
    return mpeg_step_to_qp(q) if codec in MPEG_STEP_CODECS else q.astype(np.int16)


def qstep(qp: float) -> float:
    """H.264 quantizer step of a QP: 2 ** ((QP - 4) / 6)."""
    return math.pow(2.0, (qp - 4.0) / 6.0)
