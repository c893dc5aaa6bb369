"""Built-in sample clips: a camera moving over a photograph, encoded in-process with PyAV.

Used by ``redecode demo``, the benchmarks and the tests, so that every run makes its own media
and nothing is downloaded. The photographs: ``assets/coffee.jpg``, scikit-image's "coffee" (CC0,
Rachel Michetti; a training source of the shipped weights), used by the tests and benchmarks;
``assets/red_panda.jpg``, GCompris' red panda (CC0, Mathias Appel, scaled to 900x506; a
validation source the shipped weights never trained on), used by ``redecode demo``
(docs/data_sources.md).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from importlib import resources

import av
import cv2
import numpy as np


def sample_photo(name: str = "coffee") -> np.ndarray:
    """A shipped photograph as RGB uint8: "coffee" (400, 600, 3) or "red_panda" (506, 900, 3)."""
    data = resources.files("redecode.pipeline").joinpath(f"assets/{name}.jpg").read_bytes()
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def camera_frames(
    width: int,
    height: int,
    count: int,
    *,
    image: np.ndarray | None = None,
    seed: int = 0,
    speed: float = 1.0,
    moving_object: bool = True,
) -> Iterator[np.ndarray]:
    """Frames of a camera panning, zooming and turning slowly over an image.

    A disc cut from elsewhere in the image moves across independently, so the encoder sees
    both global and local motion. Motion is sub-pixel and smooth, like handheld footage.

    Args:
        width, height: frame size.
        count: number of frames.
        image: RGB uint8 source picture (default: the shipped photograph).
        seed: picks the trajectory.
        speed: scales the motion (pixels per frame at 1.0: about 1-2).

    Yields:
        RGB uint8 (height, width, 3) frames.
    """
    img = sample_photo() if image is None else image
    rng = np.random.default_rng(seed)
    ih, iw = img.shape[:2]
    # Scale the image so the frame, zoomed in by up to 15% and turned, stays inside it.
    base = 1.25 * max(width / iw, height / ih)
    phase = rng.uniform(0, 2 * math.pi, 4)
    vx, vy = rng.uniform(-1.5, 1.5, 2) * speed
    radius = max(4, min(width, height) // 6)
    ox, oy = rng.uniform(0.2, 0.8) * iw, rng.uniform(0.2, 0.8) * ih
    obj_v = rng.uniform(1.0, 2.5, 2) * speed * rng.choice([-1, 1], 2)
    for t in range(count):
        zoom = base * (1.08 + 0.07 * math.sin(0.05 * t * speed + phase[0]))
        angle = 2.0 * math.sin(0.03 * t * speed + phase[1])
        cx = iw / 2 + vx * t / zoom + 6 * math.sin(0.07 * t + phase[2])
        cy = ih / 2 + vy * t / zoom + 4 * math.sin(0.09 * t + phase[3])
        m = cv2.getRotationMatrix2D((cx, cy), angle, zoom)
        m[:, 2] += (width / 2 - cx, height / 2 - cy)
        frame = cv2.warpAffine(img, m, (width, height), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REFLECT)
        if moving_object:
            px = (width * 0.3 + obj_v[0] * t) % width
            py = (height * 0.4 + obj_v[1] * t) % height
            shift = np.float32([[1, 0, ox - px], [0, 1, oy - py]])
            patch = cv2.warpAffine(img, shift, (width, height), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT)
            yy, xx = np.ogrid[:height, :width]
            alpha = np.clip(radius - np.hypot(xx - px, yy - py), 0, 1)[..., None]
            frame = (frame * (1 - alpha) + patch * alpha).astype(np.uint8)
        yield frame


def encode_frames(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    *,
    codec: str = "libx264",
    rate: Fraction | int = 25,
    pix_fmt: str = "yuv420p",
    options: dict[str, str] | None = None,
    container_format: str | None = None,
    input_format: str = "rgb24",
    threads: int | None = None,
) -> str:
    """Encode frames (RGB uint8, or planar arrays with ``input_format``) into a video file.

    Args:
        path: output file; its extension picks the container unless ``container_format``.
        frames: (H, W, 3) RGB arrays, or arrays in ``input_format``'s layout (a packed
            ``yuv420p`` frame is (H * 3 / 2, W)).
        codec: PyAV encoder name ("libx264", "libx265", "mpeg2video", "mpeg4", ...).
        options: encoder options, e.g. ``{"qp": "37", "bf": "3", "preset": "medium"}``.
        threads: encoder threads (None: PyAV's choice); 1 makes x264's output reproducible
            (PyAV's own thread count overrides the ``threads`` option).

    Returns:
        The path, as a string.
    """
    path = os.fspath(path)
    with av.open(path, "w", format=container_format) as out:
        stream = None
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format=input_format).reformat(format=pix_fmt)
            if stream is None:
                stream = out.add_stream(codec, rate=rate)
                # the frame's size, not the array's: a packed yuv420p array is 1.5x as tall
                stream.width, stream.height = frame.width, frame.height
                stream.pix_fmt = pix_fmt
                stream.options = dict(options or {})
                if threads is not None:
                    stream.codec_context.thread_count = threads
                    stream.codec_context.thread_type = "SLICE"
            frame.pts = i
            frame.time_base = Fraction(1, 1) / Fraction(rate)
            out.mux(stream.encode(frame))
        if stream is not None:
            out.mux(stream.encode(None))
    return path


def make_clip(
    path: str | os.PathLike,
    *,
    width: int = 320,
    height: int = 180,
    frames: int = 24,
    codec: str = "libx264",
    qp: int | None = 32,
    bframes: int = 2,
    gop: int = 12,
    pix_fmt: str = "yuv420p",
    seed: int = 0,
    options: dict[str, str] | None = None,
    container_format: str | None = None,
) -> str:
    """Encode a sample clip (camera motion over the shipped photograph).

    ``qp`` is the H.264/HEVC QP, or for MPEG-1/2/4 the quantiser scale code (1-31).
    """
    opts = {"g": str(gop), "bf": str(bframes)}
    if qp is not None:
        if codec in ("libx264", "libx265"):
            opts["qp"] = str(qp)
        else:
            opts.update({"qmin": str(qp), "qmax": str(qp)})
    if codec == "libx265":
        opts = {"x265-params": f"qp={qp}:bframes={bframes}:keyint={gop}:log-level=error"}
    opts.update(options or {})
    return encode_frames(path, camera_frames(width, height, frames, seed=seed), codec=codec,
                         pix_fmt=pix_fmt, options=opts, container_format=container_format)
