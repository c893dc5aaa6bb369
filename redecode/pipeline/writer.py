"""Encode restored frames with PyAV and copy every other stream of the input unchanged.

The output keeps what describes the picture: sample aspect ratio, field order and colour tags
(range, matrix, primaries, transfer), in the bitstream where the encoder writes them (x264 and
x265 VUI: every container) and in the container's own fields (Matroska, MP4/MOV).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import IO

import av
import numpy as np

from ..decoders import Frame, VideoInfo, planes_to_frame

log = logging.getLogger("redecode")


class OutputError(Exception):
    """The output cannot be written as asked (impossible codec/container/format combination)."""


@dataclass(frozen=True)
class EncodeOptions:
    """How restored video is encoded.

    Attributes:
        codec: PyAV encoder ("libx264", "libx265", "ffv1", ...).
        crf: constant rate factor for x264/x265 (lower is better; 16 is visually lossless-ish).
        preset: x264/x265 speed preset.
        pix_fmt: output pixel format; None keeps the input's (8/10-bit, chroma format).
        lossless: mathematically lossless (x264/x265 lossless mode; FFV1 always is).
        options: extra encoder options (``KEY=VALUE`` from the command line).
    """

    codec: str = "libx264"
    crf: float = 16
    preset: str = "medium"
    pix_fmt: str | None = None
    lossless: bool = False
    options: dict[str, str] = field(default_factory=dict)

    def encoder_options(self) -> dict[str, str]:
        opts: dict[str, str] = {}
        if self.codec == "libx264":
            opts = {"preset": self.preset}
            opts.update({"qp": "0"} if self.lossless else {"crf": f"{self.crf:g}"})
        elif self.codec == "libx265":
            params = "log-level=error" + (":lossless=1" if self.lossless else "")
            opts = {"preset": self.preset, "x265-params": params}
            if not self.lossless:
                opts["crf"] = f"{self.crf:g}"
        elif self.codec == "ffv1":
            opts = {"level": "3", "slicecrc": "1"}
        extra = dict(self.options)
        if self.codec == "libx265" and "x265-params" in extra:  # add to ours, not instead
            extra["x265-params"] = f"{opts['x265-params']}:{extra['x265-params']}"
        opts.update(extra)
        return opts


def find_encoder(codec: str) -> av.codec.Codec | None:
    """PyAV's encoder of that name, or None when this FFmpeg build has none."""
    try:
        return av.codec.Codec(codec, "w")
    except (av.error.FFmpegError, ValueError):
        return None


# x264 and x265 code 4:2:0 only at even sizes and 4:2:2 only at even widths (the H.264/HEVC
# cropping window moves in chroma samples); 4:4:4 codes any size.
_SUBSAMPLED_X26X = ("libx264", "libx265")


def output_pix_fmt(info: VideoInfo, encode: EncodeOptions) -> tuple[str, str | None]:
    """The pixel format the output is encoded in, and a note when it is not the input's.

    An odd-sized 4:2:0 (or odd-width 4:2:2) input is encoded by x264/x265 in 4:4:4 of the
    same depth: they cannot code the subsampled format at that size, and 4:4:4 keeps the
    exact size without padding (the chroma planes are upsampled, nothing is lost).

    Raises:
        OutputError: ``--pix-fmt`` asks for a format the encoder cannot code at this size.
    """
    pix_fmt = encode.pix_fmt or info.pix_fmt
    if encode.codec not in _SUBSAMPLED_X26X:
        return pix_fmt, None
    odd_w, odd_h = info.width % 2, info.height % 2
    if not (("420" in pix_fmt and (odd_w or odd_h)) or ("422" in pix_fmt and odd_w)):
        return pix_fmt, None
    full = pix_fmt.replace("420", "444").replace("422", "444")
    if encode.pix_fmt:
        raise OutputError(f"{encode.codec} cannot code {pix_fmt} at the odd size "
                          f"{info.width}x{info.height}; use --pix-fmt {full} or --codec ffv1")
    return full, (f"{info.width}x{info.height} {pix_fmt} is an odd size that {encode.codec} "
                  f"cannot code in 4:2:0/4:2:2; writing {full} (same size, chroma upsampled)")


