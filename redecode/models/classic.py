"""``classic``: a classified least-squares filter plus residual-gated correction carrying.

The floor every network must beat, and what ``auto`` runs until a network ships. Per pixel of
the decoded luma, a 5x5 neighbourhood predicts the coding error with coefficients chosen by the
codec family (deblocked H.264-like or MPEG), the frame type, the QP band of the frame's mean QP and a class of the local structure (4 gradient
directions x 3 activity levels, as in VVC's adaptive loop filter). P/B-frames also carry their references'
corrections along the block vectors (the aligned restored reference minus the aligned decoded
one), split by the block residual (decoded minus the motion-compensated decoded reference):
where the residual is small, the reference's error passed into the frame unchanged and so does
its correction; where the encoder spent bits, the residual already paid for it. Chroma planes
get a 3x3 filter per type and band, with the same carried terms. All coefficients are solved in
closed form (:mod:`redecode.training.classic`), a few KB in all.

Shapes: packed frames (B, 6, h, w) as in :mod:`redecode.models.tensors`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..coding import CodecFamily
from .gate import QP_BANDS, Gate
from .net import Reference
from .warp import dense_field

__all__ = ["ClassicConfig", "ClassicNet"]

#: [0, 1] sample values to 8-bit code values (thresholds are in these units at any bit depth).
CODE = 255.0
#: Luma activity thresholds (sum of 4 absolute Laplacians over 3x3, in 8-bit code values).
ACTIVITY = (6.0, 24.0)
#: A block residual below this (mean absolute, 8-bit code values, 3x3) counts as "unchanged".
RESIDUAL_GATE = 0.5


@dataclass(frozen=True)
class ClassicConfig:
    """Shape of a :class:`ClassicNet`: luma taps (odd), chroma taps (odd), QP band edges, and
    whether a pixel's band comes from its macroblock's QP (``macroblock_bands``; adaptive
    quantisation moves it by several steps within a frame) or from the frame's mean QP."""

    luma_taps: int = 5
    chroma_taps: int = 3
    bands: tuple[float, ...] = QP_BANDS
    macroblock_bands: bool = False

    @property
    def classes(self) -> int:
        return 4 * (len(ACTIVITY) + 1)

    @property
    def luma_features(self) -> int:
        return self.luma_taps ** 2 + 3  # taps, bias, carried correction where residual small / large

    @property
    def chroma_features(self) -> int:
        return self.chroma_taps ** 2 + 3

    def to_dict(self) -> dict[str, Any]:
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassicConfig:
        if not isinstance(data, dict) or set(data) - {f.name for f in fields(cls)}:
            raise ValueError(f"bad classic config {data!r}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


class ClassicNet(nn.Module):
    """Classified least-squares restoration; same interface as ``RestorationNet``.

    Buffers: ``luma`` (2 codec families, 3 types, bands, classes, luma features) and ``chroma``
    (2, 3, bands, 2 planes, chroma features): coefficients, zero at construction (the identity).
    """

    arch = "classic"
    config_class = ClassicConfig

    def __init__(self, config: ClassicConfig = ClassicConfig()) -> None:
        super().__init__()
        self.config = config
        self.name: str = self.arch
        self.meta: dict[str, Any] = {}
        self.gate: Gate | None = None
        nb = len(config.bands) + 1
        nf = len(CodecFamily)
        self.register_buffer("luma", torch.zeros(nf, 3, nb, config.classes, config.luma_features))
        self.register_buffer("chroma", torch.zeros(nf, 3, nb, 2, config.chroma_features))

    # -- features ---------------------------------------------------------------------------

    def features(self, decoded: Tensor, qp: Tensor, frame_type: Tensor, l0: Reference | None = None,
                 l1: Reference | None = None) -> dict[str, Tensor]:
        """What the coefficients multiply, per pixel.

        Returns:
            ``luma_x`` (B, H, W, Fl) features of the full-resolution luma (H = 2h, W = 2w),
            ``luma_key`` (B, H, W) long: band * classes + class, ``chroma_x`` (B, 2, h, w, Fc),
            ``chroma_key`` (B, h, w) long: the band (see ``macroblock_band``).
        """
        cfg = self.config
        b, _, h, w = decoded.shape
        luma = F.pixel_shuffle(decoded[:, :4], 2)  # (B, 1, H, W)
        chroma = decoded[:, 4:]
        carry_l, carry_c = self._carried(decoded, l0, l1)  # (B,2,H,W), (B,2,2,h,w)
        mb_band = self.macroblock_band(qp)  # (B, gh, gw)
        band, luma_band = _spread(mb_band, 8, h, w), _spread(mb_band, 16, 2 * h, 2 * w)
        cls = self._classes(luma)
        luma_x = torch.cat([_patches(luma, cfg.luma_taps)[:, 0], luma.new_ones(b, 1, 2 * h, 2 * w), carry_l], 1)
        chroma_x = torch.cat([_patches(chroma, cfg.chroma_taps), chroma.new_ones(b, 2, 1, h, w), carry_c], 2)
        return {"luma_x": luma_x.permute(0, 2, 3, 1), "luma_key": luma_band * cfg.classes + cls,
                "chroma_x": chroma_x.permute(0, 1, 3, 4, 2), "chroma_key": band}

    def macroblock_band(self, qp: Tensor) -> Tensor:
        """(B, gh, gw) long: each macroblock's QP band, from its own QP (``macroblock_bands``)
        or from its frame's mean QP."""
        edges = torch.tensor(self.config.bands, dtype=torch.float32, device=qp.device)
        if not self.config.macroblock_bands:
            band = torch.bucketize(qp.float().mean(dim=(1, 2, 3)), edges)
            return band[:, None, None].expand(qp.shape[0], *qp.shape[-2:])
        return torch.bucketize(qp[:, 0].float().contiguous(), edges)

    def _classes(self, luma: Tensor) -> Tensor:
        """(B, H, W) long: direction (argmax of 4 Laplacians, summed 3x3) x activity level."""
        y = F.pad(luma, (1, 1, 1, 1), mode="replicate") * CODE
        c = y[..., 1:-1, 1:-1]
        lap = torch.cat([
            (2 * c - y[..., 1:-1, :-2] - y[..., 1:-1, 2:]).abs(),  # horizontal
            (2 * c - y[..., :-2, 1:-1] - y[..., 2:, 1:-1]).abs(),  # vertical
            (2 * c - y[..., :-2, :-2] - y[..., 2:, 2:]).abs(),  # diagonal
            (2 * c - y[..., :-2, 2:] - y[..., 2:, :-2]).abs(),  # anti-diagonal
        ], dim=1)
        lap = _box3(lap)
        h01 = lap[:, 1] > lap[:, 0]
        best01 = torch.where(h01, lap[:, 1], lap[:, 0])
        h23 = lap[:, 3] > lap[:, 2]
        best23 = torch.where(h23, lap[:, 3], lap[:, 2])
        direction = torch.where(best23 > best01, 2 + h23.long(), h01.long())  # first maximum wins
        activity = torch.bucketize(lap.sum(dim=1), torch.tensor(ACTIVITY, dtype=lap.dtype, device=lap.device))
        return activity * 4 + direction

    def _carried(self, decoded: Tensor, l0: Reference | None, l1: Reference | None) -> tuple[Tensor, Tensor]:
        """References' corrections, averaged over the lists each pixel predicts from, split by
        the block residual: (B, 2, H, W) for luma, (B, 2, 2, h, w) for chroma (small, large)."""
        b, _, h, w = decoded.shape
        total = decoded.new_zeros(b, 6, h, w)
        small = decoded.new_zeros(b, 6, h, w)
        count = decoded.new_zeros(b, 1, h, w)
        for ref in (l0, l1):
            if ref is None:
                continue
            m = dense_field(ref.mask.to(decoded.dtype), h, w, 4) * ref.present.to(decoded.dtype)[:, None, None, None]
            corr = (ref.restored - ref.decoded) * m
            resid = (decoded - ref.decoded).abs() * CODE
            luma_res = F.pixel_shuffle(resid[:, :4], 2)
            quiet = torch.cat([F.pixel_unshuffle((_box3(luma_res) < 9 * RESIDUAL_GATE).to(decoded.dtype), 2),
                               (_box3(resid[:, 4:]) < 9 * RESIDUAL_GATE).to(decoded.dtype)], 1)
            total = total + corr
            small = small + corr * quiet
            count = count + m
        count = count.clamp_min(1.0)
        total, small = total / count, small / count
        large = total - small
        luma = torch.cat([F.pixel_shuffle(small[:, :4], 2), F.pixel_shuffle(large[:, :4], 2)], 1)
        chroma = torch.stack([small[:, 4:], large[:, 4:]], dim=2)  # (B, 2 planes, 2, h, w)
        return luma, chroma

    # -- restoration ------------------------------------------------------------------------

    def forward(self, decoded: Tensor, qp: Tensor, frame_type: Tensor, l0: Reference | None = None,
                l1: Reference | None = None, family: Tensor | None = None) -> Tensor:
        """Restore a batch of frames: (B, 6, h, w) in, (B, 6, h, w) out (not clipped).

        The same sums as ``features`` times the coefficients, computed as convolutions: the 12
        class filters of each (type, band) present in the frame run over the luma and each
        pixel keeps its band's and class's response.
        """
        cfg = self.config
        b, _, h, w = decoded.shape
        lt, ct = cfg.luma_taps, cfg.chroma_taps
        luma = F.pixel_shuffle(decoded[:, :4], 2)  # (B, 1, H, W)
        carry_l, carry_c = self._carried(decoded, l0, l1)
        cls = self._classes(luma)[:, None]  # (B, 1, H, W)
        mb_band = self.macroblock_band(qp)  # (B, gh, gw)
        ft = frame_type.long()
        fam = ft.new_zeros(ft.shape) if family is None else family.long()
        out = []
        for i in range(b):
            lpad = F.pad(luma[i:i + 1], (lt // 2,) * 4, mode="replicate")
            cpad = F.pad(decoded[i:i + 1, 4:], (ct // 2,) * 4, mode="replicate")
            k = cls[i:i + 1]
            present = torch.unique(mb_band[i]).tolist()
            if len(present) > 1:  # each pixel keeps its own band's response
                corr, ccorr = luma.new_zeros(1, 1, 2 * h, 2 * w), decoded.new_zeros(1, 2, h, w)
                band = _spread(mb_band[i:i + 1], 8, h, w)[:, None]  # (1, 1, h, w)
                luma_band = _spread(mb_band[i:i + 1], 16, 2 * h, 2 * w)[:, None]
            for q in present:
                coef = self.luma[fam[i], ft[i], q].to(decoded.dtype)  # (classes, Fl)
                resp = F.conv2d(lpad, coef[:, :lt * lt].reshape(cfg.classes, 1, lt, lt))  # (1, classes, H, W)
                extra = coef[:, lt * lt:]  # (classes, 3): bias, carried small, carried large
                part = resp.gather(1, k) + extra[:, 0][k] + extra[:, 1][k] * carry_l[i:i + 1, :1] \
                    + extra[:, 2][k] * carry_l[i:i + 1, 1:]
                cc = self.chroma[fam[i], ft[i], q].to(decoded.dtype)  # (2, Fc)
                cresp = F.conv2d(cpad, cc[:, :ct * ct].reshape(2, 1, ct, ct), groups=2)
                cextra = cc[:, ct * ct:]  # (2, 3)
                cpart = cresp + cextra[None, :, 0, None, None] \
                    + cextra[None, :, 1, None, None] * carry_c[i:i + 1, :, 0] \
                    + cextra[None, :, 2, None, None] * carry_c[i:i + 1, :, 1]
                if len(present) == 1:
                    corr, ccorr = part, cpart
                else:
                    corr = torch.where(luma_band == q, part, corr)
                    ccorr = torch.where(band == q, cpart, ccorr)
            out.append(torch.cat([F.pixel_unshuffle(corr, 2), ccorr], 1))
        return decoded + torch.cat(out)


def _spread(mb: Tensor, f: int, h: int, w: int) -> Tensor:
    """(B, gh, gw) per-macroblock values -> (B, h, w), ``f`` positions per macroblock side."""
    return mb.repeat_interleave(f, 1).repeat_interleave(f, 2)[:, :h, :w]


def _box3(x: Tensor) -> Tensor:
    """3x3 sums over (B, C, H, W), edges replicated (separable: two passes of two adds)."""
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    rows = p[..., :-2] + p[..., 1:-1] + p[..., 2:]
    return rows[..., :-2, :] + rows[..., 1:-1, :] + rows[..., 2:, :]


def _patches(x: Tensor, taps: int) -> Tensor:
    """(B, C, H, W) -> (B, C, taps*taps, H, W) neighbourhoods, edges replicated."""
    b, c, h, w = x.shape
    r = taps // 2
    p = F.pad(x.reshape(b * c, 1, h, w), (r, r, r, r), mode="replicate")
    cols = F.unfold(p, taps)  # (B*C, taps^2, H*W)
    return cols.view(b, c, taps * taps, h, w)
