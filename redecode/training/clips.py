"""Training clips: consecutive frames with their pristine source, decoded pixels and metadata.

A clip is T consecutive frames in display order. On disk it is one ``.npz`` file (the shard
format ``tools/train.py`` reads and ``tools/make_dataset.py`` writes) holding:

=========================  ===============================  =======  ==============================
key                        shape                            dtype    meaning
=========================  ===============================  =======  ==============================
``src_y``                  (T, H, W)                        uint8    pristine luma
``src_u``, ``src_v``       (T, ceil(H/2), ceil(W/2))        uint8    pristine chroma (4:2:0)
``dec_y/dec_u/dec_v``      as ``src_*``                     uint8    decoded planes
``qp``                     (T, ceil(H/16), ceil(W/16))      int16    luma QP per macroblock (H.264)
``types``                  (T,)                             uint8    0 = I, 1 = P, 2 = B
``l0``, ``l1``             (T, 2, ceil(H/8), ceil(W/8))     float32  block vectors (dx, dy), luma px
``l0_mask``, ``l1_mask``   (T, ceil(H/8), ceil(W/8))        bool     block has a vector of the list
``bit_depth`` (optional)   ()                               int      8 unless given
``codec`` (optional)       ()                               str      FFmpeg codec ("h264" unless given)
``meta`` (optional)        ()                               str      JSON: source, encoder, ...
=========================  ===============================  =======  ==============================

Vectors are zero and masks False where a frame has no vector (I-frames, intra blocks, list 1 of
P-frames). Planes are uint16 when ``bit_depth`` > 8. The module is numpy only; it reads decoded
frames duck-typed (``planes``, ``qp``, ``pict_type``, ``motion``) and never imports the decoder.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_path
from ..coding import FrameType
from ..models.tensors import DEFAULT_QP

__all__ = ["Clip", "ClipError", "clip_from_frames", "clip_shape", "load_clip", "read_meta", "save_clip"]



class ClipError(ValueError):
    """A clip file or record is malformed."""


@dataclass(frozen=True)
class Clip:
    """T consecutive frames in display order (arrays as in the module table)."""

    src_y: np.ndarray
    src_u: np.ndarray
    src_v: np.ndarray
    dec_y: np.ndarray
    dec_u: np.ndarray
    dec_v: np.ndarray
    qp: np.ndarray
    types: np.ndarray
    l0: np.ndarray
    l1: np.ndarray
    l0_mask: np.ndarray
    l1_mask: np.ndarray
    bit_depth: int = 8
    codec: str = "h264"

    @property
    def length(self) -> int:
        """Number of frames T."""
        return int(self.types.shape[0])

    @property
    def height(self) -> int:
        return int(self.src_y.shape[1])

    @property
    def width(self) -> int:
        return int(self.src_y.shape[2])

    @property
    def type_letters(self) -> list[str]:
        """Frame types as "I"/"P"/"B", in display order."""
        return [FrameType(t).letter for t in self.types.tolist()]

    def validate(self) -> None:
        """Raise :class:`ClipError` unless every array has the shape and dtype of the format."""
        t, h, w = self.src_y.shape if self.src_y.ndim == 3 else (0, 0, 0)
        if t == 0:
            raise ClipError(f"src_y must be (T, H, W) with T >= 1, got {self.src_y.shape}")
        ch, cw = (h + 1) // 2, (w + 1) // 2
        g16 = (math.ceil(h / 16), math.ceil(w / 16))
        g8 = (math.ceil(h / 8), math.ceil(w / 8))
        plane = np.uint8 if self.bit_depth <= 8 else np.uint16
        expected = {
            "src_y": ((t, h, w), plane), "src_u": ((t, ch, cw), plane), "src_v": ((t, ch, cw), plane),
            "dec_y": ((t, h, w), plane), "dec_u": ((t, ch, cw), plane), "dec_v": ((t, ch, cw), plane),
            "qp": ((t, *g16), np.int16), "types": ((t,), np.uint8),
            "l0": ((t, 2, *g8), np.float32), "l1": ((t, 2, *g8), np.float32),
            "l0_mask": ((t, *g8), np.bool_), "l1_mask": ((t, *g8), np.bool_),
        }
        for name, (shape, dtype) in expected.items():
            a = getattr(self, name)
            if not isinstance(a, np.ndarray) or a.shape != shape or a.dtype != dtype:
                got = f"{a.shape} {a.dtype}" if isinstance(a, np.ndarray) else type(a).__name__
                raise ClipError(f"{name} must be {shape} {np.dtype(dtype)}, got {got}")
        if self.types.size and int(self.types.max()) > 2:
            raise ClipError("types must be 0 (I), 1 (P) or 2 (B)")

    def crop(self, top: int, left: int, height: int, width: int) -> Clip:
        """A spatial crop aligned to the 16-pixel macroblock grid (top, left multiples of 16).

        ``height``/``width`` are clipped to the frame; the QP and vector grids are cropped with
        the planes so every block keeps its own metadata.
        """
        if top % 16 or left % 16:
            raise ValueError(f"crop origin ({top}, {left}) must be a multiple of 16")
        bottom, right = min(top + height, self.height), min(left + width, self.width)
        c = (slice(None), slice(top // 2, (bottom + 1) // 2), slice(left // 2, (right + 1) // 2))
        y = (slice(None), slice(top, bottom), slice(left, right))
        q = (slice(None), slice(top // 16, math.ceil(bottom / 16)), slice(left // 16, math.ceil(right / 16)))
        m = (slice(None), slice(top // 8, math.ceil(bottom / 8)), slice(left // 8, math.ceil(right / 8)))
        v = (slice(None), slice(None), m[1], m[2])
        return replace(
            self, src_y=self.src_y[y], src_u=self.src_u[c], src_v=self.src_v[c],
            dec_y=self.dec_y[y], dec_u=self.dec_u[c], dec_v=self.dec_v[c], qp=self.qp[q],
            l0=self.l0[v], l1=self.l1[v], l0_mask=self.l0_mask[m], l1_mask=self.l1_mask[m])

    def frames(self, start: int, stop: int) -> Clip:
        """Frames ``start`` .. ``stop - 1`` as a clip."""
        sl = slice(start, stop)
        return replace(self, **{name: getattr(self, name)[sl] for name in ARRAY_KEYS})


#: The ``format`` field of a clip's meta (and of a dataset's manifest).
FORMAT = "redecode-clips/2"
ARRAY_KEYS = tuple(f.name for f in fields(Clip) if f.name not in ("bit_depth", "codec"))


def save_clip(path: str | os.PathLike[str], clip: Clip, meta: dict[str, Any] | None = None) -> int:
    """Write a clip as a compressed ``.npz`` (atomically: temporary file, then rename), with
    ``meta`` (plain data) as JSON. Returns the file's size in bytes."""
    clip.validate()
    path = Path(path)
    arrays: dict[str, Any] = {k: getattr(clip, k) for k in ARRAY_KEYS}
    arrays["bit_depth"] = np.array(clip.bit_depth)
    arrays["codec"] = np.array(clip.codec)
    if meta is not None:
        arrays["meta"] = np.array(json.dumps(meta))
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    return path.stat().st_size


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``meta`` of a clip file, or None when it has none or cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return json.loads(str(data["meta"])) if "meta" in data.files else None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None


