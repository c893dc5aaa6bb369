"""Classical post-filters (FFmpeg's deblock, spp, uspp, pp7, fspp), run by an ffmpeg program.

Baselines are applied the way a user would run them: ffmpeg decodes the *compressed* stream itself
with ``-export_side_data venc_params``, so the filters that read the stream's quantizers (spp,
uspp, pp7, fspp) get them, and writes raw frames to a pipe. (Fed decoded pixels without that side
data, spp, uspp and fspp pass frames through untouched and pp7 guesses.) FFmpeg's H.264 decoder
is bit-exact, so the unfiltered frames equal redecode's own decode. Filters run on one thread:
uspp's slice threading (FFmpeg 9.0) does not give the same frames from run to run.

The command is built with ffmpeg-python (:func:`filter_command`): the filter string of
:func:`baseline_filter` (what results.json records) is split into its name and options and
becomes a one-filter graph, ``-filter_complex [0:v:0]NAME=OPTIONS[s0] -map [s0]`` (ffmpeg-python
always writes graphs as ``-filter_complex``, so the one-thread setting is
``-filter_complex_threads 1``; it lists options in name order, which ffmpeg does not mind).

Quantizer scale: these filters were written for MPEG-1/2/4 quantiser scales (1..31). FFmpeg
converts MPEG-2/MPEG-4 tables itself, but (up to 9.0 at least) hands H.264 QPs over unchanged,
so an H.264 QP 37 is taken for quantiser scale 37 and the filters blur far too much (spp loses
2.8 dB, uspp 5.4 dB at QP 37); HEVC exports no quantizers at all. For H.264 and HEVC streams the
filters are therefore given a constant ``qp=`` from the stream's mean I/P-frame QP by
:func:`postfilter_qscale`, a rule per filter calibrated with ``tools/calibrate_postfilters.py``.
(Matching the quantizer *step* instead, as :func:`redecode.coding.mpeg_qscale` does
for the MPEG-2 encoder, gives scale 23 at QP 37, still 1.5 dB below the decode: the stream was
deblocked in the loop already, and H.264's transform is scaled differently from the filters'
8x8 DCT.)
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ffmpeg as ffmpeg_python

from ..decoders import Planes, raw_frames
from ..pipeline import ffmpeg_tool
from .metrics import last_line

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


def split_filter(text: str) -> tuple[str, dict[str, str]]:
    """``"spp=quality=4:mode=hard"`` -> ``("spp", {"quality": "4", "mode": "hard"})``.

    Only named options (``key=value``, as every filter string here has) are understood.
    """
    name, _, args = text.partition("=")
    options: dict[str, str] = {}
    for part in filter(None, args.split(":")):
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"{text}: option {part!r} has no name")
        options[key] = value
    return name, options


def availability(names: list[str]) -> tuple[list[str], dict[str, str]]:
    """(available names, {unavailable name: reason}) for the ffmpeg program found."""
    try:
        have = ffmpeg_tool.filters()
    except ffmpeg_tool.FFmpegNotFound as e:
        return [], {n: str(e) for n in names}
    ok, missing = [], {}
    for n in names:
        filt = split_filter(BASELINES[n])[0]
        if filt in have:
            ok.append(n)
        else:
            missing[n] = f"{ffmpeg_tool.find_ffmpeg()} has no {filt} filter"
    return ok, missing


def filter_command(path: str | os.PathLike, filt: str, pix_fmt: str = "yuv420p") -> list[str]:
    """ffmpeg decoding ``path`` (quantizers exported, slice threads), filtering its first video
    stream with ``filt`` on one thread, and writing raw ``pix_fmt`` frames to stdout."""
    name, options = split_filter(filt)
    stream = ffmpeg_python.input(os.fspath(path), thread_type="slice",
                                 export_side_data="venc_params")["v:0"]
    out = stream.filter(name, **options).output("pipe:1", format="rawvideo", pix_fmt=pix_fmt,
                                                fps_mode="passthrough")
    return ffmpeg_tool.graph_command(out.global_args("-nostdin", "-filter_complex_threads", "1"))


@dataclass
class FilterRun:
    """Frames of a compressed file decoded and filtered by ffmpeg, streamed through a pipe."""

    path: Path
    filter: str
    width: int
    height: int
    pix_fmt: str = "yuv420p"

    def frames(self) -> Iterator[Planes]:
        cmd = filter_command(self.path, self.filter, self.pix_fmt)
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
            try:
                try:
                    yield from raw_frames(proc.stdout, self.width, self.height, self.pix_fmt)
                except ValueError:
                    raise RuntimeError(f"ffmpeg {self.filter}: truncated frame") from None
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                proc.stdout.close()
            if proc.returncode != 0:
                err.seek(0)
                raise RuntimeError(f"ffmpeg -vf {self.filter} failed: {last_line(err.read())}")
