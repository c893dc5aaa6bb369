"""Codec-domain tensors: Y'CbCr planes (numpy) in, the networks' packed tensors (torch) out.

A frame is packed into one (6, h, w) float32 tensor in [0, 1] with h = ceil(H/2), w = ceil(W/2):
channels 0-3 are the luma plane pixel-unshuffled 2x2 (after padding it to an even size by
repeating its last row/column), in ``torch.nn.functional.pixel_unshuffle`` order
(top-left, top-right, bottom-left, bottom-right), channels 4-5 are the U and V planes of a 4:2:0
frame. Every channel then has the same (h, w) grid and a luma pixel keeps its exact value.

Chroma formats other than 4:2:0: ``planes_to_tensor`` accepts 4:2:2 (chroma (H, ceil(W/2))) and
4:4:4 (chroma (H, W)) planes and averages their chroma down to the 4:2:0 grid (2x1 or 2x2 box
filter), so the networks only ever see 4:2:0. ``tensor_to_planes`` returns 4:2:0 chroma unless
it is given the frame's decoded chroma planes (``decoded_chroma``): then it returns chroma at
their size, as the decoded chroma plus the network's 4:2:0 correction upsampled (bilinear), so
the chroma detail of a 4:2:2/4:4:4 frame survives and only the correction is at 4:2:0 precision.

This module knows nothing of files or of the decoder: numpy in, torch out.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "chroma_size",
    "motion_to_tensor",
    "planes_to_tensor",
    "qp_to_tensor",
    "tensor_to_planes",
]

#: QP assumed for frames whose stream carries no quantizer (HEVC, AV1, ...): a mid-range value.
DEFAULT_QP = 32.0


def chroma_size(height: int, width: int) -> tuple[int, int]:
    """Size (ceil(H/2), ceil(W/2)) of a 4:2:0 chroma plane, which is also the packed grid size."""
    return (height + 1) // 2, (width + 1) // 2


def _max_value(bit_depth: int) -> int:
    if not isinstance(bit_depth, int) or not 1 <= bit_depth <= 16:
        raise ValueError(f"bit_depth must be an integer in 1..16, got {bit_depth!r}")
    return (1 << bit_depth) - 1


def _check_plane(name: str, plane: np.ndarray) -> None:
    if not isinstance(plane, np.ndarray) or plane.ndim != 2:
        raise ValueError(f"{name} plane must be a 2-D numpy array, got {getattr(plane, 'shape', type(plane))}")
    if plane.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{name} plane must be uint8 or uint16, got {plane.dtype}")


def _upload(plane: np.ndarray, device: torch.device) -> Tensor:
    """An integer plane as float32 on ``device``: uploaded as integers (from pinned memory, on
    CUDA) and converted there, so no float32 copy is made on the host."""
    t = torch.from_numpy(np.ascontiguousarray(plane))
    if device.type == "cuda":
        t = t.pin_memory().to(device, non_blocking=True)
    return t.to(device=device, dtype=torch.float32)


def _chroma_to_420(plane: Tensor, height: int, width: int) -> Tensor:
    """One chroma plane (float, any device) on the (ceil(H/2), ceil(W/2)) grid, box-averaged
    down from 4:2:2/4:4:4."""
    ch, cw = chroma_size(height, width)
    ph, pw = plane.shape
    if (ph, pw) == (ch, cw):
        return plane
    fy = 2 if ph == height else 1 if ph == ch else 0
    fx = 2 if pw == width else 1 if pw == cw else 0
    if fy == 0 or fx == 0:
        raise ValueError(
            f"chroma plane {tuple(plane.shape)} does not fit luma ({height}, {width}): expected 4:2:0 "
            f"({ch}, {cw}), 4:2:2 ({height}, {cw}) or 4:4:4 ({height}, {width})")
    t = F.pad(plane[None, None], (0, cw * fx - pw, 0, ch * fy - ph), mode="replicate")
    return F.avg_pool2d(t, (fy, fx))[0, 0]


def planes_to_tensor(y: np.ndarray, u: np.ndarray, v: np.ndarray, bit_depth: int = 8,
                     device: torch.device | str | None = None) -> Tensor:
    """Pack one frame's planes into the networks' tensor, on ``device``.

    Args:
        y: (H, W) uint8/uint16 luma plane.
        u, v: chroma planes, (ceil(H/2), ceil(W/2)) for 4:2:0; 4:2:2 and 4:4:4 sizes are
            averaged down to that size.
        bit_depth: bits per sample (8 for uint8 planes, 10/12/16 for uint16 ones).
        device: where to pack (default the CPU); the planes travel as integers.

    Returns:
        float32 (6, ceil(H/2), ceil(W/2)) in [0, 1]: 4 pixel-unshuffled luma channels, U, V.
    """
    for name, plane in (("Y", y), ("U", u), ("V", v)):
        _check_plane(name, plane)
    dev = torch.device(device) if device is not None else torch.device("cpu")
    scale = 1.0 / _max_value(bit_depth)
    height, width = y.shape
    luma = _upload(y, dev)[None, None]
    luma = F.pad(luma, (0, width % 2, 0, height % 2), mode="replicate")
    luma = F.pixel_unshuffle(luma, 2)[0]
    chroma = torch.stack([_chroma_to_420(_upload(u, dev), height, width),
                          _chroma_to_420(_upload(v, dev), height, width)])
    return torch.cat([luma, chroma]).mul_(scale)


def _to_integer(t: Tensor, max_value: int, dtype: np.dtype) -> np.ndarray:
    """Quantise on the tensor's device; only integers are copied back."""
    q = t.mul(max_value).round_().clamp_(0, max_value)
    q = q.to(torch.uint8 if max_value <= 255 else torch.int32).cpu().numpy()
    return q.astype(dtype, copy=False)


