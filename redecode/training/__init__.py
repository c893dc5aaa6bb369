"""Training inside the package: clips, dataset building, sampling, the unroll, validation, the loop.

Public API (imported on first use, so ``redecode.training.catalog`` loads without torch)::

    Clip, load_clip, save_clip, clip_from_frames     # the clip format (one reader, one writer)
    TrainConfig, load_config, TrainError             # recipes (flat TOML -> dataclass)
    train(cfg, resume=False) -> Path                 # the loop; returns the final checkpoint
    validate(model, clips, device) -> float          # ΔPSNR-Y through the pipeline's restore
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Clip": "clips", "ClipError": "clips", "clip_from_frames": "clips", "clip_shape": "clips",
    "load_clip": "clips", "save_clip": "clips", "TrainConfig": "config", "TrainError": "config",
    "load_config": "config", "parse_config": "config", "train": "loop", "validate": "validate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