def load_clip(path: str | os.PathLike[str]) -> Clip:
    """Read and validate a clip ``.npz``; a malformed file raises :class:`ClipError` naming it."""
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ARRAY_KEYS if k not in data.files]
            if missing:
                raise ClipError(f"{path}: missing arrays {', '.join(missing)}")
            arrays = {k: data[k] for k in ARRAY_KEYS}
            bit_depth = int(data["bit_depth"]) if "bit_depth" in data.files else 8
            if "codec" in data.files:
                codec = str(data["codec"])
            elif "meta" in data.files:  # clips written before the codec was stored
                codec = json.loads(str(data["meta"])).get("encoder", {}).get("codec", "h264")
            else:
                codec = "h264"
    except ClipError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ClipError(f"{path}: cannot read clip: {exc}") from exc
    clip = Clip(**arrays, bit_depth=bit_depth, codec=codec)
    try:
        clip.validate()
    except ClipError as exc:
        raise ClipError(f"{path}: {exc}") from exc
    return clip


def clip_shape(path: str | os.PathLike[str]) -> tuple[int, int, int]:
    """(T, H, W) of a clip file, read from the ``src_y`` header without loading the arrays."""
    try:
        with zipfile.ZipFile(path) as zf, zf.open("src_y.npy") as f:
            version = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, _ = read_header(f)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ClipError(f"{path}: cannot read clip: {exc}") from exc
    if len(shape) != 3:
        raise ClipError(f"{path}: src_y must be (T, H, W), got {shape}")
    return int(shape[0]), int(shape[1]), int(shape[2])


