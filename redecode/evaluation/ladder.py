"""Ladder points: encoder settings per QP / CRF, the encodes, and their cache.

An encode is cached in the cache folder under a name that holds a hash of the source content
(:meth:`Source.digest`) and of everything that shapes the bitstream (codec, options, frames,
pixel format, rate, PyAV and libavcodec versions), beside a JSON file with its real size in
bits. A rerun with the same settings (another model, say) finds it and only restores.

MPEG-2 / MPEG-4 have no QP: ``qp`` is mapped to the quantiser scale whose step matches it
(:func:`mpeg_qscale`: QP = 4 + 6*log2(2*qscale), qscale 1..31), and the encoder is held at that
scale (qmin = qmax).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av

from ..atomic import atomic_path
from ..coding import LADDER_QPS, mpeg_qscale
from ..decoders import planes_to_frame
from ..pipeline.y4m import write_y4m

if TYPE_CHECKING:
    from .records import Encoded, PointJob
    from .sources import Source

CODECS = ("libx264", "libx265", "mpeg2video", "mpeg4")
DEFAULT_QPS = LADDER_QPS
MPEG2_RATES = tuple(Fraction(r) for r in ("24000/1001", "24", "25", "30000/1001", "30", "50",
                                           "60000/1001", "60"))


def fmt_value(v: float) -> str:
    """A ladder value as written in names and tables: 37, 23.5."""
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def json_number(v: float) -> int | float:
    """A ladder value as results.json holds it: 37 (an int), 23.5."""
    return int(v) if float(v).is_integer() else float(v)


def encoder_options(codec: str, mode: str, value: float, preset: str, bframes: int,
                    gop: int | None) -> tuple[dict[str, str], dict]:
    """PyAV encoder options for a ladder point, and what they mean (for the results)."""
    v = fmt_value(value)
    info: dict = {}
    if codec == "libx264":
        opts = {"preset": preset, "bf": str(bframes), mode: v}
        if gop:
            opts["g"] = str(gop)
    elif codec == "libx265":
        params = [f"{mode}={v}", f"bframes={bframes}", "log-level=error"]
        if gop:
            params.append(f"keyint={gop}")
        opts = {"preset": preset, "x265-params": ":".join(params)}
    else:
        q = mpeg_qscale(value)
        opts = {"qmin": str(q), "qmax": str(q), "bf": str(bframes)}
        if gop:
            opts["g"] = str(gop)
        info = {"qscale": q, "qp_equivalent": round(4 + 6 * math.log2(2 * q), 2)}
    return opts, info


def encode_rate(codec: str, rate: Fraction) -> Fraction:
    """The frame rate the stream is encoded at: the source's, except where the codec cannot.

    MPEG-2 allows only its standard rates; other sources are encoded at 25 fps (with a fixed
    quantiser the bits do not depend on it, and kbps is always computed at the source's rate).
    """
    if codec == "mpeg2video" and rate not in MPEG2_RATES:
        return Fraction(25)
    return rate


def safe_name(name: str) -> str:
    """``name`` with only letters, digits and ``-_.`` (for cache file names)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60] or "source"


def _libav_version() -> str:
    try:
        return ".".join(map(str, av.library_versions["libavcodec"]))
    except (AttributeError, KeyError, TypeError):
        return "unknown"


def cache_key(job: PointJob, opts: dict[str, str]) -> str:
    """The hash that names a ladder point's encode in the cache."""
    s = job.settings
    key = {
        "source": job.digest, "codec": s.codec, "mode": job.mode, "value": job.value,
        "options": opts, "frames": s.frames, "pix_fmt": job.ref_format,
        "rate": str(encode_rate(s.codec, job.source.rate)),
        "av": av.__version__, "libav": _libav_version(),
    }
    return hashlib.blake2b(json.dumps(key, sort_keys=True).encode(), digest_size=8).hexdigest()


def encode_point(job: PointJob) -> Encoded:
    """Encode one ladder point, or find it in the cache."""
    from .records import Encoded

    s = job.settings
    opts, info = encoder_options(s.codec, job.mode, job.value, s.preset, s.bframes, s.gop)
    cache = Path(job.cache)
    cache.mkdir(parents=True, exist_ok=True)
    stem = (f"{safe_name(job.source.label)}-{s.codec}-{job.mode}{fmt_value(job.value)}-"
            f"{cache_key(job, opts)}")
    path, meta_path = cache / f"{stem}.mkv", cache / f"{stem}.json"
    if path.exists() and meta_path.exists():
        try:
            return Encoded(path=path, cached=True, **json.loads(meta_path.read_text()))
        except (OSError, ValueError, TypeError):
            pass
    started = time.perf_counter()
    with atomic_path(path) as tmp:
        bits, frames = _encode(job, tmp, opts)
        if frames == 0:
            raise RuntimeError(f"{job.source.path}: no frames")
        meta = {"bits": bits, "frames": frames, "options": opts,
                "encode_seconds": round(time.perf_counter() - started, 3), **info}
        with atomic_path(meta_path) as tmp_meta:
            tmp_meta.write_text(json.dumps(meta, indent=1))
    return Encoded(path=path, cached=False, **meta)


def _encode(job: PointJob, path: Path, opts: dict[str, str]) -> tuple[int, int]:
    """Encode the source's frames into ``path`` (Matroska); returns (bits, frames)."""
    s = job.settings
    rate = encode_rate(s.codec, job.source.rate)
    bits = frames = 0
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream(s.codec, rate=rate)
        stream.width, stream.height = job.source.width, job.source.height
        stream.pix_fmt = job.ref_format
        stream.time_base = Fraction(1) / rate
        stream.options = opts
        for planes in job.source.frames(job.ref_format, s.frames):
            frame = planes_to_frame(planes, job.ref_format)
            frame.pts = frames
            frame.time_base = Fraction(1) / rate
            for packet in stream.encode(frame):
                bits += packet.size * 8
                out.mux(packet)
            frames += 1
        for packet in stream.encode(None):
            bits += packet.size * 8
            out.mux(packet)
        bits += 8 * len(stream.codec_context.extradata or b"")
    return bits, frames


def reference_y4m(src: Source, fmt: str, digest: str, limit: int | None, cache: Path) -> Path:
    """The source as a y4m file in the encoded format (VMAF's reference); written once, cached."""
    if src.kind == "y4m" and limit is None and src.pix_fmt == fmt:
        return src.path
    path = cache / f"{safe_name(src.label)}-{digest[:16]}-{fmt}-{limit or 'all'}.ref.y4m"
    if not path.exists():
        write_y4m(path, src.frames(fmt, limit), src.width, src.height, src.rate, fmt)
    return path
