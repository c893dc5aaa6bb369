"""Open a compressed video and iterate over its frames with their bitstream metadata."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import av
import numpy as np
from av.sidedata.sidedata import SideDataContainer

from .damage import DecodeStats, check_complete, is_mp4_without_index
from .frames import ColorTags, Frame, VideoInfo
from .metadata import (MOTION_CODECS, QP_CODECS, UNEXPORTED_B_MOTION_CODECS, empty_motion,
                       motion_grid, picture_type, qp_grid)
from .planes import JPEG_RANGE, chroma_shift, frame_planes, sample_dtype, target_format
from .prefetch import Prefetcher

log = logging.getLogger("redecode")

Source = str | os.PathLike | IO[bytes]

class DecodeError(Exception):
    """A video cannot be opened or decoded; the message is one line meant for users."""


def _source_name(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, "name", None)
    if isinstance(name, int):  # raw files opened on a descriptor
        return "<stdin>" if name == 0 else f"<fd {name}>"
    return str(name) if name else "<stream>"


def _check_path(path: Path) -> None:
    if not path.exists():
        raise DecodeError(f"{path}: no such file")
    if path.is_dir():
        raise DecodeError(f"{path}: is a folder, not a video file")
    if not os.access(path, os.R_OK):
        raise DecodeError(f"{path}: permission denied")
    # only a regular file can be empty: a FIFO or a device (/dev/stdin) reports size 0
    if path.is_file() and path.stat().st_size == 0:
        raise DecodeError(f"{path}: empty file")


class VideoReader:
    """An opened video: ``.info`` at once, then frames in display order by iteration.

    Use through :func:`open_video`. Iterating yields :class:`Frame` objects; damaged
    packets are skipped (counted in ``.stats``) and decoding goes on.
    """

    def __init__(
        self,
        source: Source,
        *,
        metadata: bool = True,
        format: str | None = None,
        on_packet: Callable[[av.Packet], None] | None = None,
        prefetch: bool = False,
        probe_bytes: int | None = None,
    ) -> None:
        self.name = _source_name(source)
        self.stats = DecodeStats()
        self._raw_frames = 0  # frames the decoder produced (the generator's own count)
        self._raw_last_pts: int | None = None  # latest pts the decoder produced
        self._metadata = metadata
        self._on_packet = on_packet
        if isinstance(source, (str, os.PathLike)):
            _check_path(Path(source))
            target: Any = os.fspath(source)
        else:
            target = source
        options = {}
        if probe_bytes:  # read less before the first frame (low delay on live pipes)
            options = {"probesize": str(max(32, probe_bytes)), "analyzeduration": "500000"}
        try:
            self.container = av.open(target, mode="r", format=format, options=options)
        except av.error.FFmpegError as e:
            if isinstance(source, (str, os.PathLike)) and is_mp4_without_index(Path(source)):
                raise DecodeError(f"{self.name}: damaged or cut short: an MP4/MOV file without "
                                  "its index (no moov box); nothing can be read") from None
            raise DecodeError(f"{self.name}: not a video redecode can read ({_reason(e)})") from None
        except (OSError, ValueError) as e:
            raise DecodeError(f"{self.name}: cannot open ({e})") from None
        try:
            if not self.container.streams.video:
                raise DecodeError(f"{self.name}: no video stream")
            self.stream = self.container.streams.video[0]
            if self.stream.codec_context is None:  # a codec id FFmpeg has no decoder for
                raise DecodeError(f"{self.name}: no decoder for its video stream")
            self.codec = self.stream.codec_context.name
            self._configure()
            self._decoded = self._decode()
            self._first = self._next_raw()
            if self._first is None:
                why = self.stats.describe()
                raise DecodeError(f"{self.name}: no decodable video frame"
                                  + (f" (damaged or cut short: {why})" if why else ""))
            self.info = self._make_info(self._first)
        except BaseException:
            self.container.close()
            raise
        if metadata and not (self.info.has_motion and self.info.has_qp):
            log.warning(
                "%s: %s streams export no motion vectors or quantizers; restoring without them",
                self.name, self.codec,
            )
        self._dtype = sample_dtype(self.info.bit_depth)
        self._iterated = False
        self._prefetch = prefetch
        self._worker: Prefetcher | None = None
        self._last_pts: int | None = None
        self._last_qp: dict[str, np.ndarray] = {}
        self._warned_b_motion = False

    # -- set-up ---------------------------------------------------------------------------
    def _configure(self) -> None:
        cc = self.stream.codec_context
        cc.copy_opaque = True  # carries (decode index, packet bits) from packet to frame
        if self._metadata and self.codec in (MOTION_CODECS | QP_CODECS):
            exports = []
            if self.codec in MOTION_CODECS:
                exports.append("mvs")
            if self.codec in QP_CODECS:
                exports.append("venc_params")
            cc.options = {"export_side_data": "+".join(exports)}
            # Frame threading makes exported B-frame metadata vary run to run (DESIGN.md §3).
            self.stream.thread_type = "SLICE"
        else:
            self.stream.thread_type = "AUTO"

    def _make_info(self, first: av.VideoFrame) -> VideoInfo:
        st, cc = self.stream, self.stream.codec_context
        src_fmt = first.format
        bits = max(c.bits for c in src_fmt.components) if src_fmt.components else 8
        fmt = target_format(src_fmt.name, bits)
        out_fmt = av.VideoFormat(fmt)
        bit_depth = out_fmt.components[0].bits
        rate = st.average_rate or st.guessed_rate
        color = ColorTags(
            range=2 if src_fmt.name in JPEG_RANGE else int(first.color_range or 0),
            matrix=int(first.colorspace if first.colorspace is not None else 2),
            primaries=int(first.color_primaries if first.color_primaries is not None else 2),
            transfer=int(first.color_trc if first.color_trc is not None else 2),
        )
        duration = None
        if st.duration is not None and st.time_base is not None:
            duration = float(st.duration * st.time_base)
        elif self.container.duration:
            duration = self.container.duration / av.time_base
        sar = st.sample_aspect_ratio or cc.sample_aspect_ratio
        sar = Fraction(sar) if sar and Fraction(sar) > 0 else None
        return VideoInfo(
            width=first.width,
            height=first.height,
            frame_rate=Fraction(rate) if rate else None,
            time_base=Fraction(st.time_base) if st.time_base else Fraction(1, 90000),
            codec=self.codec,
            pix_fmt=fmt,
            bit_depth=bit_depth,
            chroma_shift=chroma_shift(fmt),
            color=color,
            frame_count=int(st.frames) if st.frames else None,
            duration=duration,
            has_motion=self._metadata and self.codec in MOTION_CODECS,
            has_qp=self._metadata and self.codec in QP_CODECS,
            reorder_depth=int(getattr(cc, "reorder_depth", 0) or 0),
            sample_aspect_ratio=sar,
            field_order=int(cc.field_order or 0),
        )

    # -- decoding -------------------------------------------------------------------------
    def _decode(self) -> Iterator[av.VideoFrame | av.Packet]:
        """Demux and decode, skipping damaged packets.

        Yields raw video frames in display order, and (with ``on_packet``) the packets of the
        other streams where they occur in the file. At the end it checks whether the stream was
        complete (see :meth:`_check_complete`).
        """
        streams = () if self._on_packet is not None else (self.stream,)
        demux = self.container.demux(*streams)
        index = discarded = 0
        first_key: bool | None = None
        flushed = False
        while True:
            try:
                packet = next(demux)
            except StopIteration:
                break
            except IndexError:
                # PyAV 18's demux, flushing at the end of the file, indexes the streams it was
                # started with by FFmpeg's current count: a stream that appeared mid-file (MPEG-TS
                # and PS allow that) raises here. Everything was read: flush and stop.
                if not flushed:
                    yield from self._counted(self._flush())
                break
            except av.error.FFmpegError as e:
                self.stats.errors += 1
                self.stats.truncated = True
                self.stats.note(f"stream ends early ({_reason(e)})")
                log.debug("%s: stream ends early (%s)", self.name, _reason(e))
                packet = None
            if packet is None:  # flush what the decoder holds, then stop
                yield from self._counted(self._flush())
                break
            if packet.stream is not self.stream:
                if packet.size and self._on_packet is not None:
                    yield packet
                continue
            if not packet.size:
                flushed = True
            else:
                packet.opaque = (index, packet.size * 8)
                index += 1
                if first_key is None:
                    first_key = bool(packet.is_keyframe)
                if packet.is_corrupt:
                    self.stats.corrupt_packets += 1
                if packet.is_discard:
                    discarded += 1
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                self.stats.errors += 1
                continue
            yield from self._counted(frames)
        check_complete(self.stats, self.container, self.stream, packets=index,
                       discarded=discarded, first_key=first_key,
                       decoded=self._raw_frames, last_pts=self._raw_last_pts)

    def _counted(self, frames) -> Iterator[av.VideoFrame]:
        for f in frames:
            self._raw_frames += 1
            if f.pts is not None and (self._raw_last_pts is None or f.pts > self._raw_last_pts):
                self._raw_last_pts = f.pts
            yield f

    def _flush(self) -> Iterator[av.VideoFrame]:
        try:
            yield from self.stream.codec_context.decode(None)
        except av.error.FFmpegError:
            self.stats.errors += 1

    def _next_raw(self) -> av.VideoFrame | None:
        """The next decoded frame; other streams' packets met on the way go to on_packet."""
        for item in self._decoded:
            if isinstance(item, av.VideoFrame):
                return item
            self._on_packet(item)
        return None

    def _frame(self, raw: av.VideoFrame) -> Frame:
        info = self.info
        if raw.format.name != info.pix_fmt and raw.format.name not in JPEG_RANGE:
            raw = raw.reformat(format=info.pix_fmt)
        ptype = picture_type(raw.pict_type, raw.key_frame)
        qp = motion = None
        # A container of our own: ``raw.side_data`` caches one on the frame, and the two then
        # reference each other, so every frame would wait for a full garbage collection.
        side = SideDataContainer(raw) if self._metadata else None
        if side is not None and info.has_qp:
            params = side.get("VIDEO_ENC_PARAMS")
            if params is not None:
                qp = qp_grid(params, self.codec, raw.width, raw.height)
                self._last_qp[ptype] = qp
            else:
                # MPEG-1/2 export nothing for the last anchor, emitted when the decoder is
                # flushed: reuse the last map of the same frame type.
                qp = self._last_qp.get(ptype, next(iter(self._last_qp.values()), None))
        if side is not None and info.has_motion and ptype != "I":
            mvs = side.get("MOTION_VECTORS")
            if mvs is None:
                motion = empty_motion(raw.width, raw.height)
            else:
                vectors = mvs.to_ndarray()
                if ptype == "B" and self.codec in UNEXPORTED_B_MOTION_CODECS and not (
                        vectors["motion_x"].any() or vectors["motion_y"].any()):
                    self._warn_b_motion()  # all zero: not the stream's vectors (metadata.py)
                else:
                    motion = motion_grid(vectors, raw.width, raw.height)
        opaque = raw.opaque if isinstance(raw.opaque, tuple) else (None, None)
        corrupt = bool(raw.is_corrupt)
        if corrupt:
            self.stats.damaged += 1
        frame = Frame(
            index=self.stats.frames,
            pts=self._pts(raw.pts),
            time_base=info.time_base,
            pict_type=ptype,
            planes=frame_planes(raw, self._dtype),
            qp=qp,
            motion=motion,
            key_frame=bool(raw.key_frame),
            decode_index=opaque[0],
            size_bits=opaque[1],
            corrupt=corrupt,
            bit_depth=info.bit_depth,
            codec=info.codec,
        )
        self.stats.frames += 1
        return frame

    def _warn_b_motion(self) -> None:
        if not self._warned_b_motion:
            self._warned_b_motion = True
            log.warning("%s: %s B-frames carry no motion vectors in FFmpeg's export (its decoder "
                        "keeps none for them); they are treated as frames without motion", self.name,
                        "MPEG-4 Part 2" if self.codec == "mpeg4" else self.codec,
                        extra={"redecode_event": "no_b_motion"})

    def _pts(self, pts: int | None) -> int:
        """The frame's pts, or one synthesised from the previous one and the frame rate."""
        if pts is None or (self._last_pts is not None and pts <= self._last_pts):
            step = 1
            if self.info.frame_rate:
                step = max(1, round(1 / (self.info.frame_rate * self.info.time_base)))
            pts = 0 if self._last_pts is None else self._last_pts + step
        self._last_pts = pts
        return pts

    def __iter__(self) -> Iterator[Frame]:
        if self._iterated:
            raise RuntimeError("a VideoReader can be iterated once; open the video again")
        self._iterated = True
        raw = self._first
        self._first = None
        if raw is None:
            return
        if self._prefetch:
            self._worker = Prefetcher(self._decoded)
            pending = self._worker.items()
        else:
            pending = ((isinstance(r, av.Packet), r) for r in self._decoded)
        yield self._frame(raw)
        for is_packet, item in pending:
            if is_packet:
                self._on_packet(item)
                continue
            if (item.width, item.height) != (self.info.width, self.info.height):
                # one size per stream downstream (grids, tensors, the encoder): stop here
                self.stats.truncated = True
                self.stats.note(f"its picture size changes from {self.info.width}x"
                                f"{self.info.height} to {item.width}x{item.height} after frame "
                                f"{self.stats.frames}; the rest is not read")
                return
            yield self._frame(item)

    # -- context manager ------------------------------------------------------------------
    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
        self.container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(e: BaseException) -> str:
    return str(getattr(e, "strerror", None) or e).strip().rstrip(".")


