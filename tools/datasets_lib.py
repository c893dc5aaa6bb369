"""Helpers of ``tools/make_dataset.py``: source catalogue, camera trajectories, encode + decode.

Kept apart from the command so that the later quality benchmark can render the same scenes.
Nothing here is imported by the ``redecode`` package.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.util
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from redecode.decoders import open_video

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
VIDEO_EXTS = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".m2ts",
              ".m4v", ".y4m", ".wmv", ".flv", ".3gp"}
TYPE_CODES = {"I": 0, "P": 1, "B": 2}


# ----------------------------------------------------------------------------------------------
# Source catalogue
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Photo:
    """A photograph of a built-in collection, with its licence (see docs/data.md)."""

    collection: str
    file: str
    licence: str
    author: str
    gray: bool = False
    val: bool = False


# scikit-image's bundled sample images, only those whose docstring in skimage/data/_fetchers.py
# states CC0 or public domain. Left out: motorcycle_left/right (Middlebury 2014, no licence
# stated), moon/page/color/logo (no licence stated), coins/ihc ("no known copyright
# restrictions" only), cell/text/phantom/horse/chessboard (not natural photographs).
SKIMAGE_PHOTOS = (
    Photo("skimage", "astronaut.png", "public domain", "NASA (Eileen Collins portrait)"),
    Photo("skimage", "coffee.png", "CC0", "Rachel Michetti (courtesy Pikolo Espresso Bar)"),
    Photo("skimage", "chelsea.png", "CC0", "Stefan van der Walt", val=True),
    Photo("skimage", "rocket.jpg", "public domain", "SpaceX (DSCOVR launch on Falcon 9)", val=True),
    Photo("skimage", "hubble_deep_field.jpg", "public domain", "NASA / HubbleSite (XDF 2012)"),
    Photo("skimage", "retina.jpg", "CC0", "Mikael Haggstrom (Wikimedia Commons)"),
    Photo("skimage", "camera.png", "CC0", "Lav Varshney", gray=True),
    Photo("skimage", "grass.png", "CC0", "linolafett (DeviantArt)", gray=True),
    Photo("skimage", "gravel.png", "CC0", "CC0Textures (Gravel04)", gray=True),
    Photo("skimage", "brick.png", "CC0", "CC0Textures (Bricks25)", gray=True),
    Photo("skimage", "clock_motion.png", "public domain", "Stefan van der Walt", gray=True),
)

# Debian package mate-backgrounds 1.26.0-1 (bookworm), nature/ folder: photographs, each GPL-2+
# per /usr/share/doc/mate-backgrounds/copyright. Install: apt-get install mate-backgrounds.
MATE_PHOTOS = (
    Photo("mate", "Aqua.jpg", "GPL-2+", "Charles Barbin"),
    Photo("mate", "Blinds.jpg", "GPL-2+", "Lennart Poettering, Andrea Cimitan"),
    Photo("mate", "Dune.jpg", "GPL-2+", "Marco Cogoni, Hylke Bons"),
    Photo("mate", "FreshFlower.jpg", "GPL-2+", "Jens Ansorg"),
    Photo("mate", "Garden.jpg", "GPL-2+", "Charles Barbin"),
    Photo("mate", "GreenMeadow.jpg", "GPL-2+", "Timothy Schellhase, Lapo Calamandrei"),
    Photo("mate", "LadyBird.jpg", "GPL-2+", "Charles Barbin", val=True),
    Photo("mate", "RainDrops.jpg", "GPL-2+", "blackcombwhistler07"),
    Photo("mate", "Storm.jpg", "GPL-2+", "Sergey Nazarov"),
    Photo("mate", "TwoWings.jpg", "GPL-2+", "Charles Barbin, Hylke Bons"),
    Photo("mate", "Wood.jpg", "GPL-2+", "Jean-Francois Fortin Tam"),
    Photo("mate", "YellowFlower.jpg", "GPL-2+", "Charles Barbin"),
)

DEFAULT_MATE_DIR = "/usr/share/backgrounds/mate/nature"

# Debian package lomiri-wallpapers-16.04 (bookworm): only the photographs that
# /usr/share/doc/lomiri-wallpapers-16.04/copyright puts under CC0-1.0 or CC-BY-4.0 (attribution
# kept here, in docs/data.md and in the manifest). Left out: the CC-BY-SA ones (share-alike).
# Install: apt-get install lomiri-wallpapers-16.04.
LOMIRI_PHOTOS = (
    Photo("lomiri", "aitzgorri_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi"),
    Photo("lomiri", "friends_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi"),
    Photo("lomiri", "life_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi"),
    Photo("lomiri", "picosdeeuropa_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi"),
    Photo("lomiri", "sunset_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi"),
    Photo("lomiri", "Picture_0B_by_freespace.jpg", "CC-BY-4.0", "freespace"),
    Photo("lomiri", "Picture_1A_by_freespace.jpg", "CC-BY-4.0", "freespace"),
    Photo("lomiri", "umang_by_Abhishek_Mudgal.jpg", "CC-BY-4.0", "Abhishek Mudgal"),
    Photo("lomiri", "Wine_by_Jakkub_Mede.jpg", "CC-BY-4.0", "Jakkub Mede"),
    Photo("lomiri", "seeding_by_Clements_Engelhardt.jpg", "CC0-1.0", "Clemens Engelhardt"),
)
DEFAULT_LOMIRI_DIR = "/usr/share/backgrounds"

#: Procedural "dead leaves" pictures (see ``dead_leaves``) drawn per build: count and size.
DEAD_LEAVES_IMAGES = 48
DEAD_LEAVES_SIZE = (1280, 960)


@dataclass(frozen=True)
class Source:
    """One scene source: a still image (made into video by camera motion) or a video file.

    ``key`` names it in metadata and decides nothing; ``split`` is "train" or "val".
    """

    key: str
    path: str
    kind: str  # "image" | "video"
    split: str
    licence: str = "user-supplied"
    author: str = ""
    weight: float = 1.0
    duration: float | None = None  # videos: seconds, when known
    rate: float | None = None  # videos: frames per second, when known


def skimage_data_dir() -> Path | None:
    """The folder of scikit-image's bundled images, without importing scikit-image."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data"
    return path if path.is_dir() else None


