"""Differentiable motion compensation with the bitstream's own block vectors.

Vectors come on the decoder's 8x8 luma block grid: (B, 2, ceil(H/8), ceil(W/8)), (dx, dy) in
luma pixels, pixel (x, y) of the current frame predicted from (x + dx, y + dy) of the reference,
bilinearly; positions outside the reference take the nearest edge pixel (as codecs pad
references).

Packed tensors (see :mod:`redecode.models.tensors`) are warped plane by plane, like a decoder
does: the 4 luma channels are pixel-shuffled back to full resolution, warped with the full
vector on 8x8 blocks and unshuffled again (so an integer luma vector is exact, even an odd one);
the 2 chroma channels are warped at their own resolution with the vector halved on 4x4 blocks
(H.264 chroma motion compensation is bilinear too). Luma sub-pel positions are interpolated
bilinearly, an approximation of H.264's 6-tap filter. A block moves as a whole: one gathered
window per block, weighed by its vector's fraction (:func:`_sample_blocks`). :func:`warp` moves
images by a dense per-pixel field instead (``grid_sample``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["dense_field", "shuffle_into", "stack_candidates", "warp", "warp_packed", "warp_packed_choice", "warp_stacked"]


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


def warp(x: Tensor, flow: Tensor) -> Tensor:
    """Backward-warp images with a dense field, bilinear, edge pixels replicated outside.

    Args:
        x: (B, C, H, W) images.
        flow: (B, 2, H, W) displacement (dx, dy) in pixels: out[:, :, y, x] = x at (x + dx, y + dy).

    Returns:
        (B, C, H, W) warped images.
    """
    _, _, h, w = x.shape
    # Sample positions in float32 even for half-precision inputs: fp16 cannot hold a sub-pixel
    # position beyond column 1024. Clamping to the image is the border replication of codecs.
    flow = flow.float()
    ys = torch.arange(h, device=x.device, dtype=torch.float32).view(1, h, 1)
    xs = torch.arange(w, device=x.device, dtype=torch.float32).view(1, 1, w)
    px = (xs + flow[:, 0]).clamp(0, w - 1)
    py = (ys + flow[:, 1]).clamp(0, h - 1)
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
    return warp_packed_choice([list(t.split(6, dim=1))], vectors, None, mask)


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
    return warp_stacked(*stack_candidates(frames), frames[0][0].shape[-1], vectors, choice, mask)


def stack_candidates(frames: list[list[Tensor]]) -> tuple[Tensor, Tensor]:
    """Candidates laid side by side, the form :func:`warp_stacked` reads them in.

    Args:
        frames: K candidates, each k packed frames (nb, 6, h, w), all the same shape.

    Returns:
        ``(luma, chroma)``: (nb, k, 2h, K * 2w) the frames' luma at full resolution
        (pixel-shuffled) and (nb, 2k, h, K * w) their chroma; candidate j at columns j * 2w
        (luma) and j * w (chroma).
    """
    ref = frames[0][0]
    nb, c, h, w = ref.shape
    k = len(frames[0])
    if c != 6 or any(len(f) != k or any(t.shape != ref.shape for t in f) for f in frames):
        raise ValueError("every candidate must be the same number of packed (B, 6, h, w) frames")
    n = len(frames)
    luma = ref.new_empty((nb, k, 2 * h, n * 2 * w))
    chroma = ref.new_empty((nb, 2 * k, h, n * w))
    for j, frame in enumerate(frames):
        for i, t in enumerate(frame):
            shuffle_into(luma[:, i, :, j * 2 * w:(j + 1) * 2 * w], t)
            chroma[:, 2 * i:2 * i + 2, :, j * w:(j + 1) * w] = t[:, 4:]
    return luma, chroma


def warp_stacked(luma: Tensor, chroma: Tensor, width: int, vectors: Tensor, choice: Tensor | None,
                 mask: Tensor | None = None) -> Tensor:
    """:func:`warp_packed_choice` on candidates already laid out by :func:`stack_candidates`.

    Every block is read as one window (:func:`_sample_blocks`); the luma windows are rearranged
    into the packed phases directly.

    Args:
        luma, chroma: the candidates side by side, as :func:`stack_candidates` returns them.
        width: packed width w of one candidate.
        vectors, choice, mask: as :func:`warp_packed_choice`.

    Returns:
        (B, 6 * k, h, w): the k frames moved, concatenated.
    """
    k, h = luma.shape[1], chroma.shape[-2]
    b, _, gh, gw = vectors.shape
    if gh * 4 < h or gw * 4 < width:
        raise ValueError(f"block grid {gh}x{gw} cannot cover packed frames of {h}x{width}")
    if mask is not None:
        vectors = vectors * mask
    vectors = vectors.float()
    pick = None if choice is None else choice[:, 0]
    # luma: 8x8 full-resolution blocks, window (y4, py, x4, px) -> packed phase 2 * py + px
    moved = _sample_blocks(luma, vectors, pick, 8, 2 * width)  # (k, B, gh, gw, 8, 8)
    moved = moved.view(k, b, gh, gw, 4, 2, 4, 2).permute(1, 0, 5, 7, 2, 4, 3, 6).reshape(b, k, 4, gh * 4, gw * 4)
    # chroma: 4x4 blocks at its own resolution, the vector halved
    tint = _sample_blocks(chroma, vectors * 0.5, pick, 4, width)  # (2k, B, gh, gw, 4, 4)
    tint = tint.permute(1, 0, 2, 4, 3, 5).reshape(b, k, 2, gh * 4, gw * 4)
    return torch.cat([moved, tint], dim=2)[..., :h, :width].reshape(b, 6 * k, h, width)


def _sample_blocks(src: Tensor, shift: Tensor, choice: Tensor | None, size: int, width: int) -> Tensor:
    """Bilinear samples of blocks moved by one displacement each, edges replicated.

    Every output block of ``size`` x ``size`` pixels shares its displacement, so its integer
    part picks one (size + 1)-square window of the source (a single gather) and its fraction
    weighs the window's neighbours the same everywhere: exact bilinear interpolation, with the
    sample positions clamped to the candidate's own picture (as ``grid_sample``'s border
    padding, on coordinates clamped first, gives).

    Args:
        src: (nb, C, H, n * width) n candidate pictures side by side; nb = B, or 1 when the whole
            batch shares them.
        shift: (B, 2, gh, gw) float32 displacement (dx, dy) in ``src`` pixels per block; output
            pixel (y, x) is ``src`` at (x + dx, y + dy) of its candidate.
        choice: (B, gh, gw) the candidate of each block (None: the first).
        size: block side in output pixels.
        width: the width of one candidate.

    Returns:
        (C, B, gh, gw, size, size) blocks, in ``src``'s dtype.
    """
    nb, channels, height, total = src.shape
    b, _, gh, gw = shift.shape
    whole = shift.floor()
    fraction = (shift - whole).to(torch.float32)
    whole = whole.to(torch.int32)
    taps = torch.arange(size + 1, dtype=torch.int32, device=src.device)
    cols = (torch.arange(gw, dtype=torch.int32, device=src.device) * size).view(1, 1, gw, 1) + whole[:, 0, ..., None] + taps
    rows = (torch.arange(gh, dtype=torch.int32, device=src.device) * size).view(1, gh, 1, 1) + whole[:, 1, ..., None] + taps
    cols = cols.clamp_(0, width - 1)  # (B, gh, gw, size + 1)
    rows = rows.clamp_(0, height - 1)
    if choice is not None:
        cols += (choice.to(torch.int32) * width)[..., None]
    if nb > 1:
        rows += (torch.arange(b, dtype=torch.int32, device=src.device) * height).view(b, 1, 1, 1)
    index = rows.mul_(total)[..., :, None] + cols[..., None, :]  # (B, gh, gw, size + 1, size + 1)
    flat = src.transpose(0, 1).reshape(channels, nb * height * total)
    win = flat.index_select(1, index.view(-1)).view(channels, b, gh, gw, size + 1, size + 1).float()
    across = torch.lerp(win[..., :-1], win[..., 1:], fraction[:, 0, :, :, None, None])
    return torch.lerp(across[..., :-1, :], across[..., 1:, :], fraction[:, 1, :, :, None, None]).to(src.dtype)


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