def tensor_to_planes(
    t: Tensor,
    height: int,
    width: int,
    bit_depth: int = 8,
    *,
    decoded_chroma: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unpack a (restored) tensor into planes, the inverse of :func:`planes_to_tensor`.

    Args:
        t: (6, ceil(H/2), ceil(W/2)) tensor in [0, 1] (any device; values are clipped and
            quantised there, once).
        height, width: luma size H, W of the frame.
        bit_depth: bits per sample of the output planes.
        decoded_chroma: the frame's decoded (U, V) planes, needed only for 4:2:2/4:4:4 frames:
            chroma then comes back at their size (decoded + upsampled correction).

    Returns:
        (Y, U, V) numpy planes, uint8 for bit depths up to 8 and uint16 above, rounded and
        clipped; Y is (H, W), chroma (ceil(H/2), ceil(W/2)) or the size of ``decoded_chroma``.
    """
    ch, cw = chroma_size(height, width)
    if t.dim() != 3 or tuple(t.shape) != (6, ch, cw):
        raise ValueError(f"expected a (6, {ch}, {cw}) tensor for a {height}x{width} frame, got {tuple(t.shape)}")
    max_value = _max_value(bit_depth)
    dtype = np.uint8 if bit_depth <= 8 else np.uint16
    t = t.detach().float()
    y = F.pixel_shuffle(t[None, :4], 2)[0, 0, :height, :width]
    planes = [_to_integer(y, max_value, dtype)]
    for i in range(2):
        c = t[4 + i]
        if decoded_chroma is not None and decoded_chroma[i].shape != (ch, cw):
            _check_plane("UV"[i], decoded_chroma[i])
            dec = _upload(decoded_chroma[i], t.device) / max_value
            small = _chroma_to_420(dec, height, width)
            correction = F.interpolate((c - small)[None, None], size=dec.shape, mode="bilinear",
                                       align_corners=False)[0, 0]
            c = dec + correction
        planes.append(_to_integer(c, max_value, dtype))
    return planes[0], planes[1], planes[2]


def qp_to_tensor(qp: np.ndarray | None, height: int, width: int, default: float = DEFAULT_QP) -> Tensor:
    """The per-macroblock QP map as the networks take it.

    Args:
        qp: int16 (ceil(H/16), ceil(W/16)) luma QP on the H.264 scale (0..51), or None when the
            stream carries none (then every macroblock gets ``default``).
        height, width: luma size H, W of the frame.
        default: QP used when ``qp`` is None.

    Returns:
        float32 (1, ceil(H/16), ceil(W/16)).
    """
    shape = (math.ceil(height / 16), math.ceil(width / 16))
    if qp is None:
        return torch.full((1, *shape), float(default))
    if qp.shape != shape:
        raise ValueError(f"QP map {qp.shape} does not fit a {height}x{width} frame: expected {shape}")
    return torch.from_numpy(qp.astype(np.float32))[None]


def motion_to_tensor(vectors: np.ndarray, mask: np.ndarray) -> tuple[Tensor, Tensor]:
    """One reference list's block motion as the networks take it.

    Args:
        vectors: float32 (2, ceil(H/8), ceil(W/8)) vectors (dx, dy) in luma pixels.
        mask: bool (ceil(H/8), ceil(W/8)), True where the block has a vector of this list.

    Returns:
        ``(vectors, mask)``: float32 (2, ceil(H/8), ceil(W/8)) with vectors zeroed where the
        mask is False, and float32 (1, ceil(H/8), ceil(W/8)) of 0/1.
    """
    if vectors.ndim != 3 or vectors.shape[0] != 2 or mask.shape != vectors.shape[1:]:
        raise ValueError(f"vectors (2, gh, gw) and mask (gh, gw) expected, got {vectors.shape} and {mask.shape}")
    m = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None]
    v = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32)) * m
    return v, m
