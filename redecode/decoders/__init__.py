"""PyAV in, frames with bitstream metadata out (numpy). Knows nothing of torch models.

The records (:class:`Frame`, :class:`Motion`, :class:`VideoInfo`) import without PyAV; the
reader and the plane conversions load it on first use, so code that only handles decoded
frames (the training loop on a machine without PyAV) needs none.
"""

from __future__ import annotations

import importlib
from typing import Any

from .frames import ColorTags, Frame, Motion, VideoInfo
from .metadata import mpeg_step_to_qp, qstep
from .motion import predict_from_reference

_LAZY = {
    "PLANAR_YUV_FORMATS": "planes", "Planes": "planes", "convert_planes": "planes", "frame_planes": "planes",
    "planes_to_frame": "planes", "raw_frames": "planes", "rgb_to_planes": "planes",
    "DecodeError": "reader", "DecodeStats": "reader", "VideoReader": "reader", "open_video": "reader",
}

__all__ = ["ColorTags", "Frame", "Motion", "VideoInfo", "mpeg_step_to_qp", "predict_from_reference", "qstep",
           *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
