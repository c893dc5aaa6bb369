"""Y'CbCr planes and the containers they travel in: ``av.VideoFrame`` objects and raw bytes.

The one table of planar pixel formats (:data:`PLANAR_YUV_FORMATS`) and the one pair of
conversions between planes (numpy arrays, no padding) and PyAV frames (rows padded to FFmpeg's
strides) that the decoder, the writers and the evaluation share.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import av
import numpy as np

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]

#: Planar Y'CbCr formats handled as they are: 4:2:0, 4:2:2 and 4:4:4 at 8, 10, 12 and 16 bits.
PLANAR_YUV_FORMATS = (
    "yuv420p", "yuv422p", "yuv444p", "yuv420p10le", "yuv422p10le", "yuv444p10le",
    "yuv420p12le", "yuv422p12le", "yuv444p12le", "yuv420p16le", "yuv422p16le", "yuv444p16le",
)

#: Full-range ("JPEG") formats, handed out as their plain twins with the range in the colour tags.
JPEG_RANGE = {"yuvj420p": "yuv420p", "yuvj422p": "yuv422p", "yuvj444p": "yuv444p"}


def target_format(name: str, bits: int) -> str:
    """The planar Y'CbCr format that decoded frames of pixel format ``name`` are handed out in."""
    if name in PLANAR_YUV_FORMATS:  # handed out as they are; anything else is converted
        return name
    if name in JPEG_RANGE:
        return JPEG_RANGE[name]
    return "yuv420p10le" if bits > 8 else "yuv420p"


def chroma_shift(pix_fmt: str) -> tuple[int, int]:
    """(horizontal, vertical) log2 chroma subsampling of a planar format: (1, 1) for 4:2:0."""
    if "420" in pix_fmt:
        return (1, 1)
    if "422" in pix_fmt:
        return (1, 0)
    return (0, 0)


def sample_dtype(bit_depth: int) -> np.dtype:
    """numpy type of one sample: uint8 up to 8 bits, little-endian uint16 above."""
    return np.dtype("<u2") if bit_depth > 8 else np.dtype(np.uint8)


def format_bits(pix_fmt: str) -> int:
    """Bits per sample of a pixel format ("yuv420p10le" -> 10)."""
    return max(c.bits for c in av.VideoFormat(pix_fmt).components)


def plane_shapes(width: int, height: int, pix_fmt: str) -> list[tuple[int, int]]:
    """(rows, columns) of the three planes of a ``width`` x ``height`` frame of ``pix_fmt``."""
    fmt = av.VideoFormat(pix_fmt, width, height)
    return [(p.height, p.width) for p in fmt.components[:3]]


def frame_planes(frame: av.VideoFrame, dtype: np.dtype | None = None) -> Planes:
    """Copy the three planes of a planar Y'CbCr frame out of FFmpeg's padded buffers.

    Args:
        frame: a planar frame (yuv420p, yuv422p10le, ...).
        dtype: sample type; default uint8 up to 8 bits, little-endian uint16 above.
    """
    if dtype is None:
        dtype = sample_dtype(max(c.bits for c in frame.format.components))
    out = []
    for plane in frame.planes[:3]:
        rows = np.frombuffer(plane, np.uint8, count=plane.line_size * plane.height)
        rows = rows.reshape(plane.height, plane.line_size)[:, : plane.width * dtype.itemsize]
        out.append(np.ascontiguousarray(rows).view(dtype))
    return out[0], out[1], out[2]


def planes_to_frame(planes: Planes, pix_fmt: str, dtype: np.dtype | None = None) -> av.VideoFrame:
    """Planes copied into a new ``av.VideoFrame`` of format ``pix_fmt`` (FFmpeg's padded rows).

    Args:
        planes: (Y, U, V) arrays of the format's plane shapes.
        pix_fmt: a planar format ("yuv420p", "yuv422p10le", ...).
        dtype: sample type the planes are cast to (default: theirs).
    """
    h, w = planes[0].shape
    frame = av.VideoFrame(w, h, pix_fmt)
    for plane, data in zip(frame.planes, planes):
        data = np.ascontiguousarray(data, dtype)
        view = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        view[:, : data.shape[1] * data.itemsize] = data.view(np.uint8).reshape(plane.height, -1)
    return frame


def convert_planes(planes: Planes, src_fmt: str, dst_fmt: str) -> Planes:
    """Planes of format ``src_fmt`` converted to ``dst_fmt`` by swscale (no copy when equal)."""
    if src_fmt == dst_fmt:
        return planes
    return frame_planes(planes_to_frame(planes, src_fmt).reformat(format=dst_fmt))


def rgb_to_planes(rgb: np.ndarray, pix_fmt: str = "yuv420p") -> Planes:
    """An RGB uint8 (H, W, 3) picture as planes of ``pix_fmt``, converted as FFmpeg does
    (swscale's default BT.601 limited-range matrix)."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return frame_planes(frame.reformat(format=pix_fmt))


def read_exactly(f: IO[bytes], n: int) -> bytes:
    """Up to ``n`` bytes: fewer only at the end of the stream (pipes may return short reads)."""
    chunks, got = [], 0
    while got < n:
        b = f.read(n - got)
        if not b:
            break
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def raw_frames(f: IO[bytes], width: int, height: int, pix_fmt: str) -> Iterator[Planes]:
    """Frames of bare planes (rawvideo: Y, then U, then V, no padding) read from ``f``.

    Raises:
        ValueError: the stream ends inside a frame.
    """
    shapes = plane_shapes(width, height, pix_fmt)
    dtype = sample_dtype(format_bits(pix_fmt))
    sizes = [h * w * dtype.itemsize for h, w in shapes]
    total = sum(sizes)
    while True:
        data = read_exactly(f, total)
        if not data:
            return
        if len(data) < total:
            raise ValueError(f"truncated frame: {len(data)} of {total} bytes")
        out, at = [], 0
        for (h, w), n in zip(shapes, sizes):
            out.append(np.frombuffer(data, dtype, count=h * w, offset=at).reshape(h, w))
            at += n
        yield out[0], out[1], out[2]
