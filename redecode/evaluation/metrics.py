"""Measuring a stream of frames against its source: per frame, then per sequence; VMAF by ffmpeg.

The frame-level PSNR / SSIM are ``redecode.pipeline.metrics`` (the demo and the training
validation use them too); here they are taken frame by frame against the source
(:func:`measure`) and averaged per sequence (:meth:`Metrics.of_frames`). Averaging over
sequences is ``report``'s (DESIGN.md §4: per frame, then per sequence, then over sequences).

VMAF (model vmaf_v0.6.1) needs an ffmpeg program with libvmaf. The command is built with
ffmpeg-python: the distorted frames go to ffmpeg as YUV4MPEG2 on a pipe, the reference is a y4m
file, and libvmaf writes its per-frame scores to a JSON log.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import ffmpeg as ffmpeg_python

from ..decoders import Planes
from ..pipeline import ffmpeg_tool
from ..pipeline.metrics import frame_metrics
from ..pipeline.y4m import Y4MWriter
from .records import FrameRow, Metrics, PointJob, VariantResult

log = logging.getLogger("redecode")


@dataclass(frozen=True)
class FrameInfo:
    """What the decode says of a frame: its type and mean QP (None where the codec has none)."""

    type: str
    mean_qp: float | None


def one_line(e: BaseException) -> str:
    """An exception as one short line for reports."""
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:500]


def paired(reference: Iterable, distorted: Iterable, what: str) -> Iterator[tuple]:
    """(reference, distorted) frame pairs; raises RuntimeError when the counts differ."""
    ref_it, dist_it = iter(reference), iter(distorted)
    n = 0
    for r in ref_it:
        try:
            d = next(dist_it)
        except StopIteration:
            raise RuntimeError(f"{what}: {n} frames, but the source has more") from None
        yield r, d
        n += 1
    for _ in dist_it:
        raise RuntimeError(f"{what}: more frames than the source's {n}")


def measure(job: PointJob, distorted: Iterable[Planes], what: str, bit_depth: int,
            info: Sequence[FrameInfo] = ()) -> VariantResult:
    """Per-frame metrics of a stream of planes against the source, and their averages.

    Args:
        job: the ladder point (its source, format, frame limit and VMAF reference).
        distorted: the frames to measure, in display order.
        what: the variant, for messages.
        bit_depth: bits per sample of both.
        info: the decode's frame types and QPs, by frame (may grow while ``distorted`` runs).
    """
    vm = vmaf_for(job)
    rows: list[FrameRow] = []
    started = time.perf_counter()
    vmaf_scores = None
    try:
        ref = job.source.frames(job.ref_format, job.settings.frames)
        for i, (r, d) in enumerate(paired(ref, distorted, what)):
            m = frame_metrics(r, d, bit_depth)
            if vm is not None:
                vm.feed(d)
            fi = info[i] if i < len(info) else None
            rows.append(FrameRow(**m, type=fi and fi.type, mean_qp=fi and fi.mean_qp))
        seconds = time.perf_counter() - started
        if vm is not None:
            try:
                vmaf_scores = vm.finish()
            except (RuntimeError, OSError, ValueError, KeyError) as e:
                log.warning("VMAF failed for %s: %s", what, one_line(e))
            vm = None
    finally:
        if vm is not None:
            vm.close()
    if vmaf_scores is not None and len(vmaf_scores) == len(rows):
        rows = [replace(r, vmaf=v) for r, v in zip(rows, vmaf_scores)]
    return VariantResult(metrics=Metrics.of_frames(rows), frames=rows, seconds=round(seconds, 3),
                         fps=round(len(rows) / seconds, 2) if seconds > 0 else None)


def vmaf_available() -> tuple[bool, str | None]:
    """(True, None) when the ffmpeg program has libvmaf, else (False, why)."""
    try:
        if "libvmaf" in ffmpeg_tool.filters():
            return True, None
        return False, f"{ffmpeg_tool.find_ffmpeg()} has no libvmaf filter"
    except ffmpeg_tool.FFmpegNotFound as e:
        return False, str(e)


def vmaf_for(job: PointJob) -> Vmaf | None:
    """A VMAF run against the job's reference, or None when VMAF is off or unavailable."""
    if not job.reference_y4m:
        return None
    return Vmaf(job.reference_y4m, job.source.width, job.source.height, job.source.rate,
                job.ref_format)


def vmaf_command(reference: str | os.PathLike, log_path: str | os.PathLike,
                 threads: int = 1) -> list[str]:
    """ffmpeg reading distorted y4m on stdin and ``reference``, libvmaf's JSON log to ``log_path``.

    ffmpeg-python escapes the log path for the filter graph (``:``, ``'``, ``\\``).
    """
    distorted = ffmpeg_python.input("pipe:0", format="yuv4mpegpipe")
    ref = ffmpeg_python.input(os.fspath(reference))
    graph = ffmpeg_python.filter([distorted.video, ref.video], "libvmaf", log_fmt="json",
                                 log_path=os.fspath(log_path), n_threads=threads)
    return ffmpeg_tool.graph_command(graph.output("-", format="null"))


class Vmaf:
    """VMAF of frames fed one by one against a reference y4m file.

    :meth:`finish` returns the per-frame scores; :meth:`close` drops a run.
    """

    def __init__(self, reference: str | os.PathLike, width: int, height: int, rate: Fraction,
                 pix_fmt: str = "yuv420p", threads: int = 1) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="redecode-vmaf-")
        self._log = Path(self._dir.name) / "vmaf.json"
        self._err = tempfile.TemporaryFile()
        cmd = vmaf_command(reference, self._log, threads)
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=self._err)
        self._writer = Y4MWriter(self._proc.stdin, width, height, rate, pix_fmt)
        self._broken = False

    def feed(self, planes: Planes) -> None:
        if self._broken:
            return
        try:
            self._writer.write(planes)
        except (BrokenPipeError, OSError):
            self._broken = True

    def finish(self) -> list[float]:
        """Close the pipe, wait for ffmpeg and return one VMAF score per frame fed."""
        try:
            try:
                self._proc.stdin.close()
            except OSError:
                pass
            code = self._proc.wait()
            if code != 0:
                self._err.seek(0)
                raise RuntimeError(f"libvmaf failed: {last_line(self._err.read())}")
            data = json.loads(self._log.read_text())
            return [float(f["metrics"]["vmaf"]) for f in data["frames"]]
        finally:
            self.close()

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._err.close()
        self._dir.cleanup()


def last_line(raw: bytes) -> str:
    """The last non-empty line of a program's stderr."""
    lines = [ln.strip() for ln in raw.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"