def builtin_sources(collections: tuple[str, ...] = ("skimage", "mate"),
                    mate_dir: str | os.PathLike | None = DEFAULT_MATE_DIR,
                    lomiri_dir: str | os.PathLike | None = DEFAULT_LOMIRI_DIR,
                    generated_dir: str | os.PathLike | None = None, seed: int = 0) -> tuple[
        list[Source], list[str]]:
    """The built-in photographs of the given collections that are present on this machine,
    and the names of those that are missing. The ``deadleaves`` collection is drawn (from
    ``seed``) into ``generated_dir``."""
    out: list[Source] = []
    notes: list[str] = []
    roots = {"skimage": skimage_data_dir(), "mate": Path(mate_dir) if mate_dir else None,
             "lomiri": Path(lomiri_dir) if lomiri_dir else None}
    if "deadleaves" in collections:
        if generated_dir is None:
            raise ValueError("the deadleaves collection needs a folder to draw into")
        out += dead_leaves_sources(Path(generated_dir), seed)
    for photo in SKIMAGE_PHOTOS + MATE_PHOTOS + LOMIRI_PHOTOS:
        if photo.collection not in collections:
            continue
        root = roots[photo.collection]
        path = root / photo.file if root is not None else None
        if path is None or not path.is_file():
            notes.append(f"{photo.collection}/{photo.file}")
            continue
        out.append(Source(
            key=f"{photo.collection}/{photo.file}", path=str(path), kind="image",
            split="val" if photo.val else "train", licence=photo.licence, author=photo.author,
            weight=0.5 if photo.gray else 1.0,
        ))
    return out, notes


def _probe_video(path: Path) -> tuple[float | None, float | None]:
    """(duration in seconds, frame rate) of a video, None where unknown or unreadable."""
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                return None, None
            st = c.streams.video[0]
            rate = float(st.average_rate or st.guessed_rate or 0) or None
            dur = None
            if st.duration is not None and st.time_base is not None:
                dur = float(st.duration * st.time_base)
            elif c.duration:
                dur = c.duration / av.time_base
            return dur, rate
    except (av.error.FFmpegError, OSError, ValueError):
        return None, None