def _check_size(codec: str, width: int, height: int) -> None:
    # x265 fails on frames under 16 pixels, and corrupted memory (the process aborted) on
    # 34-48 pixel wide ones in PyAV 18.1 (measured); keep it away from narrow frames.
    if codec == "libx265" and (width < 64 or height < 16):
        raise OutputError(f"libx265 cannot encode {width}x{height} frames reliably (it needs at "
                          "least 64x16); use --codec libx264 or ffv1")


def signal_options(codec: str, info: VideoInfo, options: dict[str, str]) -> dict[str, str]:
    """Encoder options that make the bitstream itself carry the field order and colour range.

    x264 codes interlaced input as fields only when told the field order (``tff``/``bff``);
    and it writes the colour range only inside a "video signal type" that it omits when the
    colour description is unspecified, so a limited-range input without colour description
    (typical MPEG-2) would come out untagged in containers without colour fields (MPEG-TS,
    AVI): ``videoformat=component`` makes x264 write the signal type, range included.
    """
    if codec != "libx264":
        return options
    params = [p for p in options.get("x264-params", "").split(":") if p]
    keys = {p.partition("=")[0] for p in params}
    if info.interlaced and not keys & {"tff", "bff", "interlaced", "fake-interlaced"}:
        params.append("tff=1" if info.field_order in (2, 4) else "bff=1")
    c = info.color
    if c.range in (1, 2) and (c.matrix, c.primaries, c.transfer) == (2, 2, 2) and \
            "videoformat" not in keys:
        params.append("videoformat=component")
    if not params:
        return options
    return {**options, "x264-params": ":".join(params)}


def _supported_formats(codec: str) -> list[str]:
    c = find_encoder(codec)
    if c is None:
        raise OutputError(f"unknown encoder {codec!r} (not in PyAV's FFmpeg)")
    if c.type != "video":
        raise OutputError(f"{codec!r} is not a video encoder")
    return [f.name for f in (c.video_formats or [])]


