"""The differentiable block warp: known vectors reproduce known motion."""

from __future__ import annotations

import numpy as np
import torch

import torch.nn.functional as F

from redecode.models import dense_field, planes_to_tensor, warp, warp_packed
from redecode.models.warp import warp_packed_choice


def _shift(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """out[y, x] = image[y + dy, x + dx], edges clamped (what a codec's prediction does)."""
    h, w = image.shape
    ys = np.clip(np.arange(h) + dy, 0, h - 1)
    xs = np.clip(np.arange(w) + dx, 0, w - 1)
    return image[np.ix_(ys, xs)]


def _frame(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (rng.integers(0, 256, (h, w), dtype=np.uint8),
            rng.integers(0, 256, ((h + 1) // 2, (w + 1) // 2), dtype=np.uint8),
            rng.integers(0, 256, ((h + 1) // 2, (w + 1) // 2), dtype=np.uint8))


def test_dense_field_repeats_blocks_and_crops() -> None:
    blocks = torch.arange(6, dtype=torch.float32).view(1, 1, 2, 3)
    field = dense_field(blocks, 13, 21, 8)
    assert field.shape == (1, 1, 13, 21)
    assert field[0, 0, 0, 0] == 0 and field[0, 0, 7, 7] == 0 and field[0, 0, 8, 8] == 4
    assert field[0, 0, 12, 20] == 5


def test_integer_vector_is_exact_on_every_plane() -> None:
    rng = np.random.default_rng(1)
    h, w = 48, 64
    y, u, v = _frame(rng, h, w)
    ref = planes_to_tensor(y, u, v)[None]
    dx, dy = 6, -4  # even: also whole chroma pixels
    vectors = torch.tensor([float(dx), float(dy)]).view(1, 2, 1, 1).expand(1, 2, h // 8, w // 8).contiguous()
    out = warp_packed(ref, vectors, torch.ones(1, 1, h // 8, w // 8))
    expected = planes_to_tensor(_shift(y, dx, dy), _shift(u, dx // 2, dy // 2), _shift(v, dx // 2, dy // 2))
    torch.testing.assert_close(out[0], expected, atol=1e-5, rtol=0)


def test_odd_integer_vector_is_exact_on_luma() -> None:
    """Luma is warped at full resolution, so an odd vector moves whole luma pixels too."""
    rng = np.random.default_rng(2)
    h, w = 37, 65
    y, u, v = _frame(rng, h, w)
    ref = planes_to_tensor(y, u, v)[None]
    gh, gw = (h + 7) // 8, (w + 7) // 8
    vectors = torch.tensor([3.0, 5.0]).view(1, 2, 1, 1).expand(1, 2, gh, gw).contiguous()
    out = warp_packed(ref, vectors)
    # compare in the interior: the odd-size luma is padded to even inside the packing
    expected = planes_to_tensor(_shift(y, 3, 5), u, v)
    torch.testing.assert_close(out[0, :4, :14, :28], expected[:4, :14, :28], atol=1e-5, rtol=0)


def test_per_block_vectors_and_intra_mask() -> None:
    rng = np.random.default_rng(3)
    h, w = 32, 32
    y, u, v = _frame(rng, h, w)
    ref = planes_to_tensor(y, u, v)[None]
    vectors = torch.zeros(1, 2, 4, 4)
    vectors[0, 0, 1, 2] = 2.0  # block (row 1, col 2) moves 2 px right
    vectors[0, 1, 3, 0] = 7.0  # this one is intra: its vector must be ignored
    mask = torch.ones(1, 1, 4, 4)
    mask[0, 0, 3, 0] = 0
    out = warp_packed(ref, vectors, mask)
    luma = torch.nn.functional.pixel_shuffle(out[:, :4], 2)[0, 0] * 255
    expected = y.astype(np.float32).copy()
    expected[8:16, 16:24] = y[8:16, 18:26]
    np.testing.assert_allclose(luma.numpy(), expected, atol=1e-3)


def test_subpel_vector_interpolates() -> None:
    x = torch.arange(16, dtype=torch.float32).repeat(8, 1)[None, None]  # value = column
    flow = torch.zeros(1, 2, 8, 16)
    flow[:, 0] = 0.25
    flow[:, 1] = 0.5
    out = warp(x, flow)
    torch.testing.assert_close(out[0, 0, :, :15], x[0, 0, :, :15] + 0.25)
    # beyond the right edge the last column repeats
    assert torch.allclose(out[0, 0, :, 15], torch.full((8,), 15.0))


def test_borders_replicate() -> None:
    x = torch.rand(1, 3, 10, 12)
    flow = torch.zeros(1, 2, 10, 12)
    flow[:, 0] = -100.0
    flow[:, 1] = 100.0
    out = warp(x, flow)
    expected = x[:, :, -1:, :1].expand(1, 3, 10, 12)
    torch.testing.assert_close(out, expected)


def test_warp_is_differentiable() -> None:
    x = torch.rand(1, 12, 8, 8, requires_grad=True)
    vectors = torch.full((1, 2, 2, 2), 0.5, requires_grad=True)
    warp_packed(x, vectors, torch.ones(1, 1, 2, 2)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert vectors.grad is not None


def test_block_warp_matches_per_pixel_warp_of_each_plane() -> None:
    """The block-by-block warp gives what a per-pixel bilinear warp of every plane gives, for
    sub-pel vectors, vectors far outside the picture, a per-block choice among candidates the
    batch shares, and a size that is no whole number of blocks."""
    g = torch.Generator().manual_seed(4)
    b, h, w = 2, 21, 38  # packed size of a 42x76 frame: 6x10 blocks of 8x8 luma pixels
    gh, gw = 6, 10
    cands = [[torch.rand(1, 6, h, w, generator=g) for _ in range(2)] for _ in range(3)]
    vectors = torch.randint(-24, 25, (b, 2, gh, gw), generator=g) / 4.0
    vectors[0, :, 0, 0] = torch.tensor([-300.0, 250.25])
    mask = (torch.rand(b, 1, gh, gw, generator=g) > 0.2).float()
    choice = torch.randint(0, 3, (b, 1, gh, gw), generator=g)
    out = warp_packed_choice(cands, vectors, choice, mask)

    moved = vectors * mask
    luma_field = dense_field(moved, 2 * h, 2 * w, 8)
    chroma_field = dense_field(moved * 0.5, h, w, 4)
    pick = dense_field(choice.float(), h, w, 4)
    expected = torch.zeros(b, 12, h, w)
    for j, frames in enumerate(cands):
        for i, t in enumerate(frames):
            t = t.expand(b, -1, -1, -1)
            luma = F.pixel_unshuffle(warp(F.pixel_shuffle(t[:, :4], 2), luma_field), 2)
            both = torch.cat([luma, warp(t[:, 4:], chroma_field)], dim=1)
            expected[:, 6 * i:6 * i + 6] += both * (pick == j)
    torch.testing.assert_close(out, expected, atol=1e-4, rtol=0)
