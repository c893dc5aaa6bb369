"""``redecode filter``: compressed bitstream in, restored frames out, as a pipe stage.

Frames leave as soon as the scheduler has restored them (the delay is the stream's reorder
depth), each written and flushed at once; memory stays flat however long the stream runs.
Outputs: YUV4MPEG2 (default), raw planes, or an encoded stream (PyAV, or an ffmpeg process for
encoders PyAV lacks).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import IO

import av
import numpy as np

from ..decoders import Frame, VideoInfo, open_video
from .engine import Engine
from .scheduler import write_restored
from .writer import EncodeOptions, OutputError, VideoWriter, find_encoder
from .y4m import Y4M_CHROMA, Y4MWriter, write_planes

log = logging.getLogger("redecode")

RAW_FORMATS = ("y4m", "rawvideo")
# --format names -> FFmpeg muxer names, for encoded outputs that can stream to a pipe.
MUXERS = {"nut": "nut", "mkv": "matroska", "matroska": "matroska", "mpegts": "mpegts",
          "ts": "mpegts", "h264": "h264", "hevc": "hevc", "h265": "hevc", "ivf": "ivf",
          "webm": "webm", "flv": "flv", "mp4": "mp4", "mov": "mov"}
NEEDS_SEEK = frozenset({"mp4", "mov"})


class FilterError(Exception):
    """The stream could not be filtered completely; frames before the problem were delivered
    (and the output finished: ``stats`` says how many)."""

    def __init__(self, message: str, stats: FilterStats | None = None) -> None:
        super().__init__(message)
        self.stats = stats


class RawSink:
    """Writes planes, framed as YUV4MPEG2 or bare (rawvideo), flushing after every frame."""

    def __init__(self, out: IO[bytes], info: VideoInfo, y4m: bool = True) -> None:
        if y4m and info.pix_fmt not in Y4M_CHROMA:
            raise OutputError(f"YUV4MPEG2 cannot carry {info.pix_fmt}")
        self.out, self.y4m = out, y4m
        self._y4m = Y4MWriter(out, info.width, info.height, info.frame_rate, info.pix_fmt,
                              info.color.range) if y4m else None

    def write(self, frame: Frame, planes: tuple[np.ndarray, ...]) -> None:
        if self._y4m is not None:
            self._y4m.write(planes)
        else:
            write_planes(self.out, planes)
        self.out.flush()

    def copy_packet(self, packet: av.Packet) -> None:
        pass  # raw frames carry no other streams

    def close(self) -> None:
        self.out.flush()

    def abort(self) -> None:
        pass


class FfmpegSink(RawSink):
    """Feeds YUV4MPEG2 to an ffmpeg process that encodes with an encoder PyAV lacks."""

    def __init__(self, out: IO[bytes], info: VideoInfo, encode: EncodeOptions, muxer: str) -> None:
        from .ffmpeg_tool import find_ffmpeg

        binary = find_ffmpeg()
        probe = subprocess.run([binary, "-hide_banner", "-loglevel", "error", "-h",
                                f"encoder={encode.codec}"], capture_output=True, text=True)
        if not probe.stdout.startswith("Encoder "):
            raise OutputError(f"unknown encoder {encode.codec!r}: neither PyAV's FFmpeg nor "
                              f"{binary} has it")
        args = [binary, "-hide_banner", "-loglevel", "error", "-f", "yuv4mpegpipe", "-i", "pipe:0",
                "-c:v", encode.codec]
        if not encode.lossless:
            args += ["-crf", f"{encode.crf:g}"]
        for k, v in encode.options.items():
            args += [f"-{k}", v]
        args += ["-f", muxer, "pipe:1"]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=out.fileno())
        super().__init__(self.proc.stdin, info, y4m=True)

    def close(self) -> None:
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            raise OutputError(f"ffmpeg exited with status {self.proc.returncode}")

    def abort(self) -> None:
        self.proc.kill()
        self.proc.wait()


def make_sink(out: IO[bytes], info: VideoInfo, fmt: str, encode: EncodeOptions,
              container: av.container.InputContainer | None, video_index: int,
              seekable: bool):
    """The sink for ``--format``: raw planes, PyAV encoding, or an ffmpeg process."""
    if fmt == "y4m":
        return RawSink(out, info, y4m=True)
    if fmt == "rawvideo":
        return RawSink(out, info, y4m=False)
    if fmt not in MUXERS:
        raise OutputError(f"unknown --format {fmt!r}; use y4m, rawvideo or one of "
                          f"{', '.join(sorted(MUXERS))}")
    muxer = MUXERS[fmt]
    if muxer in NEEDS_SEEK and not seekable:
        raise OutputError(f"{fmt} needs a seekable output; on a pipe use nut, mkv or mpegts")
    if find_encoder(encode.codec) is None:
        return FfmpegSink(out, info, encode, muxer)
    copy = container if muxer in ("nut", "matroska", "mpegts") else None
    return VideoWriter(out, info, encode, copy_from=copy, container_format=muxer,
                       video_stream_index=video_index)


@dataclass
class FilterStats:
    """What a filter run did.

    ``emitted`` holds, per output frame, the number of frames the decoder had handed out when
    that frame was written, and ``latency`` the seconds from the decoder handing the frame out
    to its being written (both for delay measurements).
    """

    frames: int = 0
    seconds: float = 0.0
    damaged: int = 0
    errors: int = 0
    emitted: list[int] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)  # seconds from decoded to written


def run_filter(
    source,
    out: IO[bytes],
    engine: Engine,
    *,
    fmt: str = "y4m",
    encode: EncodeOptions | None = None,
    input_format: str | None = None,
    seekable: bool = False,
    probe_bytes: int | None = 65536,
) -> FilterStats:
    """Restore a compressed stream from ``source`` and write frames to ``out`` as they are ready.

    Args:
        source: a path or readable binary file (use an unbuffered one for pipes, so that reads
            return what has arrived instead of waiting for a full buffer).
        out: writable binary file (stdout).
        engine: the model runner.
        fmt: y4m | rawvideo | an encoded container (nut, mkv, mpegts, h264, ...).
        encode: encoder settings for encoded formats.
        input_format: container format of the input when probing is ambiguous.
        seekable: whether ``out`` can seek (allows mp4/mov).
        probe_bytes: bytes read to find the input's streams before decoding starts (None:
            FFmpeg's default of 5 MB / 5 s, which delays the first frame on live pipes).

    Raises:
        DecodeError: the input is not a video (nothing was written).
        FilterError: the input was damaged or cut; every frame decoded before was delivered.
    """
    stats = FilterStats()
    others: deque = deque()
    started = time.perf_counter()
    sink = None
    try:
        with open_video(source, format=input_format, on_packet=others.append,
                        probe_bytes=probe_bytes, prefetch=True) as video:
            info = video.info
            sink = make_sink(out, info, fmt, encode or EncodeOptions(), video.container,
                             video.stream.index, seekable)
            decoded_at: dict[int, float] = {}

            def timed(frames):
                for f in frames:
                    decoded_at[f.index] = time.perf_counter()
                    yield f

            for r in write_restored(timed(video), engine, sink, others):
                stats.frames += 1
                stats.emitted.append(video.stats.frames)
                stats.latency.append(time.perf_counter() - decoded_at.pop(r.frame.index))
            sink.close()
            sink = None
            stats.damaged, stats.errors = video.stats.damaged, video.stats.errors
            damage = video.stats.describe() if video.stats.incomplete else None
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    stats.seconds = time.perf_counter() - started
    if damage:
        raise FilterError(f"input damaged or cut short: {stats.frames} frames delivered "
                          f"({damage})", stats)
    return stats


def unbuffered_stdin() -> IO[bytes]:
    """stdin as a raw file whose reads return as soon as data arrives."""
    return open(sys.stdin.fileno(), "rb", buffering=0, closefd=False)


def unbuffered_stdout() -> IO[bytes]:
    """stdout as a raw file: each frame goes to the pipe as it is written."""
    return open(sys.stdout.fileno(), "wb", buffering=0, closefd=False)


def is_seekable(f: IO[bytes]) -> bool:
    try:
        return f.seekable() and os.lseek(f.fileno(), 0, os.SEEK_CUR) >= 0
    except (OSError, ValueError, AttributeError):
        return False