def user_sources(dirs: list[str], val_fraction: float, frames: int) -> tuple[
        list[Source], list[str]]:
    """Images and videos found (recursively) under the given folders, split by file.

    The split depends only on each file's path relative to its folder (SHA-1 order), not on
    the seed, so the same folder always gives the same validation files. Files that cannot be
    used (unreadable, or videos shorter than ``frames``) are left out before the split.

    Returns:
        The sources, and one message per file left out.
    """
    found: list[tuple[str, Path, str, float | None, float | None]] = []
    skipped: list[str] = []
    for d in dirs:
        root = Path(d)
        if not root.is_dir():
            raise FileNotFoundError(f"--source {d}: no such folder")
        for path in sorted(root.rglob("*")):
            ext = path.suffix.lower()
            if not path.is_file() or ext not in IMAGE_EXTS | VIDEO_EXTS:
                continue
            key = f"{root.name}/{path.relative_to(root).as_posix()}"
            dur = rate = None
            if ext in IMAGE_EXTS:
                if not cv2.haveImageReader(str(path)):
                    skipped.append(f"{path}: not an image OpenCV can read, skipped")
                    continue
            else:
                dur, rate = _probe_video(path)
                if rate is None:
                    skipped.append(f"{path}: no readable video stream, skipped")
                    continue
                if dur is not None and dur * rate < frames + 1:
                    skipped.append(f"{path}: shorter than {frames} frames, skipped")
                    continue
            found.append((key, path, "image" if ext in IMAGE_EXTS else "video", dur, rate))
    order = sorted(found, key=lambda f: hashlib.sha1(f[0].encode()).hexdigest())
    n_val = 0 if len(order) < 2 else max(1, round(val_fraction * len(order)))
    val_keys = {f[0] for f in order[:n_val]}
    out = [Source(key=f"user:{key}", path=str(path), kind=kind,
                  split="val" if key in val_keys else "train", duration=dur, rate=rate)
           for key, path, kind, dur, rate in found]
    return out, skipped


