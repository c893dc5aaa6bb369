"""Pristine sources for evaluation runs: y4m, raw .yuv, (near-)lossless video files, image folders.

A :class:`Source` hands out its frames as Y'CbCr planes in a planar 4:2:0 format, the format the
encoder is fed and the reference every metric is measured against:

* ``.y4m`` and video files are decoded with PyAV (frames in other formats are converted);
* raw ``.yuv`` needs its size (``--size WxH``, or ``NAME_1920x1080_50.yuv`` in the file name),
  pixel format (``--pix-fmt``, default yuv420p) and rate (``--rate``, default 25);
* a folder of images (PNG, JPEG, BMP, TIFF, WebP) gives one frame per image in natural name order
  (``f2`` before ``f10``), converted from RGB with swscale's default BT.601 limited-range matrix.

``digest()`` hashes the content that is read (and the reading options), so encodes of a source
can be cached across runs.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..decoders import (PLANAR_YUV_FORMATS, DecodeError, Planes, convert_planes, open_video,
                        raw_frames, rgb_to_planes)
from ..decoders.planes import format_bits, plane_shapes, sample_dtype

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
RAW_EXTENSIONS = frozenset({".yuv", ".raw"})
DEFAULT_RATE = Fraction(25)


class SourceError(Exception):
    """A source cannot be read as asked; the message is one line meant for users."""


def parse_size(text: str) -> tuple[int, int]:
    """``"1920x1080"`` -> (1920, 1080); raises SourceError on anything else."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text or "")
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise SourceError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 1920x1080")
    return int(m.group(1)), int(m.group(2))


def parse_rate(text: str | float | Fraction) -> Fraction:
    """``"25"``, ``"29.97"`` or ``"30000/1001"`` -> a positive Fraction."""
    try:
        rate = Fraction(str(text)).limit_denominator(1001000)
    except (ValueError, ZeroDivisionError):
        raise SourceError(f"--rate {text!r}: expected a frame rate like 25, 29.97 or 30000/1001") from None
    if rate <= 0:
        raise SourceError(f"--rate {text!r}: must be positive")
    return rate


def _natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


@dataclass
class Source:
    """A pristine sequence, read frame by frame.

    Attributes:
        path: the file or folder.
        label: short unique name used in results and plots.
        kind: "y4m", "yuv", "video" or "images".
        width, height: luma size.
        rate: frame rate.
        pix_fmt: format of the planes the source holds ("yuv420p", "yuv444p10le", ...).
        bit_depth: bits per sample.
    """

    path: Path
    label: str
    kind: str
    width: int
    height: int
    rate: Fraction
    pix_fmt: str
    bit_depth: int
    images: list[Path] = field(default_factory=list, repr=False)

    def frames(self, pix_fmt: str | None = None, limit: int | None = None) -> Iterator[Planes]:
        """The frames in display order, as planes of ``pix_fmt`` (default: the source's own)."""
        fmt = pix_fmt or self.pix_fmt
        count = 0
        for planes in self._read():
            if limit is not None and count >= limit:
                return
            yield convert_planes(planes, self.pix_fmt, fmt)
            count += 1

    def _read(self) -> Iterator[Planes]:
        if self.kind == "yuv":
            yield from self._read_raw()
        elif self.kind == "images":
            for p in self.images:
                yield rgb_to_planes(_read_image(p, (self.width, self.height)), self.pix_fmt)
        else:
            try:
                with open_video(self.path, metadata=False) as video:
                    for f in video:
                        yield f.planes
            except DecodeError as e:
                raise SourceError(str(e)) from None

    def _read_raw(self) -> Iterator[Planes]:
        with open(self.path, "rb") as f:
            yield from raw_frames(f, self.width, self.height, self.pix_fmt)

    def frame_bytes(self) -> int:
        """Bytes of one frame at the source's format."""
        itemsize = sample_dtype(self.bit_depth).itemsize
        return sum(h * w * itemsize for h, w in plane_shapes(self.width, self.height, self.pix_fmt))

    def digest(self, limit: int | None = None) -> str:
        """A hash of the content the first ``limit`` frames are read from, and how it is read."""
        h = hashlib.blake2b(digest_size=16)
        h.update(f"{self.kind}|{self.width}x{self.height}|{self.pix_fmt}|{self.rate}|".encode())
        if self.kind == "images":
            for p in self.images[:limit]:
                h.update(p.name.encode() + b"\0")
                _hash_file(h, p)
        else:
            nbytes = None
            if limit is not None and self.kind == "yuv":
                nbytes = limit * self.frame_bytes()
            elif limit is not None and self.kind == "y4m":
                # header + per frame "FRAME...\n" + planes; a margin covers frame parameters
                nbytes = 4096 + limit * (self.frame_bytes() + 256)
            _hash_file(h, self.path, nbytes)
        return h.hexdigest()


