"""Validation through the pipeline's own restore: what a user's ``redecode restore`` would do.

A validation clip is handed to :func:`redecode.pipeline.scheduler.restore_frames` as the
decoder's frames (same planes and metadata), so the score comes from the very scheduler,
engine and step that inference runs, and is measured with the evaluation's PSNR.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch
from torch import nn

from ..decoders import Frame, Motion
from ..pipeline.engine import Engine
from ..pipeline.metrics import psnr, ssim
from ..pipeline.scheduler import restore_frames
from .clips import Clip

__all__ = ["ClipScore", "clip_frames", "mean_by_type", "score_clip", "validate"]


def clip_frames(clip: Clip) -> list[Frame]:
    """The decoder's frames of a clip, rebuilt from its arrays (display order)."""
    frames = []
    for t, kind in enumerate(clip.type_letters):
        motion = None
        if kind != "I":
            motion = Motion(8, clip.l0[t], clip.l1[t], clip.l0_mask[t], clip.l1_mask[t])
        frames.append(Frame(index=t, pts=t, time_base=Fraction(1, 25), pict_type=kind,
                            planes=(clip.dec_y[t], clip.dec_u[t], clip.dec_v[t]), qp=clip.qp[t],
                            motion=motion, bit_depth=clip.bit_depth, codec=clip.codec))
    return frames


@dataclass
class ClipScore:
    """ΔPSNR-Y (and, when asked for, ΔSSIM-Y) of each restored frame over its decode, by frame
    type ("I", "P", "B")."""

    by_type: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    ssim_by_type: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    @property
    def mean(self) -> float:
        """Mean over all frames."""
        every = [d for v in self.by_type.values() for d in v]
        return float(np.mean(every)) if every else 0.0


def score_clip(clip: Clip, engine: Engine, max_frames: int = 0, with_ssim: bool = False) -> ClipScore:
    """Restore a clip through the pipeline and score every frame against the pristine one."""
    if max_frames:
        clip = clip.frames(0, min(max_frames, clip.length))
    score = ClipScore()
    for r in restore_frames(clip_frames(clip), engine):
        t = r.frame.index
        src, bd = clip.src_y[t], clip.bit_depth
        kind = r.frame.pict_type
        score.by_type[kind].append(psnr(r.planes[0], src, bd) - psnr(clip.dec_y[t], src, bd))
        if with_ssim:
            score.ssim_by_type[kind].append(ssim(r.planes[0], src, bd) - ssim(clip.dec_y[t], src, bd))
    return score


@torch.no_grad()
def validate(model: nn.Module, clips: Iterable[Clip], device: torch.device, max_frames: int = 0) -> float:
    """Mean ΔPSNR-Y (per frame, then per clip, then over clips) of ``model`` on ``clips``."""
    was_training = model.training
    engine = Engine(model, device, tile=0)
    try:
        per_clip = [score_clip(c, engine, max_frames).mean for c in clips]
    finally:
        model.train(was_training)
    return float(np.mean(per_clip)) if per_clip else 0.0


def mean_by_type(scores: Sequence[ClipScore], metric: str = "psnr") -> dict[str, float]:
    """Per frame type, "PB" and "all": mean over clips of each clip's mean (ΔPSNR-Y, or
    ΔSSIM-Y with ``metric="ssim"``)."""
    out: dict[str, float] = {}
    tables = [s.by_type if metric == "psnr" else s.ssim_by_type for s in scores]
    for kind in ("I", "P", "B", "PB", "all"):
        letters = "IPB" if kind == "all" else kind
        vals = [float(np.mean([d for k in letters for d in t.get(k, [])])) for t in tables
                if any(t.get(k) for k in letters)]
        if vals:
            out[kind] = float(np.mean(vals))
    return out
