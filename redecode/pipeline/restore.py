"""Restore video files: decode -> schedule -> model -> encode, atomically, with progress.

``restore_file`` does one file; ``restore_batch`` does many (files, folders, globs) into a
folder, going on after a failure and reporting each file.

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

import glob
import logging
import os
import re
import sys
import time
import warnings
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
from tqdm import tqdm

from ..decoders import DecodeError, open_video
from .engine import PRECISIONS, Engine, Passthrough, load_model, pick_device
from .outputs import check_encode, container_misfit
from .scheduler import write_restored
from .writer import EncodeOptions, OutputError, VideoWriter, _reason

log = logging.getLogger("redecode")

VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mkv", ".mov", ".avi", ".webm", ".ts", ".m2ts", ".mts", ".mpg", ".mpeg",
    ".m2v", ".vob", ".h264", ".264", ".avc", ".hevc", ".h265", ".265", ".flv", ".3gp", ".wmv",
    ".y4m", ".nut", ".ogv", ".divx", ".xvid", ".asf",
})


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


@dataclass
class BatchResult:
    """The whole run: per-file results and totals."""

    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    model: str = ""
    device: str = ""

    @property
    def failed(self) -> int:
        return sum(f.status == "failed" for f in self.files)

    @property
    def damaged(self) -> int:
        return sum(f.status == "damaged" for f in self.files)

    @property
    def size_ratio(self) -> float | None:
        """Total output size over the total size of the inputs written."""
        written = [f for f in self.files if f.size_ratio is not None]
        if not written:
            return None
        return sum(f.output_bytes for f in written) / sum(f.input_bytes for f in written)

    def to_dict(self) -> dict:
        frames = sum(f.frames for f in self.files)
        written = [f for f in self.files if f.size_ratio is not None]
        ratio = self.size_ratio
        return {
            "files": [asdict(f) | {"fps": round(f.fps, 2), "size_ratio": None if f.size_ratio
                                   is None else round(f.size_ratio, 4)} for f in self.files],
            "done": sum(f.status == "done" for f in self.files),
            "damaged": self.damaged,
            "skipped": sum(f.status == "skipped" for f in self.files),
            "failed": self.failed,
            "input_bytes": sum(f.input_bytes for f in written),
            "output_bytes": sum(f.output_bytes for f in written),
            "size_ratio": None if ratio is None else round(ratio, 4),
            "frames": frames,
            "seconds": round(self.seconds, 3),
            "fps": round(frames / self.seconds, 2) if self.seconds > 0 else 0.0,
            "model": self.model,
            "device": self.device,
        }


def partial_path(dst: Path) -> Path:
    """Where an output is written until it is complete (hidden, same folder, same extension)."""
    return dst.with_name(f".{dst.stem}.partial{dst.suffix}")


def _same_file(a: Path, b: Path) -> bool:
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
        return Engine(net, dev, precision=precision, strength=strength)
    except ModelError as e:
        raise RestoreError(str(e)) from None
    except ValueError as e:
        raise RestoreError(str(e)) from None


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
        max_batch: most B-frames restored in one batch.

    Returns:
        A :class:`FileResult` with status "done" or "damaged".

    Raises:
        RestoreError, DecodeError, OutputError: with one-line messages naming the file (the
        input for what cannot be read, the output for what cannot be written).
    """
    src, dst = Path(src), Path(dst)
    encode = encode or EncodeOptions()
    if _same_file(src, dst) or src.resolve() == dst.resolve():
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
            sink = _NamedSink(writer, dst)
            bar = tqdm(total=info.frame_count, unit="frame", desc=src.name, disable=not show,
                       leave=False, dynamic_ncols=True, file=sys.stderr)
            frames = 0
            with bar:
                for _ in write_restored(video, engine, sink, others, max_batch=max_batch):
                    frames += 1
                    bar.update(1)
            stats = video.stats
            sink.close()
            writer = None
        if frames != stats.frames:  # the scheduler's promise; never expected to fail
            raise RestoreError(f"{src}: {stats.frames} frames in, {frames} out")
        try:
            os.replace(tmp, dst)
        except OSError as e:
            raise OutputError(f"{dst}: cannot write it ({e.strerror or e})") from None
    except BaseException:
        if writer is not None:
            writer.abort()
        tmp.unlink(missing_ok=True)
        raise
    seconds = time.perf_counter() - started
    result = FileResult(str(src), str(dst), "done", frames, seconds, stats.damaged,
                        input_bytes=src.stat().st_size if src.is_file() else None,
                        output_bytes=dst.stat().st_size)
    if stats.incomplete:
        result.status, result.problem = "damaged", stats.describe()
        log.warning("%s: damaged or cut short: %d frames restored into %s (%s)", src, frames,
                    dst, result.problem)
    return result


class _NamedSink:
    """The writer, with its errors naming the output file (not the input, not the partial)."""

    def __init__(self, writer: VideoWriter, name: Path) -> None:
        self.writer, self.name = writer, name

    def write(self, frame, planes) -> None:
        try:
            self.writer.write(frame, planes)
        except (av.error.FFmpegError, OSError, ValueError) as e:
            raise OutputError(f"{self.name}: cannot write it ({_reason(e)})") from None

    def copy_packet(self, packet) -> None:
        try:
            self.writer.copy_packet(packet)
        except (av.error.FFmpegError, OSError, ValueError) as e:
            raise OutputError(f"{self.name}: cannot copy a {packet.stream.type} packet into it "
                              f"({_reason(e)})") from None

    def close(self) -> None:
        try:
            self.writer.close()
        except (av.error.FFmpegError, OSError, ValueError) as e:
            raise OutputError(f"{self.name}: cannot finish it ({_reason(e)})") from None


