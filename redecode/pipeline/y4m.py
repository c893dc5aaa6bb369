"""YUV4MPEG2 output: the one writer of y4m streams (the filter's sink, evaluation references,
VMAF pipes)."""

from __future__ import annotations

import os
from fractions import Fraction
from typing import IO

import numpy as np

from ..atomic import atomic_path
from ..decoders.planes import PLANAR_YUV_FORMATS


def _tags(pix_fmt: str) -> tuple[str, str]:
    chroma, bits = pix_fmt[3:6], pix_fmt[7:].removesuffix("le")  # "yuv420p10le" -> 420, 10
    if not bits:
        return ("420jpeg", "420JPEG") if chroma == "420" else (chroma, chroma)
    return f"{chroma}p{bits}", f"{chroma}P{bits}"


#: pix_fmt -> (C tag, XYSCSS tag) for every format YUV4MPEG2 carries here.
Y4M_CHROMA: dict[str, tuple[str, str]] = {f: _tags(f) for f in PLANAR_YUV_FORMATS}
_RANGE = {1: " XCOLORRANGE=LIMITED", 2: " XCOLORRANGE=FULL"}


def y4m_header(width: int, height: int, rate: Fraction | None, pix_fmt: str = "yuv420p",
               color_range: int = 0) -> bytes:
    """The stream header: size, rate (25 when unknown), chroma format and, when known, the
    colour range (H.273 code point: 1 limited, 2 full)."""
    if pix_fmt not in Y4M_CHROMA:
        raise ValueError(f"YUV4MPEG2 cannot carry {pix_fmt}")
    c, xy = Y4M_CHROMA[pix_fmt]
    rate = Fraction(rate) if rate else Fraction(25)
    return (f"YUV4MPEG2 W{width} H{height} F{rate.numerator}:{rate.denominator} Ip A1:1 "
            f"C{c} XYSCSS={xy}{_RANGE.get(color_range, '')}\n").encode()


def write_all(out: IO[bytes], data) -> None:
    """Write all of ``data`` (raw, unbuffered files may take less than asked per call)."""
    view = memoryview(data).cast("B")
    while view:
        n = out.write(view)
        view = view[n:] if n is not None else view[len(view):]


def write_planes(out: IO[bytes], planes) -> None:
    """The planes one after the other, no padding (a rawvideo frame)."""
    for p in planes:
        write_all(out, np.ascontiguousarray(p))


class Y4MWriter:
    """Streams planes as YUV4MPEG2 to a binary file object (a file, a pipe to ffmpeg, stdout).

    The header is written at once; :meth:`write` adds one frame. Flushing is the caller's.
    """

    def __init__(self, out: IO[bytes], width: int, height: int, rate: Fraction | None,
                 pix_fmt: str = "yuv420p", color_range: int = 0) -> None:
        header = y4m_header(width, height, rate, pix_fmt, color_range)
        self.out = out
        self.count = 0
        write_all(out, header)

    def write(self, planes) -> None:
        write_all(self.out, b"FRAME\n")
        write_planes(self.out, planes)
        self.count += 1


def write_y4m(path: str | os.PathLike, frames, width: int, height: int, rate: Fraction,
              pix_fmt: str = "yuv420p") -> int:
    """Write planes as a YUV4MPEG2 file (atomically); returns the number of frames."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        writer = Y4MWriter(f, width, height, rate, pix_fmt)
        for planes in frames:
            writer.write(planes)
    return writer.count
