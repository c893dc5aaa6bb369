"""Many inputs (files, folders, globs) into a folder, with one model: the plan, then the run.

:func:`plan_jobs` pairs each input with its output and decides each output's container (the
rule in ``restore.py``) before anything is decoded; :func:`restore_batch` checks the options,
plans, loads the model once and restores file after file, going on after a failure.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
from tqdm import tqdm

from ..decoders import DecodeError
from .outputs import check_encode, container_misfit
from .restore import FileResult, RestoreError, make_engine, restore_file, same_file
from .writer import EncodeOptions, OutputError, error_reason

log = logging.getLogger("redecode")

VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mkv", ".mov", ".avi", ".webm", ".ts", ".m2ts", ".mts", ".mpg", ".mpeg",
    ".m2v", ".vob", ".h264", ".264", ".avc", ".hevc", ".h265", ".265", ".flv", ".3gp", ".wmv",
    ".y4m", ".nut", ".ogv", ".divx", ".xvid", ".asf",
})


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
        if out.suffix and not same_file(src, out):
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
                    f"{getattr(e, 'filename', None) or job.source}: {error_reason(e)}")
                log.error("error: %s", msg)
                r = FileResult(str(job.source), str(job.output), "failed", error=msg)
            result.files.append(r)
            overall.update(1)
    result.seconds = time.perf_counter() - started
    return result
