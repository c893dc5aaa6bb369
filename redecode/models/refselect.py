"""Which earlier frame a block's list-0 vector points into: chosen by matching.

The bitstream's vectors say only "list 0" or "list 1", not which reference picture; x264's
default of 3 references makes about a quarter of P-frame blocks predict from an anchor other
than the nearest (measured on sample clips, see docs/benchmarks.md). For every 8x8 block we
warp each candidate anchor's *decoded* frame with the block's vector and keep the candidate
whose prediction is closest to the current decoded block (sum of absolute luma differences),
which is what the encoder's choice most likely was. The chosen blocks of the candidates'
restored and decoded frames are assembled into one already-aligned reference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .net import Reference
from .warp import dense_field, stack_candidates, warp_stacked

__all__ = ["select_reference"]

#: A farther candidate must beat the nearer one by this factor (ties go to the nearest).
FARTHER_PENALTY = 1.05


def select_reference(
    current: Tensor,
    restored: list[Tensor],
    decoded: list[Tensor],
    vectors: Tensor,
    mask: Tensor,
) -> Reference:
    """Assemble a motion-compensated reference from candidate anchors, block by block.

    Args:
        current: (B, 6, h, w) the decoded frame being restored (packed).
        restored: candidate references as restored, nearest first, each (B, 6, h, w), or all
            (1, 6, h, w) when the whole batch shares them (as frames between the same anchors).
        decoded: the same candidates as decoded, each (B, 6, h, w) or (1, 6, h, w) as ``restored``.
        vectors: (B, 2, ceil(H/8), ceil(W/8)) block vectors (dx, dy) in luma pixels.
        mask: (B, 1, ceil(H/8), ceil(W/8)) 1 where the block has a vector of this list.

    Returns:
        A :class:`Reference` whose frames are moved into place, with the given mask.
    """
    b, _, h, w = current.shape
    gh, gw = mask.shape[-2:]
    k = len(decoded)
    luma, chroma = stack_candidates([[r, d] for r, d in zip(restored, decoded)])
    if k == 1:
        best = warp_stacked(luma, chroma, w, vectors, None, mask)
    else:
        # costs from the candidates' decoded luma alone (a view of the stacked planes), on every
        # other pixel of each 8x8 block (the top-left pixel of each 2x2, i.e. packed channel 0):
        # a quarter of the sampling; the candidates are the channels of one sampling pass (they
        # share the vectors)
        seen = luma[:, 1].unflatten(2, (k, 2 * w)).transpose(1, 2)  # (nb, K, H, W)
        diff = (_sample_even(seen.expand(b, -1, -1, -1), vectors * mask, h, w) - current[:, :1]).abs()
        pad = (0, gw * 4 - w, 0, gh * 4 - h)
        diff = F.pad(diff, pad, mode="replicate") if pad[1] or pad[3] else diff
        penalty = torch.tensor([FARTHER_PENALTY ** i for i in range(k)], dtype=diff.dtype, device=diff.device)
        costs = F.avg_pool2d(diff, 4) * penalty.view(1, k, 1, 1)  # (B, K, gh, gw)
        choice = costs.argmin(dim=1, keepdim=True)  # (B, 1, gh, gw)
        best = warp_stacked(luma, chroma, w, vectors, choice, mask)
    return Reference(restored=best[:, :6], decoded=best[:, 6:], mask=mask)


def _sample_even(luma: Tensor, vectors: Tensor, h: int, w: int) -> Tensor:
    """Full-resolution luma planes (B, K, H, W) motion-compensated at the even positions
    (2y, 2x) only: (B, K, h, w), each with its block's vector, bilinear, edges replicated."""
    H, W = luma.shape[-2:]
    field = dense_field(vectors, h, w, 4).float()  # packed grid: 4 positions per 8-pixel block
    ys = torch.arange(h, device=luma.device, dtype=torch.float32).view(1, h, 1) * 2
    xs = torch.arange(w, device=luma.device, dtype=torch.float32).view(1, 1, w) * 2
    px = (xs + field[:, 0]).clamp(0, W - 1) * (2.0 / max(W - 1, 1)) - 1.0
    py = (ys + field[:, 1]).clamp(0, H - 1) * (2.0 / max(H - 1, 1)) - 1.0
    grid = torch.stack((px, py), dim=-1)
    out = F.grid_sample(luma.float(), grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.to(luma.dtype)