# -- batches ----------------------------------------------------------------------------------

@dataclass
class Job:
    source: Path
    output: Path


def _expand(inputs: list[str]) -> list[tuple[Path, Path]]:
    """(file, name relative to the output folder) for every input file, folder or glob."""
    found: list[tuple[Path, Path]] = []
    for spec in inputs:
        p = Path(spec)
        if not p.exists() and any(ch in spec for ch in "*?["):
            matches = sorted(glob.glob(spec, recursive=True))
            if not matches:
                raise RestoreError(f"{spec}: matches no file")
            found.extend((Path(m), Path(Path(m).name)) for m in matches if Path(m).is_file())
        elif p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in VIDEO_EXTENSIONS
                           and not f.name.startswith("."))
            if not files:
                raise RestoreError(f"{spec}: folder holds no video files")
            found.extend((f, f.relative_to(p)) for f in files)
        else:
            found.append((p, Path(p.name)))  # missing files fail per file, with their reason
    return found


def plan_jobs(inputs: list[str], output: str, encode: EncodeOptions | None = None) -> list[Job]:
    """Pair every input with its output path, the container decided for each.

    One input file and an output that is not a folder: file to file (an output container that
    cannot hold the video is an error). Otherwise ``output`` is a folder and each output keeps
    its input's name (and its path below an input folder) and extension when that container
    holds ``encode.codec`` and the input's audio and subtitles; else it is written as ``.mkv``,
    which holds them all, and one line says so. Nothing is decoded here.
    """
    if not inputs:
        raise RestoreError("no input given")
    encode = encode or EncodeOptions()
    found = _expand(inputs)
    out = Path(output)
    single = (len(inputs) == 1 and len(found) == 1 and not Path(inputs[0]).is_dir()
              and not out.is_dir() and not output.endswith(os.sep))
    if single:
        src = found[0][0]
        if out.suffix and not _same_file(src, out):
            why = container_misfit(out, encode.codec, src)
            if why:
                raise RestoreError(f"{out}: {why}; name it .mkv, or choose another --codec")
        return [Job(src, out)]
    if out.exists() and not out.is_dir():
        raise RestoreError(f"{out}: several inputs need an output folder, and this is a file")
    jobs = []
    for src, rel in found:
        dst = out / rel
        why = container_misfit(dst, encode.codec, src)
        if why:
            dst = dst.with_name(dst.name + ".mkv") if not dst.suffix else dst.with_suffix(".mkv")
            log.warning("%s: %s; writing %s", src, why, dst)
        jobs.append(Job(src, dst))
    seen: dict[Path, Path] = {}
    sources = {j.source.resolve() for j in jobs}
    for j in jobs:
        if j.output in seen:
            raise RestoreError(f"{seen[j.output]} and {j.source} would both be written to {j.output}")
        if j.output.resolve() in sources:
            raise RestoreError(f"{j.output}: output would overwrite an input; choose another "
                               "output folder")
        seen[j.output] = j.source
    return jobs


def restore_batch(
    inputs: list[str],
    output: str,
    *,
    model: str = "auto",
    device: str = "auto",
    precision: str = "auto",
    encode: EncodeOptions | None = None,
    skip_existing: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
    input_format: str | None = None,
    strength: float = 1.0,
) -> BatchResult:
    """Restore many inputs (files, folders, globs) with one model; failures do not stop the rest.

    Every option is checked first (encoder settings, then the inputs and the outputs' containers,
    then the model and the device), before any frame is decoded.
    """
    encode = encode or EncodeOptions()
    check_encode(encode)
    jobs = plan_jobs(inputs, output, encode)
    engine = make_engine(model, device, precision, strength)
    result = BatchResult(model=engine.name, device=str(engine.device))
    show = sys.stderr.isatty() if progress is None else progress
    started = time.perf_counter()
    overall = tqdm(total=len(jobs), unit="file", desc="files", disable=not show or len(jobs) < 2,
                   position=0, dynamic_ncols=True, file=sys.stderr)
    with overall:
        for job in jobs:
            if job.output.exists() and skip_existing:
                result.files.append(FileResult(str(job.source), str(job.output), "skipped"))
                overall.update(1)
                continue
            try:
                r = restore_file(job.source, job.output, engine=engine, encode=encode,
                                 overwrite=overwrite, progress=show, input_format=input_format)
            except (RestoreError, DecodeError, OutputError, OSError, av.error.FFmpegError) as e:
                msg = str(e) if isinstance(e, (RestoreError, DecodeError, OutputError)) else (
                    f"{getattr(e, 'filename', None) or job.source}: {_reason(e)}")
                log.error("error: %s", msg)
                r = FileResult(str(job.source), str(job.output), "failed", error=msg)
            result.files.append(r)
            overall.update(1)
    result.seconds = time.perf_counter() - started
    return result
