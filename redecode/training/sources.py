"""Where training pictures come from: the built-in catalogue, procedural pictures, the user's files.

A :class:`Source` is one still picture (made into video by :func:`camera.camera_clip`) or one
video (or a time span of one: the catalogue holds real videos out by their final stretch, so a
video can give a training source and a validation source). Real video serves as pristine only
after losing its own compression: it is scaled down with an area filter by at least 2x.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from ..atomic import atomic_path
from . import catalog
from .camera import dead_leaves

__all__ = [
    "IMAGE_EXTS", "VIDEO_EXTS", "Source", "builtin_sources", "dead_leaves_sources", "load_image",
    "probe_video", "user_sources", "video_clip",
]

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
VIDEO_EXTS = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".m2ts",
              ".m4v", ".y4m", ".wmv", ".flv", ".3gp", ".ogv"}
#: Real video is scaled down at least this much (area filter) before it serves as pristine.
VIDEO_DOWNSCALE = 2.0
#: Weight of a real video against a colour photograph in the draw (real motion, real noise).
VIDEO_WEIGHT = 3.0
#: Procedural pictures drawn per build and their size; all together weigh as four photographs.
DEAD_LEAVES_IMAGES = 48
DEAD_LEAVES_SIZE = (1280, 960)


@dataclass(frozen=True)
class Source:
    """One scene source.

    Attributes:
        key: names it in metadata (``collection/file``, ``user:...``); decides nothing.
        path: the file.
        kind: "image" or "video".
        split: "train" or "val".
        licence, author: as catalogued ("user-supplied" for the user's files).
        weight: relative chance of being drawn.
        span: for videos, the part of the duration used, as fractions (start, end).
        duration, rate: videos: seconds and frames per second, when known.
        width, height: videos: frame size.
        downscale: videos: the least factor they are scaled down by (their own compression
            must go); 1 for videos that are already clean.
    """

    key: str
    path: str
    kind: str
    split: str
    licence: str = "user-supplied"
    author: str = ""
    weight: float = 1.0
    span: tuple[float, float] = (0.0, 1.0)
    duration: float | None = None
    rate: float | None = None
    width: int = 0
    height: int = 0
    downscale: float = VIDEO_DOWNSCALE

    def record(self) -> dict:
        """A plain dict for manifests and clip metadata (without the machine's path)."""
        d = asdict(self)
        d.pop("path")
        d["span"] = list(self.span)
        return d

    def frames_in_span(self) -> int:
        if not self.duration or not self.rate:
            return 0
        return int(self.duration * self.rate * (self.span[1] - self.span[0]))


def probe_video(path: str | os.PathLike) -> tuple[float | None, float | None, int, int]:
    """(duration s, frame rate, width, height) of a video; None/0 where unknown or unreadable."""
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                return None, None, 0, 0
            st = c.streams.video[0]
            rate = float(st.average_rate or st.guessed_rate or 0) or None
            dur = None
            if st.duration is not None and st.time_base is not None:
                dur = float(st.duration * st.time_base)
            elif c.duration:
                dur = c.duration / av.time_base
            if st.frames and rate and (dur is None or abs(st.frames / rate - dur) > 1.0):
                dur = st.frames / rate  # some containers announce a rate the frames do not have
            return dur, rate, st.width, st.height
    except (av.error.FFmpegError, OSError, ValueError, IndexError):
        return None, None, 0, 0


def _video_sources(key: str, path: Path, licence: str, author: str, weight: float,
                   val: bool, val_from: float | None, downscale: float = VIDEO_DOWNSCALE) -> list[Source]:
    dur, rate, w, h = probe_video(path)
    if rate is None:
        return []
    common = dict(key=key, path=str(path), kind="video", licence=licence, author=author, weight=weight,
                  duration=dur, rate=rate, width=w, height=h, downscale=downscale)
    if val_from is not None:
        return [Source(split="train", span=(0.0, val_from), **common),
                Source(split="val", span=(val_from, 1.0), **common)]
    return [Source(split="val" if val else "train", **common)]


def builtin_sources(collections: Sequence[str] | None, cache_dir: Path,
                    roots: dict[str, str | os.PathLike] | None = None) -> tuple[list[Source], list[str]]:
    """The catalogued sources present on this machine (see :mod:`catalog`), and notes on the
    missing ones. GCompris pictures and downloaded packages are extracted into ``cache_dir``;
    ``roots`` overrides collections' folders."""
    found, notes = catalog.available(collections, cache_dir=cache_dir, roots=roots)
    out: list[Source] = []
    for item, path in found:
        if item.kind == "video":
            weight = 1.0 if "rendered" in item.note else VIDEO_WEIGHT
            out += _video_sources(item.key, path, item.licence, item.author, weight, item.val, item.val_from)
        else:
            out.append(Source(key=item.key, path=str(path), kind="image", split="val" if item.val else "train",
                              licence=item.licence, author=item.author, weight=0.5 if item.gray else 1.0))
    return out, notes


def dead_leaves_sources(folder: Path, seed: int) -> list[Source]:
    """Draw the procedural training pictures into ``folder`` (kept if already there)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(DEAD_LEAVES_IMAGES):
        path = folder / f"deadleaves_{seed}_{i:03d}.png"
        if not path.is_file():
            img = dead_leaves(np.random.default_rng([seed, 7, i]), *DEAD_LEAVES_SIZE)
            with atomic_path(path) as tmp:
                cv2.imwrite(str(tmp), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        out.append(Source(key=f"deadleaves/{path.name}", path=str(path), kind="image", split="train",
                          licence="generated (CC0-1.0)", author="redecode", weight=4.0 / DEAD_LEAVES_IMAGES))
    return out


def user_sources(paths: Sequence[str], val_fraction: float, val_paths: Sequence[str] = (),
                 video_downscale: float = VIDEO_DOWNSCALE) -> tuple[list[Source], list[str]]:
    """Images and videos among the given files and folders (searched recursively).

    Whole files are held out for validation: those under ``val_paths`` when given, else, sorted
    by the SHA-1 of their name relative to the folder given, the first ``round(val_fraction * N)``
    (at least one of two or more); the split depends on names only. Unreadable files are left
    out with a note. A path that does not exist raises FileNotFoundError.
    """
    found: list[tuple[str, Path, str]] = []
    notes: list[str] = []
    held_out: set[str] = set()
    for given in [*paths, *val_paths]:
        root = Path(given)
        if not root.exists():
            raise FileNotFoundError(f"{given}: no such file or folder")
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            ext = path.suffix.lower()
            if ext not in IMAGE_EXTS | VIDEO_EXTS:
                if root.is_file():
                    notes.append(f"{path}: not an image or video file name, skipped")
                continue
            rel = path.name if root.is_file() else f"{root.name}/{path.relative_to(root).as_posix()}"
            if ext in IMAGE_EXTS and not cv2.haveImageReader(str(path)):
                notes.append(f"{path}: not an image OpenCV can read, skipped")
                continue
            found.append((rel, path, "image" if ext in IMAGE_EXTS else "video"))
            if given in val_paths:
                held_out.add(rel)
    if val_paths:
        val_keys = held_out
    else:
        order = sorted(found, key=lambda f: hashlib.sha1(f[0].encode()).hexdigest())
        n_val = 0 if len(order) < 2 else max(1, round(val_fraction * len(order)))
        val_keys = {f[0] for f in order[:n_val]}
    out: list[Source] = []
    for rel, path, kind in found:
        split = "val" if rel in val_keys else "train"
        if kind == "video":
            srcs = _video_sources(f"user:{rel}", path, "user-supplied", "", VIDEO_WEIGHT, split == "val", None,
                                  video_downscale)
            if not srcs:
                notes.append(f"{path}: no readable video stream, skipped")
            out += srcs
        else:
            out.append(Source(key=f"user:{rel}", path=str(path), kind="image", split=split))
    return out, notes


@functools.lru_cache(maxsize=24)
def load_image(path: str) -> np.ndarray:
    """An image file as RGB uint8 (H, W, 3); grey images get three equal channels. Pictures with
    transparency are cut to the largest band of fully opaque rows and columns."""
    data = np.fromfile(path, np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"{path}: not an image OpenCV can read")
    if img.dtype != np.uint8:
        img = (img.astype(np.float64) * (255.0 / np.iinfo(img.dtype).max) + 0.5).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    elif img.shape[2] == 4:
        opaque = img[..., 3] == 255
        rows, cols = np.flatnonzero(opaque.all(axis=1)), np.flatnonzero(opaque.all(axis=0))
        if len(rows) and len(cols):
            img = img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    else:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    img.setflags(write=False)
    return img


def read_video_frames(path: str, start: float, count: int) -> list[np.ndarray]:
    """``count`` consecutive RGB frames from ``start`` seconds on (seeking to the key frame
    before it, then decoding forward); fewer when the video ends first."""
    frames: list[np.ndarray] = []
    with av.open(path) as c:
        st = c.streams.video[0]
        st.thread_type = "SLICE"
        tb = float(st.time_base) if st.time_base else 1 / 90000
        origin = st.start_time or 0  # times are counted from the stream's start
        if start > 0:
            c.seek(int(start / tb) + origin, stream=st, backward=True, any_frame=False)
        for f in c.decode(st):
            if f.pts is None or (f.pts - origin) * tb < start - 1e-6:
                continue
            frames.append(f.to_ndarray(format="rgb24"))
            if len(frames) == count:
                break
    return frames


def video_size(src: Source, size: tuple[int, int]) -> tuple[int, int] | None:
    """The clip size (width, height) a video can give: the drawn ``size`` or, when the video
    scaled down by its ``downscale`` is smaller, that (multiples of 16); None below 128x96."""
    w = min(size[0], int(src.width / src.downscale) // 16 * 16)
    h = min(size[1], int(src.height / src.downscale) // 16 * 16)
    return (w, h) if w >= 128 and h >= 96 else None


def video_clip(src: Source, width: int, height: int, count: int, start: float,
               seed: int) -> tuple[list[np.ndarray], dict]:
    """``count`` frames of a video from ``start`` seconds, scaled down by a random factor of at
    least the source's ``downscale`` (area filter) and cropped at a random place."""
    rng = np.random.default_rng(seed)
    raw = read_video_frames(src.path, start, count)
    if len(raw) < count:
        raise ValueError(f"{src.path}: only {len(raw)} frames from {start:.2f} s, need {count}")
    vh, vw = raw[0].shape[:2]
    kmax = min(vw / width, vh / height)
    k = src.downscale
    if kmax < k:
        raise ValueError(f"{src.path}: {vw}x{vh} cannot give {width}x{height} scaled down {k:g}x")
    scale = float(math.exp(rng.uniform(math.log(k), math.log(max(kmax, k)))))
    interp = cv2.INTER_AREA if scale > 1 else cv2.INTER_LINEAR
    sw, sh = max(width, round(vw / scale)), max(height, round(vh / scale))
    x0 = int(rng.integers(0, sw - width + 1))
    y0 = int(rng.integers(0, sh - height + 1))
    frames = [np.ascontiguousarray(cv2.resize(f, (sw, sh), interpolation=interp)[y0:y0 + height, x0:x0 + width])
              for f in raw]
    return frames, {"scale": round(scale, 4), "start_s": round(start, 3), "crop": [x0, y0]}
