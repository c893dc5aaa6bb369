"""Fitting the safety gate (:mod:`redecode.models.gate`) on validation clips.

Each clip is restored whole with the one step; for every frame the model's own, ungated luma
correction ``c`` (restored minus decoded, with references restored by the gated model) and the
decode's luma error ``e`` (pristine minus decoded) are summed per macroblock into the cells of
their QP band (the frame's type and codec family fixed): ``sum(c e)``, ``sum(c c)``, and
``sum(e e)`` per frame. With alpha per cell a frame's error is ``ee - sum(2 alpha ce - alpha^2
cc)``, so its ΔPSNR-Y is known in closed form for any table; the table that maximises the mean
per-frame ΔPSNR-Y (the figure the benchmarks report) is found cell by cell on a grid of 21
values in [0, 1], a few sweeps over the cells. Fitting twice makes the references those of the
gated model.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..coding import CodecFamily, FrameType
from ..models.gate import QP_BANDS, Gate
from .clips import Clip
from .sampler import ClipTensors
from .unroll import walk_clip

__all__ = ["fit_gate"]

GRID = np.linspace(0.0, 1.0, 21)


@dataclass
class _FrameSums:
    """One frame's luma sums: the cell index of each band it has pixels in, with ce and cc."""

    cells: np.ndarray  # (k,) cell indices
    ce: np.ndarray  # (k,)
    cc: np.ndarray  # (k,)
    ee: float
    clip: int


def _cell(family: int, kind: int, band: int, nbands: int) -> int:
    return (family * len(FrameType) + kind) * nbands + band


def _collect(model: nn.Module, clips: Sequence[Clip], progress: bool, desc: str) -> list[_FrameSums]:
    edges = torch.tensor(QP_BANDS)
    nb = len(QP_BANDS) + 1
    frames: list[_FrameSums] = []
    for ci, clip in enumerate(tqdm(clips, desc=desc, unit="clip", file=sys.stderr, disable=not progress)):
        for step in walk_clip(model, ClipTensors.from_clip(clip)):
            with torch.no_grad():
                raw = model(step.decoded, step.qp, step.frame_type, step.l0, step.l1, step.family)
            c = F.pixel_shuffle((raw - step.decoded)[:, :4].double(), 2)[0, 0]  # (H, W) luma
            e = F.pixel_shuffle((step.pristine - step.decoded)[:, :4].double(), 2)[0, 0]
            gh, gw = step.qp.shape[-2:]
            h, w = c.shape
            pad = (0, gw * 16 - w, 0, gh * 16 - h)
            ce = F.avg_pool2d(F.pad((c * e)[None, None], pad), 16)[0, 0] * 256  # per macroblock
            cc = F.avg_pool2d(F.pad((c * c)[None, None], pad), 16)[0, 0] * 256
            band = torch.bucketize(step.qp[0, 0].float(), edges)
            bands = torch.unique(band).tolist()
            fam, kind = int(step.family[0]), int(step.frame_type[0])
            frames.append(_FrameSums(
                cells=np.array([_cell(fam, kind, b, nb) for b in bands]),
                ce=np.array([float(ce[band == b].sum()) for b in bands]),
                cc=np.array([float(cc[band == b].sum()) for b in bands]),
                ee=float((e * e).sum()), clip=ci))
    return frames


def _optimise(frames: list[_FrameSums], ncells: int, sweeps: int = 3) -> np.ndarray:
    """alpha per cell maximising the mean over clips of each clip's mean per-frame ΔPSNR-Y."""
    alpha = np.ones(ncells)
    clip_sizes = np.bincount([f.clip for f in frames])
    weight = np.array([1.0 / clip_sizes[f.clip] for f in frames])
    by_cell: dict[int, list[int]] = {}
    for i, f in enumerate(frames):
        for c in f.cells:
            by_cell.setdefault(int(c), []).append(i)

    def gain(i: int, a: np.ndarray) -> float:
        f = frames[i]
        al = a[f.cells]
        err = f.ee - float(np.sum(2 * al * f.ce - al * al * f.cc))
        floor = 1e-12 * max(f.ee, 1.0)
        return 10.0 * np.log10(max(f.ee, floor) / max(err, floor))

    for _ in range(sweeps):
        for cell, idx in by_cell.items():
            best, best_score = alpha[cell], -np.inf
            for value in GRID:
                alpha[cell] = value
                score = sum(weight[i] * gain(i, alpha) for i in idx)
                if score > best_score + 1e-12:
                    best, best_score = value, score
            alpha[cell] = best
    return alpha


def fit_gate(model: nn.Module, clips: Sequence[Clip], iterations: int = 2, progress: bool = False) -> Gate:
    """Fit ``model``'s gate on ``clips`` (a validation ladder) and set it as ``model.gate``."""
    model.gate = None
    nb = len(QP_BANDS) + 1
    ncells = len(CodecFamily) * len(FrameType) * nb
    gate = None
    for it in range(iterations):
        frames = _collect(model, clips, progress, f"fit gate {it + 1}/{iterations}")
        alpha = _optimise(frames, ncells).reshape(len(CodecFamily), len(FrameType), nb)
        gate = Gate(tuple(tuple(tuple(float(a) for a in row) for row in rows) for rows in alpha), QP_BANDS)
        model.gate = gate
    return gate
