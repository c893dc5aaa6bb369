"""PyAV in, frames with bitstream metadata out (numpy). Knows nothing of torch models."""

from .frames import ColorTags, Frame, Motion, VideoInfo
from .metadata import mpeg_step_to_qp, qstep
from .motion import predict_from_reference
from .reader import DecodeError, DecodeStats, VideoReader, frame_planes, open_video

__all__ = [
    "ColorTags", "DecodeError", "DecodeStats", "Frame", "Motion", "VideoInfo", "VideoReader",
    "frame_planes", "mpeg_step_to_qp", "open_video", "predict_from_reference", "qstep",
]
