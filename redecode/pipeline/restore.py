"""Restore video files: decode -> schedule -> model -> encode, atomically, with progress.

``restore_file`` does one file; ``batch.restore_batch`` does many (files, folders, globs) into
a folder, going on after a failure and reporting each file.

Policies:

* Options are checked before any file is read (:func:`redecode.pipeline.outputs.check_encode`,
  :func:`make_engine`).
* The container: an output keeps its input's extension when that container holds the chosen
  codec (and the input's audio and subtitles), else it is written as ``.mkv``, with one line
  saying so, decided before any frame is decoded (:func:`plan_jobs`). An output named
  explicitly (one input, ``-o out.EXT``) that cannot hold them is an error.
* Damaged or cut inputs: the frames that could be decoded are restored and written, the file
  is reported as "damaged or cut short: N frames restored" (status ``damaged``), and the run
  exits non-zero, as ``redecode filter`` does.
* Every error names the file it concerns: the input for what cannot be read, the output for
  what cannot be written.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import av
from tqdm import tqdm

from ..atomic import partial_name
from ..decoders import DecodeError, open_video
from .engine import PRECISIONS, Engine, Passthrough, cpu_has_bf16, load_model, pick_device
from .outputs import container_misfit
from .scheduler import write_restored
from .threads import BackgroundSink
from .writer import EncodeOptions, OutputError, VideoWriter, error_reason

log = logging.getLogger("redecode")

class RestoreError(Exception):
    """A file cannot be restored as asked; the message is one line meant for users."""


@dataclass
class FileResult:
    """What happened to one input.

    ``status``: "done"; "damaged" (the input was damaged or cut short: the frames that could
    be decoded were restored and written, ``problem`` says what was wrong); "skipped"; or
    "failed" (nothing written, ``error`` says why).
    """

    source: str
    output: str
    status: str
    frames: int = 0
    seconds: float = 0.0
    damaged_frames: int = 0
    error: str | None = None
    problem: str | None = None
    input_bytes: int | None = None
    output_bytes: int | None = None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def size_ratio(self) -> float | None:
        """Output size over input size (None when either is unknown)."""
        if not self.input_bytes or self.output_bytes is None:
            return None
        return self.output_bytes / self.input_bytes


def partial_path(dst: Path) -> Path:
    """Where an output is written until it is complete (hidden, same folder, same extension; one
    name per output, so a later run finds and replaces what a killed one left)."""
    return partial_name(dst, unique=False)


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def make_engine(model: str = "auto", device: str = "auto", precision: str = "auto",
                strength: float = 1.0) -> Engine:
    """Load the model named by ``model`` onto ``device`` (see ``load_model``); ``strength``
    scales its correction (0: the decode, 1: all of it). ``--model none`` imports no torch."""
    if not 0.0 <= strength <= 1.0:
        raise RestoreError(f"--strength {strength:g}: must be between 0 and 1")
    if precision not in PRECISIONS:
        raise RestoreError(f"--precision {precision}: use one of {', '.join(PRECISIONS)}")
    if model == "none":
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
            raise RestoreError(f"--device {device}: use auto, cpu, cuda or cuda:N")
        return Engine(Passthrough())
    try:
        dev = pick_device(device)
    except ValueError as e:
        raise RestoreError(str(e)) from None
    from ..models import ModelError

    try:
        with warnings.catch_warnings():
            # torch's own advice on unpickling files it cannot read ("please file an issue"):
            # the error below says what matters, in one line
            warnings.filterwarnings("ignore", message=".*pickle protocol.*")
            net = load_model(model, dev)
        engine = Engine(net, dev, precision=precision, strength=strength)
    except ModelError as e:
        raise RestoreError(str(e)) from None
    except ValueError as e:
        raise RestoreError(str(e)) from None
    if engine.precision == "bf16" and dev.type == "cpu" and not cpu_has_bf16():
        log.warning("--precision bf16: this CPU has neither AMX-BF16 nor AVX512-BF16, so bf16 is "
                    "emulated and runs several times slower than fp32")
    return engine


def default_workers(engine: Engine) -> int:
    """Restoration steps run at once: 2 for a model on a CPU with two cores or more (two
    one-thread steps use two cores better than one two-thread step; measured in
    docs/benchmarks.md, "Restore"), else 1 (a GPU, ``--model none``, one core)."""
    if engine.identity or engine.device.type != "cpu" or (os.cpu_count() or 1) < 2:
        return 1
    return 2


def restore_file(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    model: str = "auto",
    device: str = "auto",
    encode: EncodeOptions | None = None,
    overwrite: bool = False,
    engine: Engine | None = None,
    progress: bool | None = None,
    input_format: str | None = None,
    max_batch: int = 8,
    workers: int | None = None,
) -> FileResult:
    """Restore one video file into another, keeping its other streams, timestamps and colour.

    The output is written to a hidden ``.NAME.partial.EXT`` file beside ``dst`` and renamed
    only when complete, so an interruption never leaves a half-written ``dst``. A damaged or
    cut input is restored as far as it decodes and written (status "damaged", logged).

    Args:
        src: input video.
        dst: output video; its extension picks the container.
        model: auto | small | base | none | checkpoint path (ignored when ``engine`` is given).
        device: auto | cpu | cuda.
        encode: output encoder settings (default: x264, CRF 16, preset medium).
        overwrite: replace an existing ``dst`` (never an input).
        engine: a ready engine, to share one model over many files.
        progress: show a progress bar (default: when stderr is a terminal).
        input_format: container format of the input, when it cannot be probed.
        max_batch: most B-frames restored in one batch (one worker).
        workers: restoration steps run at once (None: :func:`default_workers`).

    Returns:
        A :class:`FileResult` with status "done" or "damaged".

    Raises:
        RestoreError, DecodeError, OutputError: with one-line messages naming the file (the
        input for what cannot be read, the output for what cannot be written).
    """
    src, dst = Path(src), Path(dst)
    encode = encode or EncodeOptions()
    if same_file(src, dst) or src.resolve() == dst.resolve():
        raise RestoreError(f"{dst}: output would overwrite its own input")
    if dst.is_dir():
        raise RestoreError(f"{dst}: is a folder; name an output file")
    if dst.exists() and not overwrite:
        raise RestoreError(f"{dst} exists (use --overwrite to replace it, or --skip-existing)")
    if dst.suffix == "":
        raise RestoreError(f"{dst}: give the output a file extension (.mkv, .mp4, ...) "
                           "so the container is known")
    why = container_misfit(dst, encode.codec)
    if why:
        raise RestoreError(f"{dst}: {why}; name it .mkv, or choose another --codec")
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{dst}: cannot create its folder ({e.strerror or e})") from None
    engine = engine or make_engine(model, device)
    tmp = partial_path(dst)
    show = sys.stderr.isatty() if progress is None else progress
    started = time.perf_counter()
    others: deque = deque()
    writer: VideoWriter | None = None
    sink: BackgroundSink | _NamedSink | None = None
    try:
        try:
            tmp.unlink(missing_ok=True)  # left by a killed earlier run
        except OSError as e:
            raise OutputError(f"{dst}: {e.strerror or e}") from None
        # prefetch: decoding overlaps the model and the encoder, which run outside the GIL
        with open_video(src, format=input_format, on_packet=others.append, prefetch=True) as video:
            info = video.info
            kind = video.container.format.name
            if kind in ("image2", "image2pipe") or kind.endswith("_pipe"):
                raise DecodeError(f"{src}: an image file ({info.codec}), not a video")
            try:
                writer = VideoWriter(tmp, info, encode, copy_from=video.container,
                                     video_stream_index=video.stream.index, name=str(dst))
            except OutputError as e:
                raise OutputError(f"{dst}: {e}") from None
            named = _NamedSink(writer, dst)
            # with a model, the encoder in a thread of its own overlaps the model's next frames;
            # without one there is nothing to overlap, and the hand-over only costs
            sink = named if engine.identity else BackgroundSink(named)
            bar = tqdm(total=info.frame_count, unit="frame", desc=src.name, disable=not show,
                       leave=False, dynamic_ncols=True, file=sys.stderr)
            frames = 0
            with bar:
                for _ in write_restored(video, engine, sink, others, max_batch=max_batch,
                                        workers=default_workers(engine) if workers is None else workers):
                    frames += 1
                    bar.update(1)
            stats = video.stats
            sink.close()
            sink = writer = None
        if frames != stats.frames:  # the scheduler's promise; never expected to fail
            raise RestoreError(f"{src}: {stats.frames} frames in, {frames} out")
        try:
            os.replace(tmp, dst)
        except OSError as e:
            raise OutputError(f"{dst}: cannot write it ({e.strerror or e})") from None
    except BaseException:
        if isinstance(sink, BackgroundSink):
            sink.stop()  # no encode may run while the writer is aborted
        if writer is not None:
            writer.abort()
        tmp.unlink(missing_ok=True)
        raise
    seconds = time.perf_counter() - started
    result = FileResult(str(src), str(dst), "done", frames, seconds, stats.damaged,
                        input_bytes=src.stat().st_size if src.is_file() else None,
                        output_bytes=dst.stat().st_size)
    problems = [stats.describe()] if stats.incomplete else []
    if named.dropped:
        problems.append(f"{named.dropped} packet(s) of its other streams left out ({named.why})")
    if problems:
        result.status, result.problem = "damaged", ", ".join(problems)
        log.warning("%s: damaged or cut short: %d frames restored into %s (%s)", src, frames,
                    dst, result.problem)
    return result


class _NamedSink:
    """The writer, with its errors naming the output file (not the input, not the partial)."""

    def __init__(self, writer: VideoWriter, name: Path) -> None:
        self.writer, self.name = writer, name
        self.dropped, self.why = 0, ""

    def write(self, frame, planes) -> None:
        try:
            self.writer.write(frame, planes)
        except (av.error.FFmpegError, OSError, ValueError) as e:
            raise OutputError(f"{self.name}: cannot write it ({error_reason(e)})") from None

    def copy_packet(self, packet) -> None:
        # a damaged input's packet the muxer refuses (timestamps out of order, ...) is left
        # out and counted; an output that cannot be written fails at the next frame anyway
        try:
            self.writer.copy_packet(packet)
        except (av.error.FFmpegError, ValueError) as e:
            self.dropped += 1
            self.why = self.why or f"{packet.stream.type}: {error_reason(e)}"

    def close(self) -> None:
        try:
            self.writer.close()
        except (av.error.FFmpegError, OSError, ValueError) as e:
            raise OutputError(f"{self.name}: cannot finish it ({error_reason(e)})") from None


def __getattr__(name: str):
    """The batch API (``plan_jobs``, ``restore_batch``, ...) lives in ``batch.py``."""
    if name in ("BatchResult", "Job", "VIDEO_EXTENSIONS", "plan_jobs", "restore_batch"):
        from . import batch

        return getattr(batch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
