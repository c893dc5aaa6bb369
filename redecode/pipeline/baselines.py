"""Classical post-filters (FFmpeg's deblock, spp, uspp, pp7, fspp) and VMAF, run by an ffmpeg program.

Baselines are applied the way a user would run them: ffmpeg decodes the *compressed* stream itself
with ``-export_side_data venc_params``, so the filters that read the stream's quantizers (spp,
uspp, pp7, fspp) get them, and writes raw frames to a pipe. (Fed decoded pixels without that side
data, spp, uspp and fspp pass frames through untouched and pp7 guesses.) FFmpeg's H.264 decoder
is bit-exact, so the unfiltered frames equal redecode's own decode. Filters run on one thread:
uspp's slice threading (FFmpeg 9.0) does not give the same frames from run to run.

Quantizer scale: these filters were written for MPEG-1/2/4 quantiser scales (1..31). FFmpeg
converts MPEG-2/MPEG-4 tables itself, but (up to 9.0 at least) hands H.264 QPs over unchanged,
so an H.264 QP 37 is taken for quantiser scale 37 and the filters blur far too much (spp loses
2.8 dB, uspp 5.4 dB at QP 37); HEVC exports no quantizers at all. For H.264 and HEVC streams the
filters are therefore given a constant ``qp=`` from the stream's mean I/P-frame QP by
:func:`postfilter_qscale`, a rule per filter calibrated with ``tools/calibrate_postfilters.py``. (Matching
the quantizer *step* instead, as :func:`mpeg_qscale` does for the MPEG-2 encoder, gives scale 23
at QP 37, still 1.5 dB below the decode: the stream was deblocked in the loop already, and
H.264's transform is scaled differently from the filters' 8x8 DCT.)
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from . import ffmpeg
from .sources import Planes, Y4MWriter

#: Baselines and the filter settings used (quality levels: spp/fspp 4 = 16 shifted DCTs;
#: uspp re-encodes every frame 2**quality times with snow, so it stays at 2).
BASELINES: dict[str, str] = {
    "deblock": "deblock=filter=strong:block=8",
    "spp": "spp=quality=4:mode=hard",
    "uspp": "uspp=quality=2",
    "pp7": "pp7=mode=medium",
    "fspp": "fspp=quality=4",
}
DEFAULT_BASELINES = ("deblock", "spp", "uspp", "pp7")
QP_FILTERS = frozenset({"spp", "uspp", "pp7", "fspp"})
# Codecs whose exported quantizer table FFmpeg's post-filters read correctly.
TABLE_CODECS = frozenset({"mpeg1video", "mpeg2video", "mpeg4"})


def mpeg_qscale(qp: float) -> int:
    """The MPEG quantiser scale (1..31) whose step is closest to an H.264 QP's.

    The decoder maps a quantiser scale q to ``QP = 4 + 6 * log2(2 * q)`` (equal quantizer step,
    see ``redecode/decoders/metadata.py``); this picks the integer q in 1..31 nearest to that on
    the QP scale. E.g. QP 22 -> 4, 27 -> 7, 32 -> 13, 37 -> 23, 42 -> 31 (clamped; = QP 39.7).
    """
    best = min(range(1, 32), key=lambda q: (abs(4 + 6 * math.log2(2 * q) - qp), q))
    return int(best)


#: QP at which each post-filter's best quantiser scale is 1 (see :func:`postfilter_qscale`).
POSTFILTER_QP_AT_SCALE_1 = {"spp": 25.0, "fspp": 25.0, "pp7": 31.0, "uspp": 31.0}


def postfilter_qscale(name: str, qp: float) -> int:
    """The quantiser scale handed to spp/pp7/fspp/uspp for an H.264 (or HEVC) QP.

    ``round(2 ** ((QP - Q1) / 6))`` in 1..31, with Q1 = 25 for spp and fspp, 31 for pp7 and
    uspp (the scale doubles every 6 QP, as the quantizer step does): spp at QP 22, 27, 32, 37,
    42 gets 1, 1, 2, 4, 7; pp7 gets 1, 1, 1, 2, 4. Calibrated with
    ``tools/calibrate_postfilters.py`` on the built-in sample clip (x264 medium, 3 B-frames);
    the table is in docs/benchmarks.md.
    """
    q1 = POSTFILTER_QP_AT_SCALE_1[name]
    return int(min(31, max(1, round(2.0 ** ((qp - q1) / 6.0)))))


def baseline_filter(name: str, codec: str, mean_qp: float | None) -> str:
    """The ffmpeg filter string for baseline ``name`` on a stream of ``codec``.

    Args:
        name: a key of :data:`BASELINES`.
        codec: the stream's FFmpeg decoder name ("h264", "hevc", "mpeg2video", ...).
        mean_qp: the stream's mean I/P-frame QP on the H.264 scale (used for H.264/HEVC).
    """
    filt = BASELINES[name]
    if name in QP_FILTERS and codec not in TABLE_CODECS and mean_qp is not None:
        sep = "=" if "=" not in filt else ":"
        filt = f"{filt}{sep}qp={postfilter_qscale(name, mean_qp)}"
    return filt


def availability(names: list[str]) -> tuple[list[str], dict[str, str]]:
    """(available names, {unavailable name: reason}) for the ffmpeg program found."""
    try:
        have = ffmpeg.filters()
    except ffmpeg.FFmpegNotFound as e:
        return [], {n: str(e) for n in names}
    ok, missing = [], {}
    for n in names:
        filt = BASELINES[n].split("=", 1)[0]
        if filt in have:
            ok.append(n)
        else:
            missing[n] = f"{ffmpeg.find_ffmpeg()} has no {filt} filter"
    return ok, missing


@dataclass
class FilterRun:
    """Frames of a compressed file decoded and filtered by ffmpeg, streamed through a pipe."""

    path: Path
    filter: str
    width: int
    height: int
    pix_fmt: str = "yuv420p"

    def frames(self) -> Iterator[Planes]:
        bits = 10 if "10" in self.pix_fmt else 8
        dtype = np.dtype("<u2") if bits > 8 else np.dtype(np.uint8)
        w, h = self.width, self.height
        cw, ch = -(-w // 2), -(-h // 2)
        shapes = [(h, w), (ch, cw), (ch, cw)]
        sizes = [a * b * dtype.itemsize for a, b in shapes]
        cmd = ffmpeg.command(
            "-nostdin", "-thread_type", "slice", "-export_side_data", "venc_params",
            "-i", str(self.path), "-map", "0:v:0", "-filter_threads", "1", "-vf", self.filter,
            "-fps_mode", "passthrough",
            "-f", "rawvideo", "-pix_fmt", self.pix_fmt, "pipe:1")
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
            try:
                while True:
                    data = _read_exactly(proc.stdout, sum(sizes))
                    if not data:
                        break
                    if len(data) < sum(sizes):
                        raise RuntimeError(f"ffmpeg {self.filter}: truncated frame")
                    out, at = [], 0
                    for (a, b), n in zip(shapes, sizes):
                        out.append(np.frombuffer(data, dtype, count=a * b, offset=at).reshape(a, b))
                        at += n
                    yield out[0], out[1], out[2]
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                proc.stdout.close()
            if proc.returncode != 0:
                err.seek(0)
                raise RuntimeError(f"ffmpeg -vf {self.filter} failed: {_last_line(err.read())}")


def _read_exactly(f, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        b = f.read(n - got)
        if not b:
            break
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def _last_line(raw: bytes) -> str:
    lines = [ln.strip() for ln in raw.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


def vmaf_available() -> tuple[bool, str | None]:
    """(True, None) when the ffmpeg program has libvmaf, else (False, why)."""
    try:
        if "libvmaf" in ffmpeg.filters():
            return True, None
        return False, f"{ffmpeg.find_ffmpeg()} has no libvmaf filter"
    except ffmpeg.FFmpegNotFound as e:
        return False, str(e)


class Vmaf:
    """VMAF (model vmaf_v0.6.1) of frames fed one by one against a reference y4m file.

    ffmpeg reads the distorted frames as y4m from a pipe and the reference from the file;
    :meth:`finish` returns the per-frame scores.
    """

    def __init__(self, reference: str | os.PathLike, width: int, height: int, rate: Fraction,
                 pix_fmt: str = "yuv420p", threads: int = 1) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="redecode-vmaf-")
        self._log = Path(self._dir.name) / "vmaf.json"
        self._err = tempfile.TemporaryFile()
        log = str(self._log).replace("\\", "/").replace(":", "\\:").replace("'", "\\'")
        cmd = ffmpeg.command(
            "-f", "yuv4mpegpipe", "-i", "pipe:0", "-i", os.fspath(reference),
            "-lavfi", f"[0:v][1:v]libvmaf=log_fmt=json:log_path={log}:n_threads={threads}",
            "-f", "null", "-")
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
                raise RuntimeError(f"libvmaf failed: {_last_line(self._err.read())}")
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
