"""Find an ``ffmpeg`` program, learn what it can do (filters, encoders, version), run graphs.

PyAV bundles FFmpeg's libraries, but not every filter: the post-processing filters (``spp``,
``uspp``, ``pp7``, ``fspp``) and ``libvmaf`` exist only in some builds, and some encoders exist
only in other builds. Commands that need them run an ``ffmpeg`` program instead, found in this
order:

1. ``$REDECODE_FFMPEG`` (a path, or a name looked up on ``PATH``);
2. ``ffmpeg`` on ``PATH``;
3. the binary shipped by the ``imageio-ffmpeg`` package (``pip install imageio-ffmpeg``).

What a binary offers is asked once per process and cached. Command lines that run a graph
(input -> filters -> output) are built with ffmpeg-python (imported as ``ffmpeg_python``, the
PyPI package, not this module) and turned into an argument list by :func:`graph_command`.
The capability queries here (``-filters``, ``-encoders``, ``-version``) stay hand-built:
ffmpeg-python only describes graphs with inputs and outputs, and these run none.

This module sits in the pipeline layer because the filter's ffmpeg sink needs the program too;
the evaluation uses it from above.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess

ENV_VAR = "REDECODE_FFMPEG"


class FFmpegNotFound(RuntimeError):
    """No usable ffmpeg program; the message is one line meant for users."""


def find_ffmpeg() -> str:
    """The path of the ffmpeg program to run (see the module docstring for the order).

    Raises:
        FFmpegNotFound: none was found, or ``$REDECODE_FFMPEG`` names nothing runnable.
    """
    return _find(os.environ.get(ENV_VAR) or None)


@functools.lru_cache(maxsize=8)
def _find(env: str | None) -> str:
    if env:
        path = shutil.which(env) or (env if os.path.isfile(env) and os.access(env, os.X_OK) else None)
        if path is None:
            raise FFmpegNotFound(f"${ENV_VAR}={env}: no such executable")
        return path
    path = shutil.which("ffmpeg")
    if path:
        return path
    try:
        import imageio_ffmpeg
    except ImportError:
        imageio_ffmpeg = None
    if imageio_ffmpeg is not None:
        try:
            path = imageio_ffmpeg.get_ffmpeg_exe()
        except RuntimeError:
            path = None
        if path and os.path.isfile(path):
            return path
    raise FFmpegNotFound(f"no ffmpeg program found: set ${ENV_VAR}, put ffmpeg on PATH, "
                         "or pip install imageio-ffmpeg")


def available() -> bool:
    """True when an ffmpeg program can be found."""
    try:
        find_ffmpeg()
    except FFmpegNotFound:
        return False
    return True


def _query(exe: str, what: str) -> str:
    try:
        r = subprocess.run([exe, "-hide_banner", "-nostdin", what], capture_output=True,
                           text=True, errors="replace", timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        raise FFmpegNotFound(f"{exe}: cannot run ({e})") from None
    return r.stdout


# Lines of `ffmpeg -filters` / `-encoders`: flags, a name, then a description.
_FILTER_LINE = re.compile(r"^\s*[TSC.]{2,3}\s+(\S+)\s+\S+->\S+\s")
_ENCODER_LINE = re.compile(r"^\s*[VASFXBD.]{6}\s+(\S+)\s")


@functools.lru_cache(maxsize=8)
def _filters(exe: str) -> frozenset[str]:
    return frozenset(m.group(1) for line in _query(exe, "-filters").splitlines()
                     if (m := _FILTER_LINE.match(line)))


@functools.lru_cache(maxsize=8)
def _encoders(exe: str) -> frozenset[str]:
    names = set()
    for line in _query(exe, "-encoders").splitlines():
        m = _ENCODER_LINE.match(line)
        if m and m.group(1) != "=":
            names.add(m.group(1))
    return frozenset(names)


@functools.lru_cache(maxsize=8)
def _version(exe: str) -> str:
    first = _query(exe, "-version").splitlines()[:1]
    m = re.match(r"ffmpeg version (\S+)", first[0]) if first else None
    return m.group(1) if m else "unknown"


def filters(exe: str | None = None) -> frozenset[str]:
    """Names of the filters the program has (e.g. ``{"spp", "libvmaf", ...}``)."""
    return _filters(exe or find_ffmpeg())


def encoders(exe: str | None = None) -> frozenset[str]:
    """Names of the encoders the program has (e.g. ``{"libx264", "ffv1", ...}``)."""
    return _encoders(exe or find_ffmpeg())


def has_filter(name: str, exe: str | None = None) -> bool:
    """True when ffmpeg is found and has the filter ``name``."""
    try:
        return name in filters(exe)
    except FFmpegNotFound:
        return False


def version(exe: str | None = None) -> str:
    """The program's version string (e.g. ``"n9.0.2-17-g2a571b6068-20260930"``)."""
    return _version(exe or find_ffmpeg())


def graph_command(stream, exe: str | None = None, loglevel: str = "error") -> list[str]:
    """The argument list that runs an ffmpeg-python graph quietly with the program found here.

    Args:
        stream: an ffmpeg-python output stream (``ffmpeg_python.input(...)....output(...)``).
        exe: the program (default: :func:`find_ffmpeg`).
        loglevel: ffmpeg's ``-loglevel`` (errors only by default, so a failure is one line).
    """
    return stream.global_args("-hide_banner", "-loglevel", loglevel).compile(cmd=exe or find_ffmpeg())
