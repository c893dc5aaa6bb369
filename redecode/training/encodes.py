"""Encoding side of ``redecode dataset``: each codec's spread of settings, the one encode and
decode of a clip (pristine yuv420p planes in, :class:`~redecode.training.clips.Clip` out), and
the glibc setting that makes CRF encodes byte-reproducible."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence

import av
import numpy as np

from ..coding import mpeg_qscale
from ..decoders import open_video
from ..pipeline.samples import encode_frames
from .clips import Clip, clip_from_frames

__all__ = ["CODECS", "encode_decode", "ladder_settings", "pin_malloc", "sample_encoder",
           "to_yuv420", "x264_settings"]

CODECS = ("libx264", "mpeg2video", "mpeg4")
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")
X264_PRESET_P = (0.1, 0.1, 0.2, 0.15, 0.15, 0.2, 0.1)


def sample_encoder(rng: np.random.Generator, codec: str, frames: int, qp_range: tuple[int, int]) -> dict:
    """Encoder settings of one training clip: the codec's own spread of settings."""
    values = np.arange(qp_range[0], qp_range[1] + 1)
    weights = np.where((values >= 27) & (values <= 42), 3.0, 1.0)
    qp = int(rng.choice(values, p=weights / weights.sum()))
    g = int(rng.integers(max(4, frames // 4), frames)) if frames > 5 and rng.random() < 0.5 else 250
    if codec == "libx264":
        rc = "qp" if rng.random() < 0.7 else "crf"
        preset = str(rng.choice(X264_PRESETS, p=X264_PRESET_P))
        bf = int(rng.choice([0, 1, 2, 3], p=[0.2, 0.15, 0.25, 0.4]))
        refs = int(rng.choice([1, 2, 3, 4], p=[0.3, 0.25, 0.25, 0.2]))
        return x264_settings(rc, qp, preset, bf, refs, g)
    q = mpeg_qscale(qp)
    bf = int(rng.choice([0, 1, 2], p=[0.3, 0.3, 0.4]))
    g = min(g, int(rng.choice([12, 15, 24, 50])))
    options = {"qmin": str(q), "qmax": str(q), "bf": str(bf), "g": str(g)}
    mbd = str(rng.choice(["simple", "bits", "rd"], p=[0.4, 0.3, 0.3]))
    options["mbd"] = mbd
    flags = []
    if codec == "mpeg4":
        if rng.random() < 0.4:
            flags.append("+mv4")
        if rng.random() < 0.3:
            flags.append("+qpel")
    if rng.random() < 0.3:
        options["trellis"] = "1"
    if flags:
        options["flags"] = "".join(flags)
    return {"codec": codec, "rc": "qscale", "qscale": q, "qp_equivalent": qp, "bf": bf, "g": g, "mbd": mbd,
            "options": options}


def x264_settings(rc: str, value: int, preset: str, bf: int, refs: int, g: int) -> dict:
    """x264 settings as a recipe records them (``rc``: "qp" or "crf", ``value`` its value)."""
    options = {rc: str(value), "preset": preset, "bf": str(bf), "refs": str(refs), "g": str(g), "threads": "1"}
    return {"codec": "libx264", "rc": rc, rc: value, "preset": preset, "bf": bf, "refs": refs, "g": g,
            "options": options}


def ladder_settings(qp: int) -> dict:
    """The validation ladder's encode at one QP: x264 constant QP, preset medium, 3 B-frames,
    3 references, one GOP."""
    return x264_settings("qp", qp, "medium", 3, 3, 250)


def pin_malloc(on: bool = True) -> bool:
    """Make freshly allocated heap memory hold fixed bytes (glibc only). Returns success.

    libx264 in CRF mode with mb-tree reads some memory it never wrote (PyAV 18 / FFmpeg 8.1
    wheels, one thread): the same clip encodes differently depending on what the process
    allocated before. glibc's M_PERTURB fills every malloc'd block with a fixed byte and a fixed
    M_MMAP_THRESHOLD decides alone which blocks come from fresh zeroed pages, so an encode
    depends on its input alone. ``on=False`` stops the filling.
    """
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    m_mmap_threshold, m_perturb = -3, -6
    if not on:
        return bool(mallopt(m_perturb, 0))
    return bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_perturb, 0xA5))


def to_yuv420(frames: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """RGB frames -> (Y, U, V) uint8 planes as PyAV's swscale converts them (BT.601, limited)."""
    from ..decoders import frame_planes

    return [frame_planes(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p"), np.dtype(np.uint8))
            for rgb in frames]


@contextlib.contextmanager
def _quiet_b_motion() -> Iterator[None]:
    """Drop the decoder's "B-frames carry no motion vectors" warning: a dataset build would print
    it once per MPEG-4 clip, and docs/data.md states the fact once."""
    def keep(record: logging.LogRecord) -> bool:
        return getattr(record, "redecode_event", None) != "no_b_motion"

    logger = logging.getLogger("redecode")
    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


def encode_decode(pristine: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], encoder: dict) -> tuple[Clip, dict]:
    """Encode yuv420p planes with the recipe's encoder (one thread), decode them with metadata.

    Returns:
        The clip, and facts of the encode: bits per frame (display order), decode order, types.
    """
    h, w = pristine[0][0].shape
    packed = [np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(h * 3 // 2, w) for y, u, v in pristine]
    ext = ".mp4" if encoder["codec"] == "libx264" else ".mkv"
    with tempfile.TemporaryDirectory(prefix="redecode-ds-") as d:
        path = os.path.join(d, "clip" + ext)
        encode_frames(path, packed, codec=encoder["codec"], options=encoder["options"], input_format="yuv420p",
                      threads=1)
        bits, order = [], []

        def frames():
            with _quiet_b_motion(), open_video(path, metadata=True) as video:
                for f in video:
                    bits.append(int(f.size_bits or 0))
                    order.append(-1 if f.decode_index is None else int(f.decode_index))
                    yield f

        clip = clip_from_frames(pristine, frames())
    return clip, {"size_bits": bits, "decode_order": order}