def clip_from_frames(
    pristine: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    decoded: Iterable[Any],
    bit_depth: int = 8,
) -> Clip:
    """Build a clip from pristine planes and the decoder's frames of the same video.

    Args:
        pristine: (Y, U, V) 4:2:0 planes of every source frame, in display order.
        decoded: frames with ``planes``, ``qp`` (int16 map or None), ``pict_type`` ("I"/"P"/"B")
            and ``motion`` (None or with ``l0``, ``l1``, ``l0_mask``, ``l1_mask``), in display
            order, e.g. ``redecode.decoders.open_video(path, metadata=True)``.
        bit_depth: bits per sample of both.

    Returns:
        The validated clip; a missing QP map becomes the default QP, missing motion zero vectors.
    """
    frames = list(decoded)
    if len(frames) != len(pristine):
        raise ClipError(f"{len(pristine)} pristine frames but {len(frames)} decoded ones")
    if not frames:
        raise ClipError("a clip needs at least one frame")
    h, w = frames[0].planes[0].shape
    g16 = (math.ceil(h / 16), math.ceil(w / 16))
    g8 = (math.ceil(h / 8), math.ceil(w / 8))
    qp, types, l0, l1, m0, m1 = [], [], [], [], [], []
    for frame in frames:
        qp.append(np.full(g16, DEFAULT_QP, np.int16) if frame.qp is None else np.asarray(frame.qp, np.int16))
        types.append(FrameType[frame.pict_type])
        motion = frame.motion
        if motion is None:
            l0.append(np.zeros((2, *g8), np.float32))
            l1.append(np.zeros((2, *g8), np.float32))
            m0.append(np.zeros(g8, bool))
            m1.append(np.zeros(g8, bool))
        else:
            l0.append(np.asarray(motion.l0, np.float32))
            l1.append(np.asarray(motion.l1, np.float32))
            m0.append(np.asarray(motion.l0_mask, bool))
            m1.append(np.asarray(motion.l1_mask, bool))
    clip = Clip(
        src_y=np.stack([p[0] for p in pristine]), src_u=np.stack([p[1] for p in pristine]),
        src_v=np.stack([p[2] for p in pristine]),
        dec_y=np.stack([f.planes[0] for f in frames]), dec_u=np.stack([f.planes[1] for f in frames]),
        dec_v=np.stack([f.planes[2] for f in frames]),
        qp=np.stack(qp), types=np.array(types, np.uint8), l0=np.stack(l0), l1=np.stack(l1),
        l0_mask=np.stack(m0), l1_mask=np.stack(m1), bit_depth=bit_depth,
        codec=str(getattr(frames[0], "codec", "h264")))
    clip.validate()
    return clip
