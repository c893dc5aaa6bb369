"""PyAV in, frames with bitstream metadata out (numpy). Knows nothing of torch models."""

from .frames import ColorTags, Frame, Motion, VideoInfo
from .metadata import mpeg_step_to_qp, qstep
from .motion import predict_from_reference
from .planes import (PLANAR_YUV_FORMATS, Planes, convert_planes, frame_planes, planes_to_frame,
                     raw_frames, rgb_to_planes)
from .reader import DecodeError, DecodeStats, VideoReader, open_video

__all__ = [
    "ColorTags", "DecodeError", "DecodeStats", "Frame", "Motion", "PLANAR_YUV_FORMATS", "Planes",
    "VideoInfo", "VideoReader", "convert_planes", "frame_planes", "mpeg_step_to_qp", "open_video",
    "planes_to_frame", "predict_from_reference", "qstep", "raw_frames", "rgb_to_planes",
]
