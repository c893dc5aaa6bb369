"""What an output can be, decided before any work: encoder settings and containers.

* :func:`check_encode` validates ``--codec``, ``--crf``, ``--preset``, ``--pix-fmt`` and every
  ``--encoder-option`` against the encoder itself (its option table, then a trial opening), so
  a mistake is one line before a file is read, not an FFmpeg error after the first frame.
* :func:`container_misfit` says why a file name's container cannot hold the encoder's video
  (or the input's other streams), for the container rule of ``redecode restore``: keep the
  input's extension when its container holds the chosen codec, else write ``.mkv``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av

from .writer import EncodeOptions, OutputError, find_encoder

# CRF ranges of the encoders that take one (EncodeOptions passes --crf to these only).
CRF_RANGES = {"libx264": (0.0, 51.0), "libx265": (0.0, 51.0)}
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow", "placebo")

# Muxers that cannot tell FFmpeg which codecs they hold (no query function): what they hold
# among the video codecs redecode encodes. Copied streams are not judged for them.
_HOLDS = {
    "mpegts": frozenset({"h264", "hevc", "mpeg1video", "mpeg2video", "mpeg4"}),
    "mpeg": frozenset({"mpeg1video", "mpeg2video"}),
    "vob": frozenset({"mpeg1video", "mpeg2video"}),
    "svcd": frozenset({"mpeg1video", "mpeg2video"}),
    "dvd": frozenset({"mpeg1video", "mpeg2video"}),
}
# Pairs FFmpeg muxes but that lose something: AVI has no presentation timestamps, so H.264 and
# HEVC with B-frames (and variable frame rates) need hacks players handle badly; FFV1 has no
# MP4/MOV mapping that players know.
_POOR = {
    "avi": ("h264", "hevc", "AVI keeps no presentation timestamps for their B-frames"),
    "mp4": ("ffv1", "FFV1 has no standard MP4 mapping"),
}


# -- encoder settings ------------------------------------------------------------------------

def check_encode(encode: EncodeOptions, *, external_ok: bool = False) -> None:
    """Validate encoder settings; one line naming the option at fault.

    Args:
        encode: the settings.
        external_ok: an encoder PyAV lacks is accepted (``redecode filter`` then looks for it
            in an ffmpeg program, and reports there).

    Raises:
        OutputError: unknown encoder, CRF out of range, unknown preset, pixel format or option
            name, or a value the encoder rejects when opened.
    """
    codec = find_encoder(encode.codec)
    if codec is None:
        if external_ok:
            return
        raise OutputError(f"--codec {encode.codec}: unknown encoder (not in PyAV's FFmpeg)")
    if codec.type != "video":
        raise OutputError(f"--codec {encode.codec}: not a video encoder ({codec.type})")
    crf = CRF_RANGES.get(encode.codec)
    if crf and not encode.lossless and not (math.isfinite(encode.crf)
                                            and crf[0] <= encode.crf <= crf[1]):
        raise OutputError(f"--crf {encode.crf:g}: {encode.codec} takes {crf[0]:g} to {crf[1]:g} "
                          "(lower is better quality)")
    if encode.codec in CRF_RANGES and encode.preset not in X26X_PRESETS:
        raise OutputError(f"--preset {encode.preset}: {encode.codec} presets are "
                          f"{', '.join(X26X_PRESETS)}")
    formats = [f.name for f in (codec.video_formats or [])]
    if encode.pix_fmt:
        try:
            av.VideoFormat(encode.pix_fmt)
        except (ValueError, av.error.FFmpegError):
            raise OutputError(f"--pix-fmt {encode.pix_fmt}: unknown pixel format") from None
        if formats and encode.pix_fmt not in formats:
            raise OutputError(f"--pix-fmt {encode.pix_fmt}: {encode.codec} cannot encode it "
                              f"(it takes: {', '.join(formats[:12])})")
    names = option_names(encode.codec)
    for key in encode.options:
        if key not in names:
            raise OutputError(f"--encoder-option {key}: {encode.codec} has no such option "
                              f"(`ffmpeg -h encoder={encode.codec}` lists them)")
    _trial_open(encode, formats)


@functools.lru_cache(maxsize=16)
def option_names(codec: str) -> frozenset[str]:
    """The options an encoder takes: its own and the generic video encoding ones."""
    from av.codec.context import OptionFlags

    opts = av.CodecContext.create(codec, "w").supported_options
    generic = {o.name for o in opts.generic
               if o.flags & OptionFlags.ENCODING_PARAM and o.flags & OptionFlags.VIDEO_PARAM}
    return frozenset(generic | {o.name for o in opts.private})


def _trial_open(encode: EncodeOptions, formats: list[str]) -> None:
    """Open the encoder on a small picture with the settings, to hear it refuse a value."""
    base = EncodeOptions(encode.codec, encode.crf, encode.preset, encode.pix_fmt,
                         encode.lossless, {})
    pix = encode.pix_fmt or next((f for f in ("yuv420p", "yuv444p") if f in formats),
                                 formats[0] if formats else "yuv420p")
    error = _open_error(encode.codec, pix, encode.encoder_options())
    if error is None:
        return
    if _open_error(encode.codec, pix, base.encoder_options()) is not None:
        raise OutputError(f"{encode.codec} cannot be opened with these settings "
                          f"(--crf {encode.crf:g}, --preset {encode.preset}): {error}")
    for key, value in encode.options.items():
        one = EncodeOptions(encode.codec, encode.crf, encode.preset, encode.pix_fmt,
                            encode.lossless, {key: value})
        why = _open_error(encode.codec, pix, one.encoder_options())
        if why is not None:
            raise OutputError(f"--encoder-option {key}={value}: {encode.codec} rejects it ({why})")
    raise OutputError(f"--encoder-option: {encode.codec} rejects these options together ({error})")


def _open_error(codec: str, pix_fmt: str, options: dict[str, str]) -> str | None:
    """None when the encoder opens with ``options``, else its complaint in one line."""
    with _stderr_captured() as said:
        cc = av.CodecContext.create(codec, "w")
        cc.width, cc.height, cc.pix_fmt = 64, 64, pix_fmt
        cc.time_base = Fraction(1, 25)
        cc.framerate = Fraction(25)
        cc.options = dict(options)
        try:
            cc.open()
        except (av.error.FFmpegError, ValueError) as e:
            error = e
        else:
            error = None
        del cc  # freed here, so what the encoder says on closing is collected too
    if error is None:
        return None
    lines = [line.strip() for line in said().splitlines() if line.strip()]
    own = lines[-1].split("]:", 1)[-1].strip() if lines else ""  # "x264 [error]: ..."
    reason = str(getattr(error, "strerror", None) or error).split(": '")[0].strip()
    return own or reason or type(error).__name__


@contextlib.contextmanager
def _stderr_captured() -> Iterator:
    """Collect what C libraries print on file descriptor 2 (x264's "[error]" lines)."""
    with tempfile.TemporaryFile() as tmp:
        text = ""
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no descriptor 2: nothing to collect
            yield lambda: ""
            return
        try:
            os.dup2(tmp.fileno(), 2)
            yield lambda: text
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode(errors="replace")


# -- containers ------------------------------------------------------------------------------

class _Named(io.BytesIO):
    """An in-memory file with a name, so FFmpeg guesses the muxer from its extension."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


@functools.lru_cache(maxsize=64)
def muxer_of(suffix: str) -> tuple[str, frozenset[str]] | None:
    """(FFmpeg muxer name, codecs it says it holds) for a file extension, or None."""
    try:
        with av.open(_Named(f"x{suffix.lower()}"), "w") as c:
            return c.format.name, frozenset(c.supported_codecs)
    except (av.error.FFmpegError, ValueError, OSError):
        return None


def codec_id_name(encoder: str) -> str:
    """The codec an encoder writes ("libx264" -> "h264")."""
    c = find_encoder(encoder)
    return c.canonical_name if c is not None else encoder


def holds_video(suffix: str, encoder: str) -> str | None:
    """Why a file with this extension cannot hold the encoder's video (None: it can)."""
    muxer = muxer_of(suffix)
    if muxer is None:
        return f"no container is known for {suffix!r} files"
    fmt, codecs = muxer
    codec = codec_id_name(encoder)
    poor = _POOR.get(fmt)
    if poor and codec in poor[:-1]:
        return f"a {suffix} file cannot hold {encoder} video well ({poor[-1]})"
    ok = codec in _HOLDS[fmt] if fmt in _HOLDS else (codec in codecs or encoder in codecs)
    return None if ok else f"a {suffix} file cannot hold {encoder} video"


def holds_streams(suffix: str, source: Path) -> str | None:
    """Why a file with this extension cannot hold the audio or subtitles of ``source`` (None:
    it can, or it cannot be told: the source is not a regular file or cannot be probed)."""
    muxer = muxer_of(suffix)
    if muxer is None or muxer[0] in _HOLDS or not source.is_file():
        return None
    codecs = muxer[1]
    try:
        with av.open(str(source)) as c:
            kinds = [(s.type, s.codec_context.name) for s in c.streams
                     if s.type in ("audio", "subtitle") and s.codec_context is not None]
    except (av.error.FFmpegError, OSError, ValueError):
        return None
    for kind, name in kinds:
        if name and name not in codecs:
            return f"a {suffix} file cannot hold its {kind} stream ({name})"
    return None


def container_misfit(dst: Path, encoder: str, source: Path | None = None) -> str | None:
    """Why ``dst``'s container cannot take the restored video of ``source`` (None: it can)."""
    if not dst.suffix:
        return "the output name has no extension"
    why = holds_video(dst.suffix, encoder)
    if why is None and source is not None:
        why = holds_streams(dst.suffix, source)
    return why
