"""The one restoration step: what inference, the training unroll and validation all run.

Given a batch of decoded frames and, per reference list, the restored anchors its vectors may
point into, the step aligns each list once (:func:`select_reference`: block by block, the
candidate whose motion-compensated decode matches best), runs the network (in overlapping tiles
when frames are large) and clamps the result to [0, 1], the range a restored frame has when it
serves as a reference. Whether a frame predicts from a list is decided per frame, from its own
mask, never per batch, so a frame's output does not depend on its batch-mates. The model's
safety gate (``model.gate``, see :mod:`redecode.models.gate`) and the user's strength scale the
correction per macroblock before the clamp.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..coding import LIST0_CANDIDATES
from .gate import Gate
from .net import Reference
from .refselect import select_reference
from .warp import dense_field

__all__ = ["LIST0_CANDIDATES", "Candidates", "align", "gated", "restore_step"]



@dataclass
class Candidates:
    """One reference list of a batch: the anchors it may point into and the block vectors.

    Attributes:
        restored: candidate anchors as restored, nearest first, each (B, 6, h, w), or all
            (1, 6, h, w) when every frame of the batch has the same anchors.
        decoded: the same anchors as decoded, shaped as ``restored``.
        vectors: (B, 2, ceil(H/8), ceil(W/8)) block vectors (dx, dy) in luma pixels.
        mask: (B, 1, ceil(H/8), ceil(W/8)) 1 where the block has a vector of this list; a frame
            whose mask is all zero does not use the list.
    """

    restored: list[Tensor]
    decoded: list[Tensor]
    vectors: Tensor
    mask: Tensor


def restore_step(
    model: nn.Module,
    decoded: Tensor,
    qp: Tensor,
    frame_type: Tensor,
    l0: Candidates | None = None,
    l1: Candidates | None = None,
    *,
    tile: int = 0,
    tile_margin: int = 48,
    strength: float = 1.0,
    family: Tensor | None = None,
) -> Tensor:
    """Restore a batch of frames.

    Args:
        model: a restoration network (``forward(decoded, qp, frame_type, l0, l1)``).
        decoded: (B, 6, h, w) decoded frames, packed.
        qp: (B, 1, ceil(H/16), ceil(W/16)) luma QP per macroblock.
        frame_type: (B,) long, 0 = I, 1 = P, 2 = B.
        l0, l1: the lists' candidates, or None.
        tile: largest side (packed pixels) run in one piece; larger frames go in overlapping
            tiles so memory stays bounded (0: never tile).
        tile_margin: overlap of the tiles on each side, packed pixels.
        strength: share of the (gated) correction kept, 0 (the decode) to 1.
        family: (B,) codec family of each frame (``redecode.coding.CodecFamily``; None: all 0).

    Returns:
        (B, 6, h, w) restored frames in [0, 1].
    """
    refs = align(decoded, l0, l1)
    if family is None:
        family = frame_type.new_zeros(frame_type.shape)
    out = _run(model, decoded, qp, frame_type, refs[0], refs[1], family, tile, tile_margin)
    return gated(model, decoded, qp, frame_type, family, out, strength)


def align(decoded: Tensor, l0: Candidates | None, l1: Candidates | None) -> list[Reference | None]:
    """The start of the step: each list's candidates aligned into one reference
    (:func:`select_reference`), or None for a list that is absent."""
    return [None if c is None else select_reference(decoded, c.restored, c.decoded, c.vectors, c.mask)
            for c in (l0, l1)]


def gated(model: nn.Module, decoded: Tensor, qp: Tensor, frame_type: Tensor, family: Tensor, out: Tensor,
          strength: float = 1.0) -> Tensor:
    """The end of the step: the model's output ``out`` (B, 6, h, w) with its correction scaled by
    the model's gate and ``strength``, clamped to [0, 1]. Other arguments as :func:`restore_step`."""
    gate: Gate | None = getattr(model, "gate", None)
    if gate is not None or strength != 1.0:
        scale = gate.lookup(qp, frame_type, family, decoded) if gate is not None else qp.new_ones(qp.shape)
        _, _, h, w = decoded.shape
        out = decoded + (out - decoded) * dense_field(scale * strength, h, w, 8).to(out.dtype)
    return out.clamp(0.0, 1.0)


def _run(model: nn.Module, decoded: Tensor, qp: Tensor, frame_type: Tensor, l0: Reference | None,
         l1: Reference | None, family: Tensor, size: int, margin: int) -> Tensor:
    """The model on whole frames, or on overlapping tiles when frames are large.

    References are already moved into place, so a tile needs only the same window of every
    input. Tiles start on the macroblock grid (8 packed pixels) and overlap by ``margin`` on
    each side; only their centres are kept. A model with ``whole_frames`` set (``classic``)
    bounds its own memory and always gets whole frames.
    """
    _, _, h, w = decoded.shape
    if not size or (h <= size and w <= size) or getattr(model, "whole_frames", False):
        return model(decoded, qp, frame_type, l0, l1, family)
    out = decoded.new_empty(decoded.shape)
    for y0 in range(0, h, size):
        for x0 in range(0, w, size):
            ty, tx = max(0, y0 - margin) // 8 * 8, max(0, x0 - margin) // 8 * 8
            by, bx = min(h, y0 + size + margin), min(w, x0 + size + margin)

            def win(t: Tensor, cell: int) -> Tensor:
                return t[..., ty // cell: -(-by // cell), tx // cell: -(-bx // cell)]

            refs = [None if r is None else Reference(win(r.restored, 1), win(r.decoded, 1), win(r.mask, 4), r.present)
                    for r in (l0, l1)]
            part = model(win(decoded, 1), win(qp, 8), frame_type, *refs, family)
            ye, xe = min(h, y0 + size), min(w, x0 + size)
            out[..., y0:ye, x0:xe] = part[..., y0 - ty: ye - ty, x0 - tx: xe - tx]
    return out
