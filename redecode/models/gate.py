"""The safety gate: how much of a model's correction to keep, per QP band and frame type.

A model's output is ``decoded + alpha * (restored - decoded)`` with ``alpha`` in [0, 1] looked up
per macroblock from its QP band, the frame's type, the codec family and, when the gate has
``activity`` levels, how textured the decoded macroblock is (:func:`macroblock_activity`: at low
QP a network gains on flat blocks and loses on detailed ones, whose decode is already close).
The table is fitted by least squares on
validation scenes (:func:`redecode.training.gate.fit_gate`: the table that maximises their mean
per-frame ΔPSNR-Y, so on them the output is not worse than the decode: alpha 0 where the model
hurts), and stored in the checkpoint's ``meta["gate"]``. A user's ``--strength S`` scales it further.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..coding import CodecFamily, FrameType

__all__ = ["MB_ACTIVITY", "QP_BANDS", "Gate", "cell_map", "macroblock_activity"]

#: Upper QP of each band but the last (bands centred on the usual ladder QPs 22/27/32/37/42).
QP_BANDS: tuple[float, ...] = (24.5, 29.5, 34.5, 39.5)
#: Upper macroblock activity (see :func:`macroblock_activity`) of each level but the last.
MB_ACTIVITY: tuple[float, ...] = (3.0, 8.0, 16.0)
#: Packed-grid positions per macroblock side (a 16x16 luma macroblock is 8x8 packed positions).
MB_PACKED = 8


def macroblock_activity(decoded: Tensor) -> Tensor:
    """Mean absolute 4-neighbour Laplacian of the decoded luma per 16x16 macroblock, in 8-bit
    code values at any bit depth: (B, 6, h, w) packed frames -> (B, 1, ceil(2h/16), ceil(2w/16)).

    Computed on the packed phases (luma pixel (2i + dy, 2j + dx) is channel 2 dy + dx at (i, j)),
    so the full-resolution plane is never assembled; edges are replicated as in the luma plane.
    """
    p = decoded[:, :4].float() * 255.0
    p00, p01, p10, p11 = p[:, 0], p[:, 1], p[:, 2], p[:, 3]  # (B, h, w): rows dim 1, columns dim 2
    lap = (4 * p00 - _before(p10, p00, 1) - p10 - _before(p01, p00, 2) - p01).abs()
    lap += (4 * p01 - _before(p11, p01, 1) - p11 - p00 - _after(p00, p01, 2)).abs()
    lap += (4 * p10 - p00 - _after(p00, p10, 1) - _before(p11, p10, 2) - p11).abs()
    lap += (4 * p11 - p01 - _after(p01, p11, 1) - p10 - _after(p10, p11, 2)).abs()
    total = F.avg_pool2d(lap[:, None], MB_PACKED, ceil_mode=True, divisor_override=1)
    h, w = p.shape[-2:]
    rows = (h - MB_PACKED * torch.arange(total.shape[-2], device=p.device)).clamp(max=MB_PACKED)
    cols = (w - MB_PACKED * torch.arange(total.shape[-1], device=p.device)).clamp(max=MB_PACKED)
    return total / (4 * rows[:, None] * cols[None, :]).float()


def _before(x: Tensor, edge: Tensor, dim: int) -> Tensor:
    """The neighbour before each position along ``dim``: x moved one step on, with the first
    slice taken from ``edge`` (the pixel itself, where the luma plane's edge replicates)."""
    return torch.cat([edge.narrow(dim, 0, 1), x.narrow(dim, 0, x.shape[dim] - 1)], dim)


def _after(x: Tensor, edge: Tensor, dim: int) -> Tensor:
    """The neighbour after each position along ``dim``, the last slice taken from ``edge``."""
    n = x.shape[dim]
    return torch.cat([x.narrow(dim, 1, n - 1), edge.narrow(dim, n - 1, 1)], dim)


def cell_map(qp: Tensor, decoded: Tensor | None, bands: tuple[float, ...] = QP_BANDS,
             activity: tuple[float, ...] = ()) -> Tensor:
    """Each macroblock's place in a gate row, band * (len(activity) + 1) + activity level:
    (B, 1, gh, gw) long, for QP maps (B, 1, gh, gw) and the decoded frames (B, 6, h, w) (read
    only with activity levels)."""
    band = torch.bucketize(qp.float(), torch.tensor(bands, device=qp.device))
    if not activity:
        return band
    if decoded is None:
        raise ValueError("this gate reads the decoded frames' macroblock activity")
    level = torch.bucketize(macroblock_activity(decoded), torch.tensor(activity, device=qp.device))
    return band * (len(activity) + 1) + level


TYPES = "".join(t.letter for t in FrameType)  # "IPB", in code order


@dataclass(frozen=True)
class Gate:
    """alpha[family][type][band * levels + level]: per codec family (see
    ``redecode.coding.CodecFamily``), 3 rows (I, P, B) of (len(bands) + 1) x levels values in
    [0, 1], levels = len(activity) + 1 (one level: the gate ignores the content)."""

    alpha: tuple[tuple[tuple[float, ...], ...], ...]
    bands: tuple[float, ...] = QP_BANDS
    activity: tuple[float, ...] = ()

    @property
    def levels(self) -> int:
        return len(self.activity) + 1

    def __post_init__(self) -> None:
        n = (len(self.bands) + 1) * self.levels
        if len(self.alpha) != len(CodecFamily) or any(
                len(rows) != 3 or any(len(row) != n for row in rows) for rows in self.alpha):
            raise ValueError(f"gate needs {len(CodecFamily)} x 3 rows of {n} values, got {self.alpha!r}")
        if any(not 0.0 <= a <= 1.0 for rows in self.alpha for row in rows for a in row):
            raise ValueError("gate values must lie in [0, 1]")

    @classmethod
    def from_meta(cls, data: Any) -> Gate:
        """From ``meta["gate"]``: ``{"bands": [...], "activity": [...] (optional), "alpha": {FAMILY:
        {"I": [...], "P": [...], "B": [...]}}}`` with the family names of ``CodecFamily``."""
        if not isinstance(data, dict) or not isinstance(data.get("alpha"), dict):
            raise ValueError("gate must be a dict with an 'alpha' table")
        bands = tuple(float(b) for b in data.get("bands", QP_BANDS))
        activity = tuple(float(a) for a in data.get("activity", ()))
        return cls(tuple(tuple(tuple(float(a) for a in data["alpha"][f.name][t]) for t in TYPES)
                         for f in CodecFamily), bands, activity)

    def to_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"bands": list(self.bands)}
        if self.activity:
            meta["activity"] = list(self.activity)
        meta["alpha"] = {f.name: {t: list(row) for t, row in zip(TYPES, rows)}
                         for f, rows in zip(CodecFamily, self.alpha)}
        return meta

    def describe(self) -> list[str]:
        """The table as markdown lines: a row per codec family and frame type, a column per QP
        band; with activity levels each cell lists alpha from the flattest level to the most
        detailed."""
        edges = _ranges(self.bands)
        lines = []
        if self.activity:
            lines.append(f"alpha per macroblock activity {' / '.join(_ranges(self.activity))} in each cell")
        lines += ["| family | type | " + " | ".join(f"QP {e}" for e in edges) + " |",
                  "|---|---|" + "---|" * len(edges)]
        n = self.levels
        for family, rows in zip(CodecFamily, self.alpha):
            for kind, row in zip(TYPES, rows):
                cells = [" ".join(f"{a:.2f}" for a in row[i * n:(i + 1) * n]) for i in range(len(edges))]
                lines.append(f"| {family.name} | {kind} | " + " | ".join(cells) + " |")
        return lines

    def lookup(self, qp: Tensor, frame_type: Tensor, family: Tensor | None = None,
               decoded: Tensor | None = None) -> Tensor:
        """Per-macroblock alpha, (B, 1, gh, gw), for QP maps (B, 1, gh, gw), types (B,), codec
        families (B,) (None: all 0) and the decoded frames (B, 6, h, w) (read only by a gate with activity levels)."""
        table = torch.tensor(self.alpha, dtype=qp.dtype, device=qp.device)  # (families, 3, cells)
        cell = cell_map(qp, decoded, self.bands, self.activity)  # (B, 1, gh, gw)
        fam = frame_type.new_zeros(frame_type.shape) if family is None else family
        f = fam.long()[:, None, None, None].expand_as(cell)
        t = frame_type.long()[:, None, None, None].expand_as(cell)
        return table[f, t, cell]


def _ranges(edges: tuple[float, ...]) -> list[str]:
    """Labels of the intervals that upper edges cut: (3, 8) -> ["< 3", "3-8", ">= 8"]."""
    inner = [f"{a:g}-{b:g}" for a, b in zip(edges, edges[1:])]
    return [f"< {edges[0]:g}", *inner, f">= {edges[-1]:g}"]
