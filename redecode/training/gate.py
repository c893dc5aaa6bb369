"""Fitting the safety gate (:mod:`redecode.models.gate`) on validation clips.

Each clip is restored whole with the one step; for every frame the model's own, ungated
correction ``c`` (restored minus decoded, with references restored by the gated model) and the
decode's error ``e`` (pristine minus decoded) are summed per macroblock into the cell of its
QP band and the frame's type; alpha = clip(sum(c e) / sum(c c), 0, 1). Fitting twice makes the
references those of the gated model.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..coding import FrameType
from ..models.gate import QP_BANDS, Gate, fit_alpha
from .clips import Clip
from .sampler import ClipTensors
from .unroll import walk_clip

__all__ = ["fit_gate"]

TYPES = "".join(t.letter for t in FrameType)  # "IPB", in code order


def fit_gate(model: nn.Module, clips: Sequence[Clip], iterations: int = 2, progress: bool = False) -> Gate:
    """Fit ``model``'s gate on ``clips`` and set it as ``model.gate``; returns it."""
    model.gate = None
    edges = torch.tensor(QP_BANDS)
    gate = fit_alpha({})
    for it in range(iterations):
        sums: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
        bar = tqdm(clips, desc=f"fit gate {it + 1}/{iterations}", unit="clip", file=sys.stderr,
                   disable=not progress)
        for clip in bar:
            for step in walk_clip(model, ClipTensors.from_clip(clip)):
                with torch.no_grad():
                    raw = model(step.decoded, step.qp, step.frame_type, step.l0, step.l1, step.family)
                c = (raw - step.decoded).double()
                e = (step.pristine - step.decoded).double()
                gh, gw = step.qp.shape[-2:]
                _, _, h, w = c.shape
                pad = (0, gw * 8 - w, 0, gh * 8 - h)
                ce = F.avg_pool2d(F.pad((c * e).sum(1, keepdim=True), pad), 8)[0, 0] * 64  # per macroblock
                cc = F.avg_pool2d(F.pad((c * c).sum(1, keepdim=True), pad), 8)[0, 0] * 64
                band = torch.bucketize(step.qp[0, 0].float(), edges)
                kind = TYPES[int(step.frame_type[0])]
                w = step.weight  # the frame's ΔPSNR, not its squared error, is what counts
                for b in torch.unique(band).tolist():
                    sel = band == b
                    cell = sums[(int(step.family[0]), kind, b)]
                    cell[0] += float(ce[sel].sum()) * w
                    cell[1] += float(cc[sel].sum()) * w
        gate = fit_alpha({k: (v[0], v[1]) for k, v in sums.items()})
        model.gate = gate
    return gate
