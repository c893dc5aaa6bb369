"""The safety gate: how much of a model's correction to keep, per QP band and frame type.

A model's output is ``decoded + alpha * (restored - decoded)`` with ``alpha`` in [0, 1] looked up
per macroblock from its QP band, the frame's type and the codec family. The table is fitted by least squares on
validation scenes (:func:`redecode.training.gate.fit_gate`: the table that maximises their mean
per-frame ΔPSNR-Y, so on them the output is not worse than the decode: alpha 0 where the model
hurts), and stored in the checkpoint's ``meta["gate"]``. A user's ``--strength S`` scales it further.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..coding import CodecFamily, FrameType

__all__ = ["QP_BANDS", "Gate"]

#: Upper QP of each band but the last (bands centred on the usual ladder QPs 22/27/32/37/42).
QP_BANDS: tuple[float, ...] = (24.5, 29.5, 34.5, 39.5)
TYPES = "".join(t.letter for t in FrameType)  # "IPB", in code order


@dataclass(frozen=True)
class Gate:
    """alpha[family][type][band]: per codec family (see ``redecode.coding.CodecFamily``), 3 rows
    (I, P, B) of len(bands) + 1 values in [0, 1]."""

    alpha: tuple[tuple[tuple[float, ...], ...], ...]
    bands: tuple[float, ...] = QP_BANDS

    def __post_init__(self) -> None:
        n = len(self.bands) + 1
        if len(self.alpha) != len(CodecFamily) or any(
                len(rows) != 3 or any(len(row) != n for row in rows) for rows in self.alpha):
            raise ValueError(f"gate needs {len(CodecFamily)} x 3 rows of {n} values, got {self.alpha!r}")
        if any(not 0.0 <= a <= 1.0 for rows in self.alpha for row in rows for a in row):
            raise ValueError("gate values must lie in [0, 1]")

    @classmethod
    def from_meta(cls, data: Any) -> Gate:
        """From ``meta["gate"]``: ``{"bands": [...], "alpha": {FAMILY: {"I": [...], "P": [...],
        "B": [...]}}}`` with the family names of ``CodecFamily``."""
        if not isinstance(data, dict) or not isinstance(data.get("alpha"), dict):
            raise ValueError("gate must be a dict with an 'alpha' table")
        bands = tuple(float(b) for b in data.get("bands", QP_BANDS))
        return cls(tuple(tuple(tuple(float(a) for a in data["alpha"][f.name][t]) for t in TYPES)
                         for f in CodecFamily), bands)

    def to_meta(self) -> dict[str, Any]:
        return {"bands": list(self.bands),
                "alpha": {f.name: {t: list(row) for t, row in zip(TYPES, rows)}
                          for f, rows in zip(CodecFamily, self.alpha)}}

    def lookup(self, qp: Tensor, frame_type: Tensor, family: Tensor | None = None) -> Tensor:
        """Per-macroblock alpha, (B, 1, gh, gw), for QP maps (B, 1, gh, gw), types (B,) and
        codec families (B,) (None: all 0)."""
        table = torch.tensor(self.alpha, dtype=qp.dtype, device=qp.device)  # (families, 3, bands)
        edges = torch.tensor(self.bands, dtype=qp.dtype, device=qp.device)
        band = torch.bucketize(qp, edges)  # (B, 1, gh, gw)
        fam = frame_type.new_zeros(frame_type.shape) if family is None else family
        f = fam.long()[:, None, None, None].expand_as(band)
        t = frame_type.long()[:, None, None, None].expand_as(band)
        return table[f, t, band]