def dead_leaves_sources(folder: Path, seed: int) -> list[Source]:
    """Draw the procedural training pictures into ``folder`` (kept if already there) as sources.

    Weighted so that all of them together count as much as four photographs: they teach edges,
    occlusions and textures at every scale, the photographs teach what scenes look like.
    """
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    count = DEAD_LEAVES_IMAGES
    for i in range(count):
        path = folder / f"deadleaves_{seed}_{i:03d}.png"
        if not path.is_file():
            img = dead_leaves(np.random.default_rng([seed, 7, i]), *DEAD_LEAVES_SIZE)
            tmp = path.with_suffix(".tmp.png")
            cv2.imwrite(str(tmp), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            os.replace(tmp, path)
        out.append(Source(key=f"deadleaves/{path.name}", path=str(path), kind="image",
                          split="train", licence="generated (CC0)", author="redecode",
                          weight=4.0 / count))
    return out


def dead_leaves(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A "dead leaves" picture: occluding shapes with power-law sizes, as RGB uint8 (H, W, 3).

    Shapes (discs, ellipses, rotated rectangles, polygons) fall one over the other with radii
    distributed as r^-3 (the scale invariance of natural images); each is filled with a colour
    gradient, and some with stripes or fine noise texture; edges are anti-aliased. Parts are
    blurred (depth of field) and light sensor noise is added.
    """
    img = np.empty((height, width, 3), np.float32)
    img[:] = _leaf_colour(rng)
    r_min, r_max = 4.0, 0.3 * min(width, height)
    n = int(rng.integers(8000, 14000))  # enough leaves to cover the picture several times over
    # inverse CDF of p(r) ~ r^-3 on [r_min, r_max]
    u = rng.random(n)
    radii = (r_min ** -2 - u * (r_min ** -2 - r_max ** -2)) ** -0.5
    for r in radii:
        cx, cy = rng.uniform(-r, width + r), rng.uniform(-r, height + r)
        x0, x1 = max(0, int(cx - r - 2)), min(width, int(cx + r + 3))
        y0, y1 = max(0, int(cy - r - 2)), min(height, int(cy + r + 3))
        if x1 <= x0 or y1 <= y0:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        lx, ly = cx - x0, cy - y0  # centre in the patch
        kind = rng.random()
        if kind < 0.4:
            axes = (max(1, int(r * 16)), max(1, int(r * 16 * rng.uniform(0.3, 1.0))))
            cv2.ellipse(mask, (int(lx * 16), int(ly * 16)), axes, float(rng.uniform(0, 180)),
                        0, 360, 255, -1, cv2.LINE_AA, 4)
        else:
            sides = 4 if kind < 0.75 else int(rng.integers(3, 8))
            if sides == 4:  # a rotated rectangle
                ang = np.array([0.25, 0.75, 1.25, 1.75]) * np.pi + rng.uniform(0, np.pi)
                rad = np.full(4, r)
                pts = np.stack([rad * np.cos(ang), rad * np.sin(ang) * rng.uniform(0.3, 1.0)], 1)
            else:
                ang = np.sort(rng.uniform(0, 2 * np.pi, sides))
                rad = r * rng.uniform(0.5, 1.0, sides)
                pts = np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1)
            pts = pts + [lx, ly]
            cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        if not mask.any():
            continue
        a = mask.astype(np.float32)[..., None] / 255.0
        sy, sx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        grad = rng.normal(0, 40, (2, 3)).astype(np.float32) / max(r, 4.0)
        fill = _leaf_colour(rng) + (sx - cx)[..., None] * grad[0] + (sy - cy)[..., None] * grad[1]
        t = rng.random()
        if t < 0.2 and r > 6:  # stripes
            period = rng.uniform(2.5, 20)
            theta = rng.uniform(0, np.pi)
            wave = np.sin((sx * np.cos(theta) + sy * np.sin(theta)) * 2 * np.pi / period)
            fill += wave[..., None] * rng.uniform(10, 50) * rng.choice([-1.0, 1.0], 3)
        elif t < 0.5 and r > 6:  # fine texture
            sigma = rng.uniform(0.5, 2.5)
            noise = cv2.GaussianBlur(rng.normal(0, 1, sx.shape).astype(np.float32), (0, 0), sigma)
            fill += (noise / (noise.std() + 1e-6))[..., None] * rng.uniform(4, 25)
        patch = img[y0:y1, x0:x1]
        patch[:] = patch * (1 - a) + fill * a
    if rng.random() < 0.6:  # depth of field: blur a soft region
        blurred = cv2.GaussianBlur(img, (0, 0), rng.uniform(1.0, 4.0))
        w = np.zeros((height, width), np.float32)
        cv2.circle(w, (int(rng.uniform(0, width)), int(rng.uniform(0, height))),
                   int(rng.uniform(0.2, 0.6) * width), 1.0, -1)
        w = cv2.GaussianBlur(w, (0, 0), 40)[..., None]
        img = img * (1 - w) + blurred * w
    img = cv2.GaussianBlur(img, (0, 0), 0.6)  # optics: no edge is sharper than a lens makes it
    img += rng.normal(0, rng.uniform(0, 2.0), img.shape).astype(np.float32)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _leaf_colour(rng: np.random.Generator) -> np.ndarray:
    """A colour with the low saturation most natural surfaces have: a grey plus a small tint."""
    return (rng.uniform(10, 245) + rng.normal(0, 30, 3)).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=24)
def load_image(path: str) -> np.ndarray:
    """An image file as RGB uint8 (H, W, 3); grey images get three equal channels."""
    data = np.fromfile(path, np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"{path}: not an image OpenCV can read")
    if img.dtype != np.uint8:
        img = (img.astype(np.float64) * (255.0 / np.iinfo(img.dtype).max) + 0.5).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    else:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    img.setflags(write=False)
    return img


def read_video_clip(path: str, start: float, count: int) -> list[np.ndarray]:
    """``count`` consecutive RGB frames from ``start`` seconds on (seeking to the key frame
    before it, then decoding forward); fewer when the video ends first."""
    frames: list[np.ndarray] = []
    with av.open(path) as c:
        st = c.streams.video[0]
        st.thread_type = "SLICE"
        tb = float(st.time_base) if st.time_base else 1 / 90000
        if start > 0:
            c.seek(int(start / tb), stream=st, backward=True, any_frame=False)
        for f in c.decode(st):
            if f.pts is not None and f.pts * tb < start - 1e-6:
                continue
            frames.append(f.to_ndarray(format="rgb24"))
            if len(frames) == count:
                break
    return frames


# ----------------------------------------------------------------------------------------------
# Camera motion over a still image
# ----------------------------------------------------------------------------------------------
def _smooth_noise(rng: np.random.Generator, t: np.ndarray, amp: float) -> np.ndarray:
    """A smooth random wobble (sum of three sines), amplitude about ``amp``."""
    out = np.zeros_like(t)
    for _ in range(3):
        out += rng.uniform(0.3, 1.0) * np.sin(rng.uniform(0.1, 0.6) * t + rng.uniform(0, 6.3))
    return out * (amp / 1.8)


def _view_corners(cx, cy, zoom, angle, w, h):
    """Corners of the frame in working-image coordinates, (T, 4, 2)."""
    fc = np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float64) - (w / 2, h / 2)
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x = (c * fc[None, :, 0] - s * fc[None, :, 1]) / zoom[:, None] + cx[:, None]
    y = (s * fc[None, :, 0] + c * fc[None, :, 1]) / zoom[:, None] + cy[:, None]
    return np.stack([x, y], -1)


def _blob_alpha(rng: np.random.Generator, size: int) -> np.ndarray:
    """A soft-edged shape (ellipse, rounded box or smooth blob) filling a size x size square."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32) + 0.5
    c = size / 2
    dx, dy = (xx - c) / c, (yy - c) / c
    kind = rng.choice(["ellipse", "box", "blob"], p=[0.35, 0.25, 0.4])
    # sd: signed distance to the outline in units of the half size, negative inside.
    if kind == "ellipse":
        ax, ay = rng.uniform(0.5, 0.95), rng.uniform(0.5, 0.95)
        sd = (np.hypot(dx / ax, dy / ay) - 1) * min(ax, ay)
    elif kind == "box":
        ax, ay = rng.uniform(0.45, 0.9), rng.uniform(0.45, 0.9)
        r = rng.uniform(0.0, 0.4) * min(ax, ay)
        qx, qy = np.abs(dx) - ax + r, np.abs(dy) - ay + r
        sd = (np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
              + np.minimum(np.maximum(qx, qy), 0) - r)
    else:
        theta = np.arctan2(dy, dx)
        rad = np.full_like(theta, rng.uniform(0.55, 0.7))
        for k in range(2, 6):
            rad += rng.uniform(0, 0.12) * np.sin(k * theta + rng.uniform(0, 6.3))
        rad = np.clip(rad, 0.3, 0.95)
        sd = (np.hypot(dx, dy) / rad - 1) * rad
    return np.clip(-sd * c / 1.5 + 0.5, 0, 1).astype(np.float32)


def _detail_map(img: np.ndarray) -> np.ndarray:
    """Integral image of the absolute Laplacian of the luma (for :func:`_box_mean`)."""
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    lap = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
    return cv2.integral(lap, sdepth=cv2.CV_64F)


def _box_mean(integral: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> float:
    """Mean detail over the bounding box of the points (xs, ys)."""
    h, w = integral.shape[0] - 1, integral.shape[1] - 1
    x0, x1 = int(np.clip(np.min(xs), 0, w - 1)), int(np.clip(np.max(xs), 1, w))
    y0, y1 = int(np.clip(np.min(ys), 0, h - 1)), int(np.clip(np.max(ys), 1, h))
    if x1 <= x0 or y1 <= y0:
        return 0.0
    total = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    return float(total) / ((x1 - x0) * (y1 - y0))


def camera_clip(image: np.ndarray, width: int, height: int, count: int,
                seed: int) -> tuple[list[np.ndarray], dict]:
    """Frames of a camera moving over a still photograph, with independently moving regions.

    The photograph is first scaled (area filter) so that one frame pixel covers ``scale``
    source pixels (a random crop scale), then a smooth camera path samples it: a pan of a
    random speed class (still, slow, medium, fast: up to about 14 px/frame) with some
    acceleration, often a zoom and a small rotation, sometimes handheld shake. Zero to three
    sprites cut from elsewhere in the picture (soft-edged ellipses, boxes, blobs) move, turn and
    scale on their own. Sometimes a slow fade or light sensor noise is added.

    Args:
        image: RGB uint8 (H, W, 3).
        width, height: frame size.
        count: number of frames.
        seed: the trajectory; same seed, same frames.

    Returns:
        RGB uint8 (height, width, 3) frames, and a dict describing the motion (for metadata).
    """
    rng = np.random.default_rng(seed)
    ih, iw = image.shape[:2]
    margin = 1.3
    kmax = min(iw / (width * margin), ih / (height * margin))
    kmin = min(0.8, kmax)
    scale = float(math.exp(rng.uniform(math.log(kmin), math.log(kmax)))) if kmax > kmin else kmax
    ww, wh = max(width + 2, round(iw / scale)), max(height + 2, round(ih / scale))
    interp = cv2.INTER_AREA if scale > 1 else cv2.INTER_CUBIC
    work = cv2.resize(image, (ww, wh), interpolation=interp)

    t = np.arange(count, dtype=np.float64)
    speed = float(rng.choice([rng.uniform(0, 0.3), rng.uniform(0.3, 2), rng.uniform(2, 6),
                              rng.uniform(6, 14)], p=[0.1, 0.35, 0.35, 0.2]))
    heading = rng.uniform(0, 2 * math.pi)
    accel = rng.normal(0, 0.03, 2) * (speed + 0.5)
    zoom_rate = rng.choice([0.0, 1.0], p=[0.6, 0.4]) * rng.choice([-1, 1]) * rng.uniform(0.002, 0.015)
    rot_rate = rng.choice([0.0, 1.0], p=[0.65, 0.35]) * rng.normal(0, 0.25)  # degrees per frame
    shake = float(rng.choice([0.0, 1.0], p=[0.6, 0.4]) * rng.uniform(0.3, 2.0))
    zoom0 = rng.uniform(1.0, 1.1)
    angle0 = rng.normal(0, 2.0)
    noise_x, noise_y = _smooth_noise(rng, t, shake), _smooth_noise(rng, t, shake)
    noise_a = _smooth_noise(rng, t, 0.2 * shake)

    fit = 1.0
    for _ in range(30):  # shrink the motion until the whole path stays inside the picture
        zoom = zoom0 * np.exp(fit * zoom_rate * t)
        angle = np.radians(angle0 + fit * (rot_rate * t + noise_a))
        # The camera moves ``speed`` frame pixels per frame: divide by zoom for working pixels.
        dx = fit * (speed * math.cos(heading) * t + 0.5 * accel[0] * t * t) / zoom + noise_x * fit
        dy = fit * (speed * math.sin(heading) * t + 0.5 * accel[1] * t * t) / zoom + noise_y * fit
        corners = _view_corners(dx, dy, zoom, angle, width, height)
        lo, hi = corners.reshape(-1, 2).min(0), corners.reshape(-1, 2).max(0)
        if hi[0] - lo[0] <= ww - 2 and hi[1] - lo[1] <= wh - 2:
            break
        fit *= 0.8
    # Where the path starts: the most detailed of three random places, 70% of the time
    # (photographs with shallow depth of field are otherwise often a blurred wall).
    detail = _detail_map(work)
    f0 = corners[0]
    cands = []
    for _ in range(3):
        ox = rng.uniform(-lo[0] + 1, ww - 1 - hi[0]) if ww - 1 - hi[0] > -lo[0] + 1 else ww / 2
        oy = rng.uniform(-lo[1] + 1, wh - 1 - hi[1]) if wh - 1 - hi[1] > -lo[1] + 1 else wh / 2
        cands.append((ox, oy))
    if rng.random() < 0.7:
        ox, oy = max(cands, key=lambda o: _box_mean(detail, f0[:, 0] + o[0], f0[:, 1] + o[1]))
    else:
        ox, oy = cands[0]
    cx, cy = dx + ox, dy + oy

    # Independently moving regions.
    sprites = []
    n_obj = int(rng.choice([0, 1, 2, 3], p=[0.25, 0.35, 0.25, 0.15]))
    for _ in range(n_obj):
        size = int(rng.uniform(0.15, 0.5) * min(width, height)) | 1
        size = max(size, 9)
        alpha = _blob_alpha(rng, size)
        places = [(int(rng.integers(0, max(1, ww - size))), int(rng.integers(0, max(1, wh - size))))
                  for _ in range(3)]
        sx, sy = max(places, key=lambda q: _box_mean(detail, np.array([q[0], q[0] + size]),
                                                     np.array([q[1], q[1] + size])))
        patch = work[sy:sy + size, sx:sx + size]
        if patch.shape[:2] != (size, size):
            patch = cv2.resize(patch, (size, size))
        sprite = np.dstack([patch.astype(np.float32), alpha * 255.0])
        direction = rng.uniform(0, 2 * math.pi)
        v = rng.uniform(0.3, 8.0) * np.array([math.cos(direction), math.sin(direction)])
        p0 = np.array([rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height])
        p0 -= v * count * rng.uniform(0.0, 0.5)  # some enter from outside
        sprites.append({
            "sprite": sprite, "p0": p0, "v": v, "a": rng.normal(0, 0.04, 2),
            "rot": rng.normal(0, 1.0), "phi0": rng.uniform(0, 360),
            "grow": rng.normal(0, 0.006), "s0": rng.uniform(0.8, 1.25),
        })

    fade = float(rng.choice([0.0, 1.0], p=[0.9, 0.1]) * rng.choice([-1, 1]) * rng.uniform(0.002, 0.01))
    sigma = float(rng.choice([0.0, 1.0], p=[0.85, 0.15]) * rng.uniform(0.5, 1.5))
    noise_rng = np.random.default_rng(rng.integers(1 << 62))

    frames = []
    fc = np.array([width / 2, height / 2])
    for i in range(count):
        # Inverse map: frame pixel p -> working pixel c + R(angle) (p - fc) / zoom.
        ca, sa = math.cos(angle[i]) / zoom[i], math.sin(angle[i]) / zoom[i]
        a = np.array([[ca, -sa], [sa, ca]])
        m = np.hstack([a, (np.array([cx[i], cy[i]]) - a @ fc)[:, None]])
        frame = cv2.warpAffine(work, m, (width, height), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT101).astype(np.float32)
        for sp in sprites:
            pos = sp["p0"] + sp["v"] * i + 0.5 * sp["a"] * i * i
            phi = math.radians(sp["phi0"] + sp["rot"] * i)
            s = sp["s0"] * math.exp(sp["grow"] * i)
            size = sp["sprite"].shape[0]
            c2, s2 = math.cos(phi) / s, math.sin(phi) / s
            a2 = np.array([[c2, s2], [-s2, c2]])  # frame offset -> sprite offset
            m2 = np.hstack([a2, (np.array([size / 2, size / 2]) - a2 @ pos)[:, None]])
            layer = cv2.warpAffine(sp["sprite"], m2, (width, height),
                                   flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
            al = layer[..., 3:4] / 255.0
            frame = frame * (1 - al) + layer[..., :3] * al
        if fade:
            frame *= 1 + fade * i
        if sigma:
            frame += noise_rng.normal(0, sigma, frame.shape).astype(np.float32)
        frames.append(np.clip(frame + 0.5, 0, 255).astype(np.uint8))
    info = {
        "scale": round(scale, 4), "speed": round(speed * fit, 3),
        "zoom_rate": round(float(zoom_rate) * fit, 5) + 0.0,
        "rot_rate": round(float(rot_rate) * fit, 4) + 0.0,
        "shake": round(shake * fit, 3), "objects": n_obj, "fade": round(fade, 5) + 0.0, "noise": round(sigma, 3),
        # First frame's centre and zoom in the original picture's pixels (the "crop").
        "centre": [round(float(cx[0]) * scale, 1), round(float(cy[0]) * scale, 1)],
        "view": [round(width * scale / float(zoom[0]), 1), round(height * scale / float(zoom[0]), 1)],
    }
    return frames, info


def video_clip(path: str, width: int, height: int, count: int, start: float,
               seed: int) -> tuple[list[np.ndarray], dict]:
    """``count`` frames of a video from ``start`` seconds, scaled down by a random factor
    (area filter; from 1.5x where possible, up only when the video is smaller than the frame)
    and cropped at a random place."""
    rng = np.random.default_rng(seed)
    raw = read_video_clip(path, start, count)
    if len(raw) < count:
        raise ValueError(f"{path}: only {len(raw)} frames from {start:.2f} s, need {count}")
    vh, vw = raw[0].shape[:2]
    # Downscale by 1.5x or more where the video is big enough: that hides most of the
    # source's own compression artifacts.
    kmax = min(vw / width, vh / height)
    kmin = min(1.5, kmax)
    scale = float(math.exp(rng.uniform(math.log(kmin), math.log(kmax)))) if kmax > kmin else kmax
    sw, sh = max(width, round(vw / scale)), max(height, round(vh / scale))
    x0 = int(rng.integers(0, sw - width + 1))
    y0 = int(rng.integers(0, sh - height + 1))
    interp = cv2.INTER_AREA if scale > 1 else cv2.INTER_CUBIC
    frames = [np.ascontiguousarray(
        cv2.resize(f, (sw, sh), interpolation=interp)[y0:y0 + height, x0:x0 + width])
        for f in raw]
    return frames, {"scale": round(scale, 4), "start_s": round(start, 3), "crop": [x0, y0]}


# ----------------------------------------------------------------------------------------------
# Encode + decode
# ----------------------------------------------------------------------------------------------
def pin_malloc(on: bool = True) -> bool:
    """Make freshly allocated heap memory hold fixed bytes (glibc only). Returns success.

    libx264 in CRF mode with mb-tree reads some memory it never wrote (seen with PyAV 18 /
    FFmpeg 8.1 wheels, threads=1): the same clip encodes differently depending on what the
    process allocated and freed before (about 1-2% of the bits). glibc's M_PERTURB fills every
    malloc'd block with a fixed byte, and a fixed M_MMAP_THRESHOLD (32 MiB, instead of glibc's
    sliding one) decides alone which blocks come from fresh zeroed pages, so the encode depends
    on its input alone. Forked workers inherit the setting. ``on=False`` stops the filling.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_mmap_threshold, m_perturb = -3, -6
    if not on:
        return bool(mallopt(m_perturb, 0))
    return bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_perturb, 0xA5))


def _plane(p: av.video.plane.VideoPlane) -> np.ndarray:
    rows = np.frombuffer(p, np.uint8, count=p.line_size * p.height).reshape(p.height, p.line_size)
    return np.ascontiguousarray(rows[:, : p.width])


def to_yuv420(frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB frames -> (Y (T,H,W), U, V (T,H/2,W/2)) uint8 as PyAV's swscale converts them
    (the same conversion the encoder input goes through)."""
    ys, us, vs = [], [], []
    for rgb in frames:
        f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        ys.append(_plane(f.planes[0]))
        us.append(_plane(f.planes[1]))
        vs.append(_plane(f.planes[2]))
    return np.stack(ys), np.stack(us), np.stack(vs)


def encode_yuv420(path: str, packed: list[np.ndarray], width: int, height: int,
                  options: dict[str, str], rate: int = 25) -> None:
    """Encode packed yuv420p frames ((H*3/2, W) arrays) with libx264 into an MP4 file, with
    one encoder thread (``samples.encode_frames`` leaves PyAV's thread count alone)."""
    with av.open(path, "w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = dict(options)
        # PyAV passes its own thread count (0 = auto) over the "threads" option; x264 output
        # then depends on timing. One thread keeps every clip reproducible.
        stream.codec_context.thread_count = 1
        stream.codec_context.thread_type = "SLICE"
        for i, arr in enumerate(packed):
            frame = av.VideoFrame.from_ndarray(arr, format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, rate)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 arrays (capped at 100 for identical ones)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 100.0 if mse == 0 else min(100.0, 10 * math.log10(255.0 ** 2 / mse))


def encode_decode(src: tuple[np.ndarray, np.ndarray, np.ndarray], options: dict[str, str],
                  tmpdir: str | None = None) -> dict[str, np.ndarray | list | float]:
    """Encode yuv420p planes with libx264, decode with bitstream metadata.

    Args:
        src: Y (T,H,W), U, V (T,H/2,W/2) uint8; H and W multiples of 16.
        options: libx264 options (PyAV names), e.g. ``{"qp": "37", "bf": "3"}``.

    Returns:
        The dataset arrays ``dec_y/u/v, qp, types, decode_order, l0, l1, l0_mask, l1_mask``
        plus ``size_bits`` (list per frame) and ``psnr_y`` (mean of per-frame PSNR-Y).
    """
    y, u, v = src
    t, h, w = y.shape
    packed = [np.concatenate([y[i].ravel(), u[i].ravel(), v[i].ravel()]).reshape(h * 3 // 2, w)
              for i in range(t)]
    with tempfile.TemporaryDirectory(dir=tmpdir, prefix="redecode-ds-") as d:
        path = os.path.join(d, "clip.mp4")
        encode_yuv420(path, packed, w, h, options)
        dec = {k: [] for k in ("y", "u", "v", "qp", "types", "order", "l0", "l1", "m0", "m1",
                               "bits")}
        with open_video(path, metadata=True, prefetch=False) as video:
            for f in video:
                dy, du, dv = f.planes
                dec["y"].append(dy)
                dec["u"].append(du)
                dec["v"].append(dv)
                qp = f.qp if f.qp is not None else np.zeros((h // 16, w // 16), np.int16)
                dec["qp"].append(qp.astype(np.int16))
                dec["types"].append(TYPE_CODES[f.pict_type])
                dec["order"].append(-1 if f.decode_index is None else f.decode_index)
                dec["bits"].append(int(f.size_bits or 0))
                if f.motion is not None:
                    m = f.motion
                    dec["l0"].append(np.where(m.l0_mask, m.l0, 0).astype(np.float32))
                    dec["l1"].append(np.where(m.l1_mask, m.l1, 0).astype(np.float32))
                    dec["m0"].append(m.l0_mask.astype(bool))
                    dec["m1"].append(m.l1_mask.astype(bool))
                else:
                    dec["l0"].append(np.zeros((2, h // 8, w // 8), np.float32))
                    dec["l1"].append(np.zeros((2, h // 8, w // 8), np.float32))
                    dec["m0"].append(np.zeros((h // 8, w // 8), bool))
                    dec["m1"].append(np.zeros((h // 8, w // 8), bool))
    if len(dec["y"]) != t:
        raise RuntimeError(f"decoded {len(dec['y'])} frames of {t}")
    out = {
        "dec_y": np.stack(dec["y"]), "dec_u": np.stack(dec["u"]), "dec_v": np.stack(dec["v"]),
        "qp": np.stack(dec["qp"]), "types": np.array(dec["types"], np.uint8),
        "decode_order": np.array(dec["order"], np.int32),
        "l0": np.stack(dec["l0"]), "l1": np.stack(dec["l1"]),
        "l0_mask": np.stack(dec["m0"]), "l1_mask": np.stack(dec["m1"]),
    }
    out["size_bits"] = dec["bits"]
    out["psnr_y"] = float(np.mean([psnr(y[i], out["dec_y"][i]) for i in range(t)]))
    return out


def spec_hash(spec: dict) -> str:
    """A short hash of a clip's full recipe (for --resume)."""
    return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def source_record(src: Source) -> dict:
    d = asdict(src)
    d.pop("path")
    return d
