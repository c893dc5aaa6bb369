"""Fitting ``classic`` in closed form: least squares per frame type, QP band and class.

Clips are walked whole, in the pipeline's order, with the one restoration step aligning each
frame's references; for every frame the features of :class:`redecode.models.classic.ClassicNet`
and the decode's error (pristine - decoded) of its pixels that are not quiet are accumulated
into normal equations per coefficient set, and one pass solves them. Quiet pixels take their
references' correction whatever the coefficients, and no feature of the others depends on a
restored reference, so a second pass would solve the same equations.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from ..allocator import retain_freed_memory
from ..models import ClassicConfig, ClassicNet
from .clips import Clip
from .sampler import ClipTensors
from .unroll import walk_clip

__all__ = ["fit_classic"]

#: Pixels a coefficient set needs before it is used (fewer: it stays zero, the identity).
MIN_PIXELS = 1000
#: Every SUBSAMPLE-th pixel in each direction enters the sums (neighbours add little).
SUBSAMPLE = 2
#: Ridge, relative to the mean diagonal of the normal equations.
RIDGE = 1e-3
#: The DCT-shrinkage thresholds of the fitted model (8-bit code values at QP 37): alone, the
#: middle one gains about +0.1 dB on I- and P-frames of the real-video validation scenes at QP 37.
SHRINK = (4.0, 8.0, 12.0)


class _Normal:
    """Normal equations A w = b for many coefficient sets at once: A (K, F, F), b (K, F)."""

    def __init__(self, sets: int, features: int) -> None:
        self.a = torch.zeros(sets, features, features, dtype=torch.float64)
        self.b = torch.zeros(sets, features, dtype=torch.float64)
        self.n = torch.zeros(sets, dtype=torch.long)

    def add(self, x: torch.Tensor, e: torch.Tensor, key: torch.Tensor, weight: float = 1.0) -> None:
        """x (N, F) features, e (N,) targets, key (N,) set index; ``weight`` scales their sums."""
        order = torch.argsort(key)
        counts = torch.bincount(key, minlength=len(self.b)).tolist()
        xe = torch.cat([x, e[:, None]], 1)[order].double()
        for k, part in enumerate(torch.split(xe, counts)):
            if len(part):
                prod = (part[:, :-1].T @ part) * weight
                self.a[k] += prod[:, :-1]
                self.b[k] += prod[:, -1]
                self.n[k] += len(part)

    def solve(self) -> torch.Tensor:
        w = torch.zeros_like(self.b)
        for k in range(len(self.b)):
            if self.n[k] < MIN_PIXELS:
                continue
            a = self.a[k]
            ridge = RIDGE * float(a.diagonal().mean()) + 1e-12
            w[k] = torch.linalg.solve(a + ridge * torch.eye(len(a), dtype=a.dtype), self.b[k])
        return w.float()


def fit_classic(clips: Sequence[Clip], progress: bool = False,
                config: ClassicConfig = ClassicConfig(macroblock_bands=True, shrink=SHRINK)) -> ClassicNet:
    """Fit a :class:`ClassicNet` of ``config`` on training clips (pristine + decoded + metadata).

    The default is the shipped design: no carrying (``carry_quiet`` off); carrying lost 0.01-0.06 dB
    on P/B frames below QP 42 on the real-video validation scenes (docs/benchmarks.md)."""
    retain_freed_memory()
    model = ClassicNet(config).eval()
    cfg = model.config
    nf, _, nb, nc = model.luma.shape[:4]
    luma = [[_Normal(nb * nc, cfg.luma_features) for _ in range(3)] for _ in range(nf)]
    chroma = [[[_Normal(nb, cfg.chroma_features) for _ in range(2)] for _ in range(3)] for _ in range(nf)]
    for clip in tqdm(clips, desc="fit classic", unit="clip", file=sys.stderr, disable=not progress):
        for step in walk_clip(_Decode(), ClipTensors.from_clip(clip)):
            f = model.features(step.decoded, step.qp, step.frame_type, step.l0, step.l1)
            err = step.pristine - step.decoded
            fam, kind = int(step.family[0]), int(step.frame_type[0])
            e_luma = F.pixel_shuffle(err[:, :4], 2)[:, 0]  # (1, H, W)
            sub = (slice(None), slice(None, None, SUBSAMPLE), slice(None, None, SUBSAMPLE))
            w = step.weight
            keep = ~f["luma_quiet"][sub].reshape(-1)  # quiet pixels have no coefficients of their own
            luma[fam][kind].add(f["luma_x"][sub].reshape(-1, cfg.luma_features)[keep], e_luma[sub].reshape(-1)[keep],
                                f["luma_key"][sub].reshape(-1)[keep], w)
            for plane in range(2):
                keep = ~f["chroma_quiet"][:, plane][sub].reshape(-1)
                chroma[fam][kind][plane].add(f["chroma_x"][:, plane][sub].reshape(-1, cfg.chroma_features)[keep],
                                             err[:, 4 + plane][sub].reshape(-1)[keep],
                                             f["chroma_key"][sub].reshape(-1)[keep], w)
    with torch.no_grad():
        for fam in range(nf):
            for kind in range(3):
                model.luma[fam, kind] = luma[fam][kind].solve().view(nb, nc, -1)
                for plane in range(2):
                    model.chroma[fam, kind, :, plane] = chroma[fam][kind][plane].solve()
    model.meta = {"fit": {"clips": len(clips),
                          "frames": int(sum(c.length for c in clips))}}
    return model


class _Decode(nn.Module):
    """What the model being fitted restores while its coefficients are still zero: the decode
    itself (running the model's own forward to add zero would cost as much as the features)."""

    def forward(self, decoded: Tensor, *inputs: object) -> Tensor:
        return decoded


def coefficient_bytes(model: ClassicNet) -> int:
    """Size of the coefficients (float32)."""
    return int(np.prod(model.luma.shape) + np.prod(model.chroma.shape)) * 4


def refit(train: Sequence[str], val: Sequence[str], out: str, clips: int = 200, seed: int = 0,
          progress: bool = False) -> ClassicNet:
    """``redecode train --from classic``: fit ``classic`` on (a sample of) the training clips, its
    gate on the validation clips, and save it to ``out``.

    Args:
        train, val: clip files; ``clips`` of the training ones are drawn at random (seeded).
    """
    from ..models import save
    from .clips import load_clip
    from .gate import fit_gate

    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(train), size=min(clips, len(train)), replace=False).tolist())
    model = fit_classic([load_clip(train[i]) for i in chosen], progress=progress)
    if val:
        gate = fit_gate(model, [load_clip(p) for p in val], progress=progress)
        model.meta["gate"] = gate.to_meta()
    model.meta["fit"]["train_files"] = len(train)
    save(model, out)
    return model
