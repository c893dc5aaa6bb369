"""Encode restored frames with PyAV and copy every other stream of the input unchanged."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import IO

import av
import numpy as np

from ..decoders import Frame, VideoInfo

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
        opts.update(self.options)
        return opts


def find_encoder(codec: str) -> av.codec.Codec | None:
    """PyAV's encoder of that name, or None when this FFmpeg build has none."""
    try:
        return av.codec.Codec(codec, "w")
    except (av.error.FFmpegError, ValueError):
        return None


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
    """

    def __init__(self, path: str | os.PathLike | IO[bytes], info: VideoInfo, encode: EncodeOptions,
                 copy_from: av.container.InputContainer | None = None,
                 container_format: str | None = None, video_stream_index: int | None = None
                 ) -> None:
        self.info = info
        pix_fmt = encode.pix_fmt or info.pix_fmt
        formats = _supported_formats(encode.codec)
        if formats and pix_fmt not in formats:
            raise OutputError(f"{encode.codec} cannot encode {pix_fmt} "
                              f"(it takes: {', '.join(formats[:12])}); choose --pix-fmt or --codec")
        self.pix_fmt = pix_fmt
        self._dtype = np.dtype("<u2") if info.bit_depth > 8 else np.dtype(np.uint8)
        try:
            target = path if hasattr(path, "write") else os.fspath(path)
            self.container = av.open(target, "w", format=container_format)
        except (av.error.FFmpegError, ValueError) as e:
            raise OutputError(f"cannot create {path}: {e}") from None
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
            raise OutputError(f"cannot add a {encode.codec} stream to {self.container.name}: {e}") from None
        s.width, s.height, s.pix_fmt = info.width, info.height, self.pix_fmt
        s.time_base = info.time_base
        s.codec_context.time_base = info.time_base
        cc = s.codec_context
        cc.color_range = info.color.range
        cc.colorspace = info.color.matrix
        cc.color_primaries = info.color.primaries
        cc.color_trc = info.color.transfer
        s.options = encode.encoder_options()
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
        vf = av.VideoFrame(self.info.width, self.info.height, self.info.pix_fmt)
        for plane, data in zip(vf.planes, planes):
            view = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
            view[:, : plane.width * self._dtype.itemsize] = np.ascontiguousarray(
                data, self._dtype).view(np.uint8).reshape(plane.height, -1)
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
