"""Which already-restored frames a frame is corrected from (its references).

The bitstream's motion vectors say only *which list* a block predicts from
(list 0: the past, list 1: the future), not which reference picture. redecode
uses the usual approximation: list 0 is the nearest earlier *anchor* (I or P
frame) in display order and list 1 the nearest later anchor. B-frames are
never references, so the B-frames between two anchors depend on those two
anchors only and can be restored together. Training and inference share this
rule (``tools/train.py`` calls :func:`reference_plan`).
"""

from __future__ import annotations

from collections.abc import Sequence

ANCHOR_TYPES = frozenset({"I", "P"})


def is_anchor(pict_type: str) -> bool:
    """True for frame types that later frames are restored from (I and P)."""
    return pict_type in ANCHOR_TYPES


def reference_plan(types: Sequence[str]) -> list[tuple[int | None, int | None]]:
    """Reference indices for every frame of a sequence in display order.

    Args:
        types: frame types ("I", "P" or "B") in display order.

    Returns:
        One ``(l0, l1)`` pair per frame: display indices of the list-0 and
        list-1 reference anchors, or None where the frame has none (I-frames;
        a P-frame before any anchor; a B-frame at either end of the stream).
    """
    plan: list[tuple[int | None, int | None]] = []
    prev: int | None = None
    next_anchor: list[int | None] = [None] * len(types)
    upcoming: int | None = None
    for i in range(len(types) - 1, -1, -1):
        next_anchor[i] = upcoming
        if is_anchor(types[i]):
            upcoming = i
    for i, t in enumerate(types):
        if t == "I":
            plan.append((None, None))
        elif t == "P":
            plan.append((prev, None))
        else:
            plan.append((prev, next_anchor[i]))
        if is_anchor(t):
            prev = i
    return plan
