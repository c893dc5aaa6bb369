"""Typed records the decoder hands out: stream info, frames and their metadata."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

# ITU-T H.273 code points (FFmpeg uses the same numbers), named as FFmpeg names them.
RANGE_NAMES = {0: "unknown", 1: "tv", 2: "pc"}
MATRIX_NAMES = {
    0: "gbr", 1: "bt709", 2: "unknown", 4: "fcc", 5: "bt470bg", 6: "smpte170m",
    7: "smpte240m", 8: "ycgco", 9: "bt2020nc", 10: "bt2020c", 11: "smpte2085",
    12: "chroma-derived-nc", 13: "chroma-derived-c", 14: "ictcp",
}
PRIMARIES_NAMES = {
    1: "bt709", 2: "unknown", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
    8: "film", 9: "bt2020", 10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213",
}
TRANSFER_NAMES = {
    1: "bt709", 2: "unknown", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m",
    8: "linear", 9: "log100", 10: "log316", 11: "iec61966-2-4", 12: "bt1361e",
    13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084",
    17: "smpte428", 18: "arib-std-b67",
}
# FFmpeg's AVFieldOrder: how the two fields of an interlaced picture are coded and shown.
# "tt": top field coded and shown first; "bb": bottom first; "tb"/"bt": coded in one order,
# shown in the other.
FIELD_ORDER_NAMES = {0: "unknown", 1: "progressive", 2: "tt", 3: "bb", 4: "tb", 5: "bt"}


@dataclass(frozen=True)
class ColorTags:
    """Colour description of a stream as H.273 code points (2 = unspecified)."""

    range: int = 0
    matrix: int = 2
    primaries: int = 2
    transfer: int = 2

    def names(self) -> dict[str, str]:
        """The tags as FFmpeg's names, e.g. ``{"range": "tv", "matrix": "bt709", ...}``."""
        return {
            "range": RANGE_NAMES.get(self.range, str(self.range)),
            "matrix": MATRIX_NAMES.get(self.matrix, str(self.matrix)),
            "primaries": PRIMARIES_NAMES.get(self.primaries, str(self.primaries)),
            "transfer": TRANSFER_NAMES.get(self.transfer, str(self.transfer)),
        }


@dataclass(frozen=True)
class VideoInfo:
    """What is known about a video stream before its frames are read.

    Attributes:
        width, height: luma size in pixels.
        frame_rate: average frame rate, or None when the container does not say.
        time_base: unit of the frames' ``pts``.
        codec: FFmpeg codec name ("h264", "mpeg2video", ...).
        pix_fmt: pixel format of the planes handed out ("yuv420p", "yuv420p10le", ...).
        bit_depth: bits per sample of the planes (8 -> uint8 planes, more -> uint16).
        chroma_shift: (horizontal, vertical) log2 chroma subsampling; (1, 1) for 4:2:0.
        color: colour range / matrix / primaries / transfer tags.
        frame_count: frames the container announces, or None when it does not know.
        duration: stream duration in seconds, or None.
        has_motion: this codec exports motion vectors (and metadata was asked for).
        has_qp: this codec exports per-macroblock quantizers (and metadata was asked for).
        reorder_depth: frames the decoder holds back to put them in display order (0 without
            B-frames).
        sample_aspect_ratio: shape of one pixel (width / height, e.g. 64/45 for 16:9 PAL), or
            None when the stream does not say (square pixels are assumed then).
        field_order: FFmpeg's AVFieldOrder code (see :data:`FIELD_ORDER_NAMES`): 0 unknown,
            1 progressive, 2-5 interlaced.
    """

    width: int
    height: int
    frame_rate: Fraction | None
    time_base: Fraction
    codec: str
    pix_fmt: str
    bit_depth: int
    chroma_shift: tuple[int, int]
    color: ColorTags
    frame_count: int | None
    duration: float | None
    has_motion: bool
    has_qp: bool
    reorder_depth: int = 0
    sample_aspect_ratio: Fraction | None = None
    field_order: int = 0

    @property
    def display_aspect_ratio(self) -> Fraction | None:
        """Width / height of the picture as shown (None without a sample aspect ratio)."""
        if not self.sample_aspect_ratio or not self.height:
            return None
        return self.sample_aspect_ratio * Fraction(self.width, self.height)

    @property
    def field_order_name(self) -> str:
        return FIELD_ORDER_NAMES.get(self.field_order, str(self.field_order))

    @property
    def interlaced(self) -> bool:
        """The stream is coded as fields (top or bottom first)."""
        return self.field_order >= 2

    @property
    def color_range(self) -> str:
        return self.color.names()["range"]

    @property
    def color_matrix(self) -> str:
        return self.color.names()["matrix"]

    @property
    def color_primaries(self) -> str:
        return self.color.names()["primaries"]

    @property
    def color_transfer(self) -> str:
        return self.color.names()["transfer"]


@dataclass(frozen=True)
class Motion:
    """Block motion of one frame on an 8x8 luma grid.

    Pixel (x, y) of the frame is predicted from (x + dx, y + dy) of its list-0
    (past) or list-1 (future) reference, with (dx, dy) = ``l0[:, y // 8, x // 8]``.

    Attributes:
        block_size: 8 (luma pixels per grid cell side).
        l0, l1: float32 (2, ceil(H/8), ceil(W/8)) vectors (dx, dy) in luma pixels; 0 where absent.
        l0_mask, l1_mask: bool (ceil(H/8), ceil(W/8)), False where the block has no vector of that
            list (intra blocks; list 1 of P-frames).
    """

    block_size: int
    l0: np.ndarray
    l1: np.ndarray
    l0_mask: np.ndarray
    l1_mask: np.ndarray


@dataclass
class Frame:
    """One decoded picture with the bitstream metadata that produced it.

    Attributes:
        index: position in display order, from 0.
        pts: presentation timestamp in ``time_base`` units (synthesised from the frame rate when
            the stream carries none).
        time_base: unit of ``pts``.
        pict_type: "I", "P" or "B".
        planes: (Y, U, V) arrays at the stream's bit depth (uint8 or uint16); Y is (H, W), chroma
            at its subsampled size, e.g. (ceil(H/2), ceil(W/2)) for 4:2:0.
        qp: int16 (ceil(H/16), ceil(W/16)) luma QP per macroblock on the H.264 scale, or None.
        motion: block motion, or None for I-frames, codecs without vectors and MPEG-4 Part 2
            B-frames (FFmpeg's decoder keeps no vectors of those: see ``reader.py``).
        key_frame: the frame is a random-access point.
        decode_index: position in decode (bitstream) order, or None when unknown.
        size_bits: size of the coded picture in bits, or None when unknown.
        corrupt: the decoder flagged the picture as damaged (concealed errors).
        bit_depth: bits per sample of the planes (8 for uint8 planes, 10/12/16 for uint16).
        codec: FFmpeg decoder name of the stream ("h264", "mpeg2video", ...).
    """

    index: int
    pts: int
    time_base: Fraction
    pict_type: str
    planes: tuple[np.ndarray, np.ndarray, np.ndarray]
    qp: np.ndarray | None = None
    motion: Motion | None = None
    key_frame: bool = False
    decode_index: int | None = None
    size_bits: int | None = None
    corrupt: bool = False
    bit_depth: int = 8
    codec: str = "h264"

    @property
    def height(self) -> int:
        return int(self.planes[0].shape[0])

    @property
    def width(self) -> int:
        return int(self.planes[0].shape[1])

    @property
    def time(self) -> float:
        """Presentation time in seconds."""
        return float(self.pts * self.time_base)
