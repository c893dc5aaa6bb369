"""Shared fixtures: every test makes its own media in-process (PyAV encoders, no network)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from redecode.pipeline.samples import camera_frames, encode_frames, make_clip


@pytest.fixture(autouse=True)
def _redecode_logs_propagate():
    logging.getLogger("redecode").propagate = True
    yield


class Clips:
    """Builds each named clip once per test session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: dict[str, Path] = {}

    def get(self, name: str, **kwargs) -> Path:
        if name not in self._made:
            path = self.root / name
            make_clip(path, **kwargs)
            self._made[name] = path
        return self._made[name]

    # The clips the tests share ---------------------------------------------------------
    def h264(self) -> Path:
        """x264 with I, P and B frames (2 B-frames, GOP 12), 160x96, 24 frames, QP 30."""
        return self.get("h264.mp4", width=160, height=96, frames=24, qp=30, bframes=2)

    def odd(self) -> Path:
        """x264 4:4:4 at an odd size (65x37; 4:2:0 needs even sizes)."""
        return self.get("odd.mp4", width=65, height=37, frames=8, qp=30, bframes=2,
                        pix_fmt="yuv444p")

    def unaligned(self) -> Path:
        """x264 4:2:0 at a size that is no multiple of 16 or 4 (66x38)."""
        return self.get("unaligned.mp4", width=66, height=38, frames=8, qp=30, bframes=2)

    def tenbit(self) -> Path:
        return self.get("tenbit.mkv", width=64, height=48, frames=6, pix_fmt="yuv420p10le")

    def mpeg2(self) -> Path:
        """MPEG-2 program stream at a fixed quantiser scale code 5 (step 10)."""
        return self.get("mpeg2.mpg", width=96, height=64, frames=10, codec="mpeg2video", qp=5,
                        container_format="mpeg")

    def mpeg4(self) -> Path:
        return self.get("mpeg4.avi", width=96, height=64, frames=10, codec="mpeg4", qp=5)

    def hevc(self) -> Path:
        return self.get("hevc.mkv", width=64, height=48, frames=6, codec="libx265")

    def pan(self) -> Path:
        """x264, one reference, no B-frames: every P-frame predicts from the frame before."""
        if "pan" not in self._made:
            path = self.root / "pan.mp4"
            encode_frames(path, camera_frames(192, 112, 12, seed=3, speed=1.5,
                                              moving_object=False),
                          options={"qp": "24", "bf": "0", "refs": "1", "g": "50"})
            self._made["pan"] = path
        return self._made["pan"]


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> Clips:
    return Clips(tmp_path_factory.mktemp("clips"))


def encoded_training_clip(path: Path, width: int, height: int, frames: int, *, seed: int, speed: float = 1.0,
                          options: dict[str, str]):
    """A training clip (pristine planes + decode + metadata) of a camera moving over the
    sample photo, encoded with x264 ``options`` into ``path``."""
    import av

    from redecode.decoders import open_video
    from redecode.training.clips import clip_from_frames

    rgb = list(camera_frames(width, height, frames, seed=seed, speed=speed))
    ch, cw = height // 2, width // 2
    pristine = []
    for f in rgb:
        p = av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p").to_ndarray()
        pristine.append((p[:height].copy(), p[height:height + ch // 2].reshape(ch, cw).copy(),
                         p[height + ch // 2:].reshape(ch, cw).copy()))
    encode_frames(path, rgb, options=options)
    with open_video(path, metadata=True) as video:
        return clip_from_frames(pristine, video)


@pytest.fixture(scope="session")
def training_clip(tmp_path_factory):
    """``training_clip(name, width, height, frames, seed=, speed=, options=)``: made once per session."""
    root = tmp_path_factory.mktemp("training_clips")
    made: dict[str, object] = {}

    def make(name: str, width: int, height: int, frames: int, **kwargs):
        if name not in made:
            made[name] = encoded_training_clip(root / name, width, height, frames, **kwargs)
        return made[name]

    return make
