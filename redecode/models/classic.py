"""``classic``: a classified least-squares filter over the decode and its DCT shrinkage.

The floor every network must beat, and what ``auto`` runs until a network ships. Per pixel of
the decoded luma, a 5x5 neighbourhood and the steps that DCT shrinkage would take (hard
thresholds at a few levels scaled with the quantizer step, as FFmpeg's spp filter does: see
:func:`shrink_dct`) predict the coding error, with coefficients chosen by the codec family
(deblocked H.264-like or MPEG), the frame type, the QP band (of the macroblock's QP, or of the
frame's mean QP) and a class of the local structure (4 gradient directions x 3 activity levels,
as in VVC's adaptive loop filter). Chroma planes get a 3x3 filter per type and band.

With ``carry_quiet``, a P/B pixel whose block residual is small (the decoded frame minus the
lists' mean motion-compensated decoded reference, below ``RESIDUAL_GATE`` code values over 3x3)
is where the codec copied its reference: the reference's coding error passed into the frame
unchanged, and so may its correction. Such a pixel takes its references' correction whole (the
aligned restored minus the aligned decoded reference) and no fitted term, so nothing fitted can
pile up along a chain of references; the other pixels are filtered with the coefficients of
their frame type. Measured on the real-video validation scenes, carrying lost 0.01-0.06 dB on
P/B frames below QP 42 against filtering every pixel (docs/benchmarks.md), so the shipped fit
does not carry. All coefficients are solved in closed form (:mod:`redecode.training.classic`),
a few KB in all.

Shapes: packed frames (B, 6, h, w) as in :mod:`redecode.models.tensors`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..coding import CodecFamily
from .gate import QP_BANDS, Gate
from .net import Reference
from .warp import dense_field

__all__ = ["ClassicConfig", "ClassicNet", "shrink_dct"]

#: [0, 1] sample values to 8-bit code values (thresholds are in these units at any bit depth).
CODE = 255.0
#: Luma activity thresholds (sum of 4 absolute Laplacians over 3x3, in 8-bit code values).
ACTIVITY = (6.0, 24.0)
#: A block residual below this (mean absolute, 8-bit code values, 3x3) counts as "unchanged".
RESIDUAL_GATE = 0.5
#: Gain on the shrinkage steps (a few code values): a scale like the taps', so that the fit's
#: ridge (relative to the mean diagonal of its normal equations) does not shrink their weights.
SHRINK_GAIN = 16.0
#: Block side and stride of the overcomplete DCT of :func:`shrink_dct`.
DCT_SIZE, DCT_STRIDE = 8, 4
#: Luma rows per strip of ``ClassicNet.forward`` (a multiple of the macroblock and of DCT_STRIDE).
STRIP_ROWS = 128


@dataclass(frozen=True)
class ClassicConfig:
    """Shape of a :class:`ClassicNet`: luma taps (odd), chroma taps (odd), QP band edges,
    whether a pixel's band comes from its macroblock's QP (``macroblock_bands``; adaptive
    quantisation moves it by several steps within a frame) or from the frame's mean QP, the
    thresholds of the DCT-shrinkage steps among the luma features (``shrink``, 8-bit code values
    at QP 37; none: the taps alone), and whether quiet P/B pixels carry their references'
    correction (``carry_quiet``; off: every pixel is filtered with its frame type's sets)."""

    luma_taps: int = 5
    chroma_taps: int = 3
    bands: tuple[float, ...] = QP_BANDS
    macroblock_bands: bool = False
    shrink: tuple[float, ...] = ()
    carry_quiet: bool = False

    @property
    def classes(self) -> int:
        return 4 * (len(ACTIVITY) + 1)

    @property
    def luma_features(self) -> int:
        return self.luma_taps ** 2 + 1 + len(self.shrink)  # taps, bias, shrinkage steps

    @property
    def chroma_features(self) -> int:
        return self.chroma_taps ** 2 + 1  # taps, bias

    def to_dict(self) -> dict[str, Any]:
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassicConfig:
        if not isinstance(data, dict) or set(data) - {f.name for f in fields(cls)}:
            raise ValueError(f"bad classic config {data!r}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


@dataclass
class Carried:
    """What the references bring (see ``ClassicNet._carried``): ``luma_quiet`` (B, 1, H, W) and
    ``chroma_quiet`` (B, 2, h, w) bool, the pixels that take ``luma_whole`` (B, 1, H, W) /
    ``chroma_whole`` (B, 2, h, w), their references' correction, as their own."""

    luma_quiet: Tensor
    chroma_quiet: Tensor
    luma_whole: Tensor
    chroma_whole: Tensor


class ClassicNet(nn.Module):
    """Classified least-squares restoration; same interface as ``RestorationNet``.

    Buffers: ``luma`` (2 codec families, 3 types, bands, classes, luma features) and ``chroma``
    (2, 3, bands, 2 planes, chroma features): coefficients, zero at construction (the identity).
    """

    arch = "classic"
    config_class = ClassicConfig
    #: bounds its own memory (strips, see ``forward``): ``restore_step`` gives it whole frames,
    #: as its frame-wide terms need
    whole_frames = True
    #: computes in fp32 whatever the engine's precision: its few convolutions are not what bounds
    #: its speed, and bf16 arithmetic cost it 0.02-0.04 dB (real video, QP 22-37)
    fp32_only = True

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
            ``chroma_key`` (B, h, w) long: the band (see ``macroblock_band``); ``luma_quiet``
            (B, H, W) and ``chroma_quiet`` (B, 2, h, w) bool: where the correction is instead
            ``luma_whole`` (B, H, W) / ``chroma_whole`` (B, 2, h, w), the references'.
        """
        cfg = self.config
        b, _, h, w = decoded.shape
        luma = F.pixel_shuffle(decoded[:, :4], 2)  # (B, 1, H, W)
        chroma = decoded[:, 4:]
        c = self._carried(decoded, l0, l1)
        mb_band = self.macroblock_band(qp)  # (B, gh, gw)
        band, luma_band = _spread(mb_band, 8, h, w), _spread(mb_band, 16, 2 * h, 2 * w)
        luma_x = torch.cat([_patches(luma, cfg.luma_taps)[:, 0], luma.new_ones(b, 1, 2 * h, 2 * w),
                            self._shrunk(luma, self._thresholds(qp))], 1)
        chroma_x = torch.cat([_patches(chroma, cfg.chroma_taps), chroma.new_ones(b, 2, 1, h, w)], 2)
        return {"luma_x": luma_x.permute(0, 2, 3, 1), "luma_key": luma_band * cfg.classes + self._classes(luma),
                "chroma_x": chroma_x.permute(0, 1, 3, 4, 2), "chroma_key": band,
                "luma_quiet": c.luma_quiet[:, 0], "chroma_quiet": c.chroma_quiet,
                "luma_whole": c.luma_whole[:, 0], "chroma_whole": c.chroma_whole}

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

    def _thresholds(self, qp: Tensor) -> Tensor:
        """(B, S) the shrinkage thresholds of each frame, in [0, 1] units: ``shrink`` times the
        quantizer step of the frame's mean QP (qp: (B, 1, gh, gw), the whole frame's)."""
        step = torch.exp2((qp.float().mean(dim=(1, 2, 3)) - 37.0) / 6.0)  # (B,)
        return step[:, None] * torch.tensor(self.config.shrink, device=qp.device) / CODE

    def _shrunk(self, luma: Tensor, thresholds: Tensor) -> Tensor:
        """(B, S, H, W): for each of the (B, S) ``thresholds``, the DCT-shrinkage estimate of the
        luma (B, 1, H, W) minus the luma, times ``SHRINK_GAIN``."""
        if not self.config.shrink:
            return luma.new_zeros(luma.shape[0], 0, *luma.shape[-2:])
        return (shrink_dct(luma, thresholds) - luma) * SHRINK_GAIN

    def _shrunk_rows(self, luma: Tensor, thresholds: Tensor, y0: int, y1: int) -> Tensor:
        """``_shrunk`` of the whole luma (B, 1, H, W), rows ``y0:y1`` only (y0 a multiple of
        ``DCT_STRIDE``): made from those rows and ``DCT_SIZE - DCT_STRIDE`` more on each side,
        which hold every block that covers them, on the whole frame's block grid."""
        margin = DCT_SIZE - DCT_STRIDE
        a, z = max(0, y0 - margin), min(luma.shape[-2], y1 + margin)
        return self._shrunk(luma[..., a:z, :], thresholds)[..., y0 - a:y1 - a, :]

    def _carried(self, decoded: Tensor, l0: Reference | None, l1: Reference | None) -> Carried:
        """Where the codec copied its references, and their correction there.

        A pixel is quiet when it predicts from a list and the decoded frame differs from the
        lists' mean aligned decode (what a bi-predicted block adds its residual to) by less
        than ``RESIDUAL_GATE``; its correction is the mean of the lists' aligned restored minus
        aligned decoded references.
        """
        b, _, h, w = decoded.shape
        if not self.config.carry_quiet:  # nothing is quiet
            none = torch.zeros((b, 1, 2 * h, 2 * w), dtype=torch.bool, device=decoded.device)
            return Carried(luma_quiet=none, chroma_quiet=none[:, :, :h, :w].expand(b, 2, h, w),
                           luma_whole=decoded.new_zeros(b, 1, 2 * h, 2 * w), chroma_whole=decoded.new_zeros(b, 2, h, w))
        total = decoded.new_zeros(b, 6, h, w)
        pred = decoded.new_zeros(b, 6, h, w)
        count = decoded.new_zeros(b, 1, h, w)
        for ref in (l0, l1):
            if ref is None:
                continue
            m = dense_field(ref.mask.to(decoded.dtype), h, w, 4) * ref.present.to(decoded.dtype)[:, None, None, None]
            total = total + (ref.restored - ref.decoded) * m
            pred = pred + ref.decoded * m
            count = count + m
        predicted = (count > 0).to(decoded.dtype)
        count = count.clamp_min(1.0)
        quiet = _quiet(decoded - pred / count) * predicted
        whole = total / count * quiet
        return Carried(luma_quiet=F.pixel_shuffle(quiet[:, :4], 2) > 0, chroma_quiet=quiet[:, 4:] > 0,
                       luma_whole=F.pixel_shuffle(whole[:, :4], 2), chroma_whole=whole[:, 4:])

    # -- restoration ------------------------------------------------------------------------

    def forward(self, decoded: Tensor, qp: Tensor, frame_type: Tensor, l0: Reference | None = None,
                l1: Reference | None = None, family: Tensor | None = None) -> Tensor:
        """Restore a batch of frames: (B, 6, h, w) in, (B, 6, h, w) out (not clipped).

        The same sums as ``features`` times the coefficients, computed as convolutions: the 12
        class filters of each (type, band) present run over the luma and each pixel keeps its
        band's and class's response; quiet pixels then take the references'. The luma's large
        intermediates (the class responses and the DCT's coefficients) are made in strips of
        ``STRIP_ROWS`` rows, each from its rows and a margin; the frame-wide terms (the
        shrinkage thresholds from the frame's mean QP) come from the whole frame, so any frame
        size gives the whole-frame result in bounded memory.
        """
        cfg = self.config
        b, _, h, w = decoded.shape
        lt, ct = cfg.luma_taps, cfg.chroma_taps
        luma = F.pixel_shuffle(decoded[:, :4], 2)  # (B, 1, H, W)
        c = self._carried(decoded, l0, l1)
        cls = self._classes(luma)[:, None]  # (B, 1, H, W)
        thresholds = self._thresholds(qp)  # (B, S)
        mb_band = self.macroblock_band(qp)  # (B, gh, gw)
        ft = frame_type.long()
        fam = ft.new_zeros(ft.shape) if family is None else family.long()
        out = []
        for i in range(b):
            lpad = F.pad(luma[i:i + 1], (lt // 2,) * 4, mode="replicate")
            cpad = F.pad(decoded[i:i + 1, 4:], (ct // 2,) * 4, mode="replicate")
            present = torch.unique(mb_band[i]).tolist()
            band = _spread(mb_band[i:i + 1], 8, h, w)[:, None]  # (1, 1, h, w)
            luma_band = _spread(mb_band[i:i + 1], 16, 2 * h, 2 * w)[:, None]  # (1, 1, H, W)
            corr = luma.new_empty(1, 1, 2 * h, 2 * w)
            for y0 in range(0, 2 * h, STRIP_ROWS):
                y1 = min(2 * h, y0 + STRIP_ROWS)
                shrunk = self._shrunk_rows(luma[i:i + 1], thresholds[i:i + 1], y0, y1)  # (1, S, rows, W)
                k = cls[i:i + 1, :, y0:y1]
                rows = None
                for q in torch.unique(mb_band[i, y0 // 16: -(-y1 // 16)]).tolist():
                    coef = self.luma[fam[i], ft[i], q].to(decoded.dtype)  # (classes, Fl)
                    resp = F.conv2d(lpad[..., y0:y1 + lt - 1, :], coef[:, :lt * lt].reshape(cfg.classes, 1, lt, lt))
                    extra = coef[:, lt * lt:]  # (classes, 1 + S): bias, shrinkage steps
                    part = resp.gather(1, k) + extra[:, 0][k]  # (1, 1, rows, W)
                    for j in range(shrunk.shape[1]):
                        part = part + extra[:, 1 + j][k] * shrunk[:, j:j + 1]
                    rows = part if rows is None else torch.where(luma_band[..., y0:y1, :] == q, part, rows)
                corr[..., y0:y1, :] = rows
            ccorr = None
            for q in present:
                cc = self.chroma[fam[i], ft[i], q].to(decoded.dtype)  # (2, Fc)
                cpart = F.conv2d(cpad, cc[:, :ct * ct].reshape(2, 1, ct, ct), groups=2) + cc[None, :, ct * ct, None, None]
                ccorr = cpart if ccorr is None else torch.where(band == q, cpart, ccorr)
            if cfg.carry_quiet:
                corr = torch.where(c.luma_quiet[i:i + 1], c.luma_whole[i:i + 1], corr)
                ccorr = torch.where(c.chroma_quiet[i:i + 1], c.chroma_whole[i:i + 1], ccorr)
            out.append(torch.cat([F.pixel_unshuffle(corr, 2), ccorr], 1))
        return decoded + torch.cat(out)


@functools.lru_cache(maxsize=8)
def _dct_weights(device: torch.device, dtype: torch.dtype) -> Tensor:
    """(64, 16, 2, 2): the orthonormal 8x8 DCT-II basis images as a 2x2 convolution over the
    pixel-unshuffled (4x4 phases) image, so that blocks on a 4-pixel grid are one convolution."""
    n = DCT_SIZE
    k = torch.arange(n, dtype=torch.float64)
    c = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * math.sqrt(2 / n)
    c[0] /= math.sqrt(2)
    basis = torch.einsum("ux,vy->uvxy", c, c).reshape(n * n, 2, DCT_STRIDE, 2, DCT_STRIDE)
    return basis.permute(0, 2, 4, 1, 3).reshape(n * n, DCT_STRIDE ** 2, 2, 2).to(device, dtype).contiguous()


def shrink_dct(x: Tensor, thresholds: Tensor) -> Tensor:
    """Overcomplete DCT hard thresholding (as FFmpeg's spp filter): every 8x8 block on a 4-pixel
    grid is transformed, its AC coefficients at or below a threshold are zeroed, and the inverse
    transforms are averaged (each pixel lies in 4 blocks).

    Args:
        x: (B, 1, H, W) images.
        thresholds: (B, S) thresholds in x's units; the transform is shared by all S.

    Returns:
        (B, S, H, W) the images as each threshold leaves them.
    """
    b, _, h, w = x.shape
    n, s = DCT_SIZE, DCT_STRIDE
    hp, wp = -(-(h + 2 * n) // s) * s, -(-(w + 2 * n) // s) * s
    weights = _dct_weights(x.device, x.dtype)
    coef = F.conv2d(F.pixel_unshuffle(F.pad(x, (n, wp - w - n, n, hp - h - n), mode="replicate"), s), weights)
    keep = coef.abs()[:, None] > thresholds.to(x.dtype)[:, :, None, None, None]  # (B, S, 64, ., .)
    keep[:, :, 0] = True  # each block's mean stays
    kept = (coef[:, None] * keep).flatten(0, 1)  # (B * S, 64, ., .)
    back = F.conv2d(kept, weights.transpose(0, 1).flip(2, 3), padding=1)  # the transpose: (B * S, 16, ., .)
    out = F.pixel_shuffle(back, s)[..., n:n + h, n:n + w] * 0.25
    return out.reshape(b, -1, h, w)


def _quiet(diff: Tensor) -> Tensor:
    """(B, 6, h, w) packed differences -> 1.0 where the mean absolute value over 3x3 (luma at
    full resolution, chroma at its own) is below ``RESIDUAL_GATE`` code values, else 0.0."""
    resid = diff.abs() * CODE
    luma = F.pixel_shuffle(resid[:, :4], 2)
    return torch.cat([F.pixel_unshuffle((_box3(luma) < 9 * RESIDUAL_GATE).to(diff.dtype), 2),
                      (_box3(resid[:, 4:]) < 9 * RESIDUAL_GATE).to(diff.dtype)], 1)


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
