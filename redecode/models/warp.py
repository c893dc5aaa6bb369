"""Differentiable motion compensation with the bitstream's own block vectors.

Vectors come on the decoder's 8x8 luma block grid: (B, 2, ceil(H/8), ceil(W/8)), (dx, dy) in
luma pixels, pixel (x, y) of the current frame predicted from (x + dx, y + dy) of the reference.
A block vector is expanded to a dense field by repeating it over its block's pixels (cropped to
the frame) and the reference is sampled there bilinearly (``grid_sample``); positions outside
the reference take the nearest edge pixel (``padding_mode="border"``, as codecs pad references).

Packed tensors (see :mod:`redecode.models.tensors`) are warped plane by plane, like a decoder
does: the 4 luma channels are pixel-shuffled back to full resolution, warped with the full
vector on 8x8 blocks and unshuffled again (so an integer luma vector is exact, even an odd one);
the 2 chroma channels are warped at their own resolution with the vector halved on 4x4 blocks
(H.264 chroma motion compensation is bilinear too). Luma sub-pel positions are interpolated
bilinearly, an approximation of H.264's 6-tap filter.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["dense_field", "shuffle_into", "warp", "warp_packed", "warp_packed_choice"]


def dense_field(blocks: Tensor, height: int, width: int, block: int) -> Tensor:
    """Expand a block grid to pixels by repetition.

    Args:
        blocks: (B, C, gh, gw) per-block values (vectors or masks), gh * block >= height.
        height, width: size of the dense field.
        block: block side in pixels of the field.

    Returns:
        (B, C, height, width), each block's value repeated over its block x block pixels.
    """
    gh, gw = blocks.shape[-2:]
    if gh * block < height or gw * block < width:
        raise ValueError(f"block grid {gh}x{gw} of {block}-pixel blocks cannot cover {height}x{width}")
    dense = F.interpolate(blocks, scale_factor=block, mode="nearest")
    return dense[..., :height, :width]


def warp(x: Tensor, flow: Tensor, width: int | None = None, offset: Tensor | None = None) -> Tensor:
    """Backward-warp images with a dense field, bilinear, edge pixels replicated outside.

    Args:
        x: (B, C, H, Wx) images; with ``width``, K = Wx / width images side by side.
        flow: (B, 2, H, W) displacement (dx, dy) in pixels: out[:, :, y, x] = x at (x + dx, y + dy).
        width: the width W of one image (default: all of x).
        offset: (B, 1, H, W) which of the side-by-side images each pixel samples (0 .. K-1).

    Returns:
        (B, C, H, W) warped images.
    """
    b, _, h, total = x.shape
    w = total if width is None else width
    # Sample positions in float32 even for half-precision inputs: fp16 cannot hold a sub-pixel
    # position beyond column 1024. Clamping to the image is the border replication of codecs
    # (and keeps side-by-side images apart).
    flow = flow.float()
    ys = torch.arange(h, device=x.device, dtype=torch.float32).view(1, h, 1)
    xs = torch.arange(w, device=x.device, dtype=torch.float32).view(1, 1, w)
    px = (xs + flow[:, 0]).clamp(0, w - 1)
    py = (ys + flow[:, 1]).clamp(0, h - 1)
    if offset is not None:
        px = px + offset[:, 0].float() * w
    return _sample(x, px, py)


def warp_packed(t: Tensor, vectors: Tensor, mask: Tensor | None = None) -> Tensor:
    """Motion-compensate packed frames with block vectors.

    Args:
        t: (B, 6 * k, h, w) k packed frames per sample (e.g. a restored and a decoded reference
            concatenated), each packed as ``planes_to_tensor`` does; batch 1 for frames that
            every sample shares (moved by each sample's own vectors).
        vectors: (B, 2, ceil(2h/8), ceil(2w/8)) block vectors (dx, dy) in luma pixels.
        mask: optional (B, 1, gh, gw) 0/1 block mask; vectors are zeroed where it is 0 (intra
            blocks keep their co-located pixels).

    Returns:
        (B, 6 * k, h, w) warped frames, same packing.
    """
    if t.shape[1] % 6:
        raise ValueError(f"packed tensors have a multiple of 6 channels, got {t.shape[1]}")
    return _warp_candidates([list(t.split(6, dim=1))], vectors, None, mask)


def warp_packed_choice(frames: list[list[Tensor]], vectors: Tensor, choice: Tensor | None,
                       mask: Tensor | None = None) -> Tensor:
    """Motion-compensate packed frames, each block from the candidate ``choice`` names.

    The same result as warping every candidate and picking per block, in one sampling pass over
    the candidates laid side by side.

    Args:
        frames: K candidates, each k packed frames (B, 6, h, w) (e.g. an anchor as restored
            and as decoded), or all (1, 6, h, w) when the whole batch shares them.
        vectors: (B, 2, ceil(2h/8), ceil(2w/8)) block vectors in luma pixels.
        choice: (B, 1, gh, gw) candidate index per block (None: the first candidate everywhere).
        mask: optional (B, 1, gh, gw) 0/1 block mask (vectors zeroed where 0).

    Returns:
        (B, 6 * k, h, w): the k frames moved, concatenated.
    """
    return _warp_candidates(frames, vectors, choice, mask)


def _warp_candidates(frames: list[list[Tensor]], vectors: Tensor, choice: Tensor | None,
                     mask: Tensor | None) -> Tensor:
    """:func:`warp_packed_choice`; ``choice`` None: the first (only) candidate everywhere.

    The luma is sampled at full resolution (the candidates' 4 luma channels pixel-shuffled and
    written side by side into one buffer) with a grid whose rows are already in packed order:
    output row ``p * h + y``, column ``x`` is luma pixel (2y + p // 2, 2x + p % 2) moved by its
    block's vector, so the result is the packed luma without unshuffling. Chroma reuses the same
    packed-grid field, halved.
    """
    ref = frames[0][0]
    nb, c, h, w = ref.shape  # nb: B, or 1 for candidates the batch shares
    b = vectors.shape[0]
    k = len(frames[0])
    if c != 6 or any(len(f) != k or any(t.shape != ref.shape for t in f) for f in frames):
        raise ValueError("every candidate must be the same number of packed (B, 6, h, w) frames")
    if mask is not None:
        vectors = vectors * mask
    field = dense_field(vectors, h, w, 4).float()  # (B, 2, h, w): 4 packed positions per 8-pixel block
    pick = None if choice is None else dense_field(choice.to(torch.float32), h, w, 4)[:, 0]  # (B, h, w)
    n = len(frames)
    luma = ref.new_empty((nb, k, 2 * h, n * 2 * w))  # candidates side by side
    chroma = ref.new_empty((nb, 2 * k, h, n * w))
    for j, frame in enumerate(frames):
        for i, t in enumerate(frame):
            shuffle_into(luma[:, i, :, j * 2 * w:(j + 1) * 2 * w], t)
            chroma[:, 2 * i:2 * i + 2, :, j * w:(j + 1) * w] = t[:, 4:]
    ys = torch.arange(h, device=field.device, dtype=torch.float32).view(1, 1, h, 1)
    xs = torch.arange(w, device=field.device, dtype=torch.float32).view(1, 1, 1, w)
    # phase p = 2 * dy + dx of the luma pixel within its 2x2 (pixel_unshuffle's channel order)
    dy = torch.tensor([0.0, 0.0, 1.0, 1.0], device=field.device).view(1, 4, 1, 1)
    dx = torch.tensor([0.0, 1.0, 0.0, 1.0], device=field.device).view(1, 4, 1, 1)
    luma_x = (2 * xs + dx + field[:, :1]).clamp(0, 2 * w - 1)  # (B, 4, h, w)
    luma_y = (2 * ys + dy + field[:, 1:]).clamp(0, 2 * h - 1)
    chroma_x = (xs[:, 0] + 0.5 * field[:, 0]).clamp(0, w - 1)  # (B, h, w)
    chroma_y = (ys[:, 0] + 0.5 * field[:, 1]).clamp(0, h - 1)
    if pick is not None:
        luma_x = luma_x + (pick * (2 * w))[:, None]
        chroma_x = chroma_x + pick * w
    # shared candidates are sampled through a stride-0 view: prepared once, not once per frame
    luma = _sample(luma.expand(b, -1, -1, -1), luma_x.reshape(b, 4 * h, w), luma_y.reshape(b, 4 * h, w))
    chroma = _sample(chroma.expand(b, -1, -1, -1), chroma_x, chroma_y)  # (B, 2k, h, w)
    out = torch.cat([luma.view(b, k, 4, h, w), chroma.view(b, k, 2, h, w)], dim=2)
    return out.view(b, 6 * k, h, w)


def shuffle_into(dst: Tensor, t: Tensor) -> None:
    """Write the full-resolution luma of packed frames t (B, 6 or 4, h, w) into dst (B, 2h, 2w),
    any strides: ``pixel_shuffle`` of the 4 luma channels in one strided copy, no temporary."""
    b, _, h, w = t.shape
    dst.unflatten(1, (h, 2)).unflatten(3, (w, 2)).copy_(t[:, :4].unflatten(1, (2, 2)).permute(0, 3, 1, 4, 2))


def _sample(x: Tensor, px: Tensor, py: Tensor) -> Tensor:
    """Bilinear samples of x (B, C, H, W) at pixel positions px, py (B, Ho, Wo), inside it."""
    total, height = x.shape[-1], x.shape[-2]
    grid = torch.stack((px * (2.0 / max(total - 1, 1)) - 1.0, py * (2.0 / max(height - 1, 1)) - 1.0), dim=-1)
    out = F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.to(x.dtype)