def open_video(
    source: Source,
    *,
    metadata: bool = True,
    format: str | None = None,
    on_packet: Callable[[av.Packet], None] | None = None,
    prefetch: bool = False,
    probe_bytes: int | None = None,
) -> VideoReader:
    """Open a video for decoding with its bitstream metadata.

    Args:
        source: a path, or a readable binary file object (stdin, a pipe, BytesIO).
        metadata: export motion vectors and QPs (slice threading for determinism); False
            decodes pixels only, with frame threading.
        format: container format name for inputs that cannot be probed (e.g. "h264", "mpegts").
        on_packet: if given, packets of the file's *other* streams (audio, subtitles, data) are
            handed to it as they are demuxed, for copying them unchanged. It is called from
            the iterating thread, in file order relative to the frames.
        prefetch: decode in a background thread a few frames ahead, so that decoding overlaps
            what the consumer does with each frame. Worth it only when the consumer spends its
            time outside the GIL (torch, encoders: the restore pipeline turns it on); for plain
            iteration the hand-over between threads costs more than it saves.
        probe_bytes: read at most this much (and 0.5 s of stream) to find the streams before
            decoding starts, instead of FFmpeg's 5 MB / 5 s; for live pipes.

    Returns:
        A context manager with ``.info`` (:class:`VideoInfo`), iterable over :class:`Frame`
        objects in display order.

    Raises:
        DecodeError: with a one-line message when the source cannot be read as video.
    """
    return VideoReader(source, metadata=metadata, format=format, on_packet=on_packet,
                       prefetch=prefetch, probe_bytes=probe_bytes)
