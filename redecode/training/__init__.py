"""Training inside the package: clips, dataset building, sampling, the unroll, validation, the loop.

Public API::

    Clip, load_clip, save_clip, clip_from_frames     # the clip format (one reader, one writer)
    TrainConfig, load_config, TrainError             # recipes (flat TOML -> dataclass)
    train(cfg, resume=False) -> Path                 # the loop; returns the final checkpoint
    validate(model, clips, device) -> float          # ΔPSNR-Y through the pipeline's restore
"""

from .clips import Clip, ClipError, clip_from_frames, clip_shape, load_clip, save_clip
from .config import TrainConfig, TrainError, load_config, parse_config
from .loop import train
from .validate import validate

__all__ = [
    "Clip", "ClipError", "TrainConfig", "TrainError", "clip_from_frames", "clip_shape", "load_clip",
    "load_config", "parse_config", "save_clip", "train", "validate",
]
