"""Block-wise choice of the list-0 reference among earlier anchors."""

from __future__ import annotations

import torch

from redecode.models import select_reference, warp_packed


def test_each_block_takes_the_candidate_its_vector_matches():
    torch.manual_seed(0)
    h, w = 16, 24  # packed size: luma 32x48, a 4x6 grid of 8x8 blocks
    near, far = torch.rand(1, 6, h, w), torch.rand(1, 6, h, w)
    vectors = torch.zeros(1, 2, 4, 6)
    vectors[0, 0] = 2.0  # every block moved by 2 luma pixels
    mask = torch.ones(1, 1, 4, 6)
    moved_near = warp_packed(near, vectors)
    moved_far = warp_packed(far, vectors)
    # the current frame: left half predicted from the far anchor, right half from the near one
    current = moved_near.clone()
    current[..., : w // 2] = moved_far[..., : w // 2]
    restored = [near + 0.5, far + 0.5]  # distinguishable restored versions
    ref = select_reference(current, restored, [near, far], vectors, mask)
    assert torch.equal(ref.mask, mask) and torch.equal(ref.present, torch.ones(1))
    torch.testing.assert_close(ref.decoded[..., : w // 2], moved_far[..., : w // 2])
    torch.testing.assert_close(ref.decoded[..., w // 2:], moved_near[..., w // 2:])
    torch.testing.assert_close(ref.restored[..., : w // 2], moved_far[..., : w // 2] + 0.5)
    torch.testing.assert_close(ref.restored[..., w // 2:], moved_near[..., w // 2:] + 0.5)


def test_single_candidate_is_the_plain_warp_and_ties_go_to_the_nearest():
    torch.manual_seed(1)
    a = torch.rand(2, 6, 8, 8)
    vectors = torch.rand(2, 2, 2, 2) * 3
    mask = torch.ones(2, 1, 2, 2)
    one = select_reference(a, [a], [a], vectors, mask)
    torch.testing.assert_close(one.decoded, warp_packed(a, vectors, mask))
    same = select_reference(a, [a + 1, a + 2], [a, a], vectors, mask)  # identical decodes
    torch.testing.assert_close(same.restored, warp_packed(a + 1, vectors, mask))


def test_gradients_flow_to_the_chosen_restored_reference():
    a = torch.rand(1, 6, 8, 8, requires_grad=True)
    b = torch.rand(1, 6, 8, 8)
    ref = select_reference(b, [a], [b], torch.zeros(1, 2, 2, 2), torch.ones(1, 1, 2, 2))
    ref.restored.sum().backward()
    assert a.grad is not None and a.grad.abs().sum() > 0


def test_choice_warp_equals_warping_every_candidate_and_picking():
    from redecode.models import dense_field
    from redecode.models.warp import warp_packed_choice

    torch.manual_seed(2)
    h, w = 12, 20  # packed; luma 24x40, a 3x5 grid of blocks
    frames = [torch.rand(2, 12, h, w) for _ in range(3)]
    vectors = (torch.rand(2, 2, 3, 5) - 0.5) * 14  # some point outside the frame
    mask = (torch.rand(2, 1, 3, 5) > 0.2).float()
    choice = torch.randint(0, 3, (2, 1, 3, 5))
    got = warp_packed_choice([list(f.split(6, dim=1)) for f in frames], vectors, choice, mask)
    moved = torch.stack([warp_packed(f, vectors, mask) for f in frames], dim=1)  # (B, K, 12, h, w)
    pick = dense_field(choice.float(), h, w, 4).long()[:, :, None].expand(2, 1, 12, h, w)
    want = moved.gather(1, pick)[:, 0]
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


def test_candidates_shared_by_the_batch_may_come_once():
    """Anchors every frame of a batch shares come with batch 1 (the engine's B-frames between
    the same anchors): the same reference, bitwise, as the candidates repeated per frame."""
    torch.manual_seed(3)
    b, h, w = 3, 12, 20
    current = torch.rand(b, 6, h, w)
    restored = [torch.rand(1, 6, h, w) for _ in range(3)]
    decoded = [r - 0.1 * torch.rand(1, 6, h, w) for r in restored]
    vectors = (torch.rand(b, 2, 3, 5) - 0.5) * 10  # each frame its own vectors
    mask = (torch.rand(b, 1, 3, 5) > 0.2).float()
    for k in (1, 3):  # the plain warp and the block-wise choice
        shared = select_reference(current, restored[:k], decoded[:k], vectors, mask)
        repeated = select_reference(current, [r.expand(b, -1, -1, -1).clone() for r in restored[:k]],
                                    [d.expand(b, -1, -1, -1).clone() for d in decoded[:k]], vectors, mask)
        assert shared.restored.shape == (b, 6, h, w)
        assert torch.equal(shared.restored, repeated.restored) and torch.equal(shared.decoded, repeated.decoded)