def _hash_file(h, path: Path, nbytes: int | None = None) -> None:
    left = nbytes
    with open(path, "rb") as f:
        while left is None or left > 0:
            chunk = f.read(1 << 20 if left is None else min(1 << 20, left))
            if not chunk:
                break
            h.update(chunk)
            if left is not None:
                left -= len(chunk)


def _read_image(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    data = np.fromfile(path, np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise SourceError(f"{path}: not an image OpenCV can read")
    if size is not None and (bgr.shape[1], bgr.shape[0]) != size:
        raise SourceError(f"{path}: {bgr.shape[1]}x{bgr.shape[0]}, but the first image of the "
                          f"folder is {size[0]}x{size[1]}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


_NAME_SIZE = re.compile(
    r"(?<!\d)(\d{2,5})x(\d{2,5})(?!\d)(?:[_-](\d+(?:\.\d+)?)(?:fps|hz)?(?=$|[_\-. ]))?", re.I)


def open_source(
    spec: str | os.PathLike,
    *,
    size: tuple[int, int] | None = None,
    rate: Fraction | None = None,
    pix_fmt: str | None = None,
    label: str | None = None,
) -> Source:
    """Open a source: a .y4m or video file, a raw .yuv file, or a folder of images.

    Args:
        spec: the path.
        size: (width, height) of raw .yuv files (default: from a ``_WxH`` part of the file name).
        rate: frame rate of raw files and image folders (default: from the name, else 25).
        pix_fmt: pixel format of raw .yuv files (default yuv420p).
        label: name used in results (default: the file or folder name without extension).

    Raises:
        SourceError: missing, unreadable or inconsistent sources, with a one-line message.
    """
    path = Path(spec)
    name = label or (path.name if path.is_dir() else path.stem) or str(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    if path.is_dir():
        images = sorted((p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                         and not p.name.startswith(".")), key=lambda p: _natural_key(p.name))
        if not images:
            raise SourceError(f"{path}: folder holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        first = _read_image(images[0])
        h, w = first.shape[:2]
        src = Source(path, name, "images", w, h, rate or DEFAULT_RATE, "yuv420p", 8, images)
    elif path.suffix.lower() in RAW_EXTENSIONS:
        fmt = pix_fmt or "yuv420p"
        if fmt not in PLANAR_YUV_FORMATS:
            raise SourceError(f"--pix-fmt {fmt}: raw sources must be one of {', '.join(PLANAR_YUV_FORMATS)}")
        m = _NAME_SIZE.search(path.stem)
        if size is None:
            if not m:
                raise SourceError(f"{path}: a raw .yuv file needs --size WxH (or NAME_WxH.yuv)")
            size = (int(m.group(1)), int(m.group(2)))
        if rate is None:
            rate = parse_rate(m.group(3)) if m and m.group(3) else DEFAULT_RATE
        bits = format_bits(fmt)
        src = Source(path, name, "yuv", size[0], size[1], rate, fmt, bits)
        fsize = path.stat().st_size
        if fsize < src.frame_bytes():
            raise SourceError(f"{path}: {fsize} bytes, less than one {size[0]}x{size[1]} {fmt} frame "
                              f"({src.frame_bytes()} bytes); check --size and --pix-fmt")
        if fsize % src.frame_bytes():
            raise SourceError(f"{path}: {fsize} bytes is not a whole number of {size[0]}x{size[1]} "
                              f"{fmt} frames ({src.frame_bytes()} bytes each); check --size and --pix-fmt")
    else:
        try:
            with open_video(path, metadata=False) as video:
                info = video.info
        except DecodeError as e:
            raise SourceError(str(e)) from None
        kind = "y4m" if path.suffix.lower() == ".y4m" else "video"
        src = Source(path, name, kind, info.width, info.height, info.frame_rate or rate or DEFAULT_RATE,
                     info.pix_fmt, info.bit_depth)
    if src.width % 2 or src.height % 2:
        raise SourceError(f"{path}: {src.width}x{src.height}; 4:2:0 encoding needs an even width "
                          "and height")
    return src


def reference_format(source: Source, codec: str) -> str:
    """The 4:2:0 format a source is encoded in: 10-bit for deep x264/x265 sources, else 8-bit."""
    if source.bit_depth > 8 and codec in ("libx264", "libx265"):
        return "yuv420p10le"
    return "yuv420p"