class VideoWriter:
    """Writes one output file: the restored video plus copies of the input's other streams.

    Args:
        path: output file (its extension picks the container), or a writable binary file
            object such as stdout (then ``container_format`` is required).
        info: the input video's info (size, rate, time base, depth, colour tags).
        encode: encoder settings.
        copy_from: the input container whose non-video streams are copied, or None.
        container_format: force a container format instead of guessing from the name.
        name: how messages name the output (default: ``path``).

    Messages of :class:`OutputError` do not name the file: the caller knows which it is.
    """

    def __init__(self, path: str | os.PathLike | IO[bytes], info: VideoInfo, encode: EncodeOptions,
                 copy_from: av.container.InputContainer | None = None,
                 container_format: str | None = None, video_stream_index: int | None = None,
                 name: str | None = None) -> None:
        self.info = info
        self.name = name or (str(getattr(path, "name", "<output>")) if hasattr(path, "write")
                             else os.fspath(path))
        _check_size(encode.codec, info.width, info.height)
        pix_fmt, note = output_pix_fmt(info, encode)
        formats = _supported_formats(encode.codec)
        if formats and pix_fmt not in formats:
            raise OutputError(f"{encode.codec} cannot encode {pix_fmt} "
                              f"(it takes: {', '.join(formats[:12])}); choose --pix-fmt or --codec")
        if note:
            log.warning("%s: %s", self.name, note)
        self.pix_fmt = pix_fmt
        self._dtype = np.dtype("<u2") if info.bit_depth > 8 else np.dtype(np.uint8)
        try:
            target = path if hasattr(path, "write") else os.fspath(path)
            self.container = av.open(target, "w", format=container_format)
        except (av.error.FFmpegError, ValueError) as e:
            raise OutputError(f"cannot create the file ({error_reason(e)})") from None
        self._copies: dict[int, av.stream.Stream] = {}
        try:
            if copy_from is None:
                self._add_video(encode)
            else:  # keep the input's stream order
                video_index = (copy_from.streams.video[0].index if video_stream_index is None
                               else video_stream_index)
                for st in copy_from.streams:
                    if st.index == video_index:
                        self._add_video(encode)
                    else:
                        self._add_copy(st)
        except BaseException:
            self.container.close()
            raise

    def _add_video(self, encode: EncodeOptions) -> None:
        info = self.info
        rate = info.frame_rate or Fraction(25)
        try:
            s = self.container.add_stream(encode.codec, rate=rate)
        except (av.error.FFmpegError, ValueError) as e:
            raise OutputError(f"the {self.container.format.name} container cannot hold "
                              f"{encode.codec} video ({error_reason(e)})") from None
        s.width, s.height, s.pix_fmt = info.width, info.height, self.pix_fmt
        s.time_base = info.time_base
        s.codec_context.time_base = _encoder_time_base(encode.codec, info.time_base, rate)
        cc = s.codec_context
        cc.color_range = info.color.range
        cc.colorspace = info.color.matrix
        cc.color_primaries = info.color.primaries
        cc.color_trc = info.color.transfer
        if info.sample_aspect_ratio:  # x264/x265/FFV1 write it in the bitstream, muxers too
            cc.sample_aspect_ratio = info.sample_aspect_ratio
        if info.field_order:  # Matroska and MOV write it in the container
            cc.field_order = info.field_order
        s.options = signal_options(encode.codec, info, encode.encoder_options())
        self.stream = s

    def _add_copy(self, st: av.stream.Stream) -> None:
        try:
            out = self.container.add_stream_from_template(st)
        except (av.error.FFmpegError, ValueError, TypeError) as e:
            name = st.codec_context.name if st.codec_context else "?"
            kind = f"{st.type} stream #{st.index} ({name})"
            if st.type in ("audio", "subtitle"):
                raise OutputError(f"the output container cannot hold the input's {kind}: {e}; "
                                  "choose an .mkv output") from None
            log.warning("dropping %s: the output container cannot hold it", kind)
            return
        self._copies[st.index] = out

    def copy_packet(self, packet: av.Packet) -> None:
        """Mux a packet of another input stream into its copy, unchanged."""
        out = self._copies.get(packet.stream.index)
        if out is None or packet.dts is None and packet.pts is None:
            return
        packet.stream = out
        self.container.mux(packet)

    def write(self, frame: Frame, planes: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        """Encode one restored frame with the original frame's timestamp."""
        vf = planes_to_frame(planes, self.info.pix_fmt, self._dtype)
        vf.color_range = self.info.color.range
        if self.pix_fmt != self.info.pix_fmt:
            vf = vf.reformat(format=self.pix_fmt)
        vf.pts = frame.pts
        vf.time_base = frame.time_base
        vf.color_range = self.info.color.range
        vf.colorspace = self.info.color.matrix
        vf.color_primaries = self.info.color.primaries
        vf.color_trc = self.info.color.transfer
        self.container.mux(self.stream.encode(vf))

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        try:
            self.container.mux(self.stream.encode(None))
        finally:
            self.container.close()

    def abort(self) -> None:
        """Close without flushing (the caller deletes the file)."""
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - the file is being thrown away
            pass


def _encoder_time_base(codec: str, time_base: Fraction, rate: Fraction) -> Fraction:
    """The input's time base, except where the encoder's standard forbids it: MPEG-1/2 count in
    frames of a standard rate, MPEG-4 Part 2 in at most 65535 ticks a second (PyAV rescales
    the frames' timestamps)."""
    if codec in ("mpeg1video", "mpeg2video") or (codec == "mpeg4" and time_base.denominator > 65535):
        return 1 / Fraction(rate)
    return time_base


def error_reason(e: BaseException) -> str:
    """An FFmpeg error's own words, without PyAV's echo of the call and its arguments."""
    text = str(getattr(e, "strerror", None) or e).strip()
    return text.split(": '")[0].rstrip(".") or type(e).__name__
