"""Random training runs: consecutive frames of a clip, cropped on the macroblock grid.

A clip is packed once when it is loaded (:class:`ClipTensors`: the networks' packed layout,
kept as integers so hundreds of clips fit in memory) and every sample is a view into it. A
:class:`Run` is a window of consecutive frames (the ones scored) plus the references they need
that lie outside the window, in the order the pipeline's scheduler restores them: anchors in
display order, then B-frames. References and list-0 candidates follow
:func:`redecode.pipeline.gop.reference_plan` and :data:`redecode.models.LIST0_CANDIDATES`, as at
inference.
"""

from __future__ import annotations

import glob
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..coding import LIST0_CANDIDATES, codec_family
from ..pipeline.gop import is_anchor, reference_plan
from .clips import Clip, clip_shape, load_clip
from .config import TrainError

__all__ = ["ClipTensors", "Run", "Sampler", "expand_paths", "make_run"]


@dataclass
class ClipTensors:
    """A clip in the networks' packed layout (see ``redecode.models.tensors``).

    Attributes:
        decoded, pristine: (T, 6, h, w) integer packed frames (uint8, or int16 above 8 bits).
        qp: (T, 1, ceil(H/16), ceil(W/16)) float32 luma QP.
        vectors: (T, 2, 2, ceil(H/8), ceil(W/8)) float32 block vectors of lists 0 and 1,
            zero where absent.
        masks: (T, 2, 1, ceil(H/8), ceil(W/8)) float32, 1 where the block has a vector.
        letters: frame types "I"/"P"/"B", display order.
        plan: ``reference_plan(letters)`` of the whole clip.
        bit_depth, height, width: sample depth and luma size.
        family: the codec family (``redecode.coding.CodecFamily``) of the clip's encoder.
    """

    decoded: Tensor
    pristine: Tensor
    qp: Tensor
    vectors: Tensor
    masks: Tensor
    letters: list[str]
    plan: list[tuple[int | None, int | None]]
    bit_depth: int
    height: int
    width: int
    family: int = 0

    @classmethod
    def from_clip(cls, clip: Clip) -> ClipTensors:
        """Pack a clip (its luma pixel-unshuffled, exactly as ``planes_to_tensor`` does)."""
        np_type = np.uint8 if clip.bit_depth <= 8 else np.int16

        def pack(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> Tensor:
            _, h, w = y.shape
            luma = torch.from_numpy(y.astype(np_type))[:, None]
            if h % 2 or w % 2:
                luma = F.pad(luma.float(), (0, w % 2, 0, h % 2), mode="replicate").to(luma.dtype)
            chroma = torch.from_numpy(np.stack([u, v], axis=1).astype(np_type))
            return torch.cat([F.pixel_unshuffle(luma, 2), chroma], dim=1).contiguous()

        letters = clip.type_letters
        return cls(
            decoded=pack(clip.dec_y, clip.dec_u, clip.dec_v),
            pristine=pack(clip.src_y, clip.src_u, clip.src_v),
            qp=torch.from_numpy(clip.qp.astype(np.float32))[:, None],
            vectors=torch.from_numpy(np.stack([clip.l0 * clip.l0_mask[:, None], clip.l1 * clip.l1_mask[:, None]],
                                              axis=1).astype(np.float32)),
            masks=torch.from_numpy(np.stack([clip.l0_mask, clip.l1_mask], axis=1)[:, :, None].astype(np.float32)),
            letters=letters, plan=reference_plan(letters), bit_depth=clip.bit_depth,
            height=clip.height, width=clip.width, family=int(codec_family(clip.codec)))

    @property
    def length(self) -> int:
        return len(self.letters)

    def crop(self, top: int, left: int, height: int, width: int) -> ClipTensors:
        """A view of a window on the macroblock grid (``top``/``left`` multiples of 16)."""
        if top % 16 or left % 16:
            raise ValueError(f"crop origin ({top}, {left}) must be a multiple of 16")
        bottom, right = min(top + height, self.height), min(left + width, self.width)
        p = (slice(None), slice(None), slice(top // 2, (bottom + 1) // 2), slice(left // 2, (right + 1) // 2))
        q = (slice(None), slice(None), slice(top // 16, math.ceil(bottom / 16)), slice(left // 16, math.ceil(right / 16)))
        m = (slice(None), slice(None), slice(None), slice(top // 8, math.ceil(bottom / 8)),
             slice(left // 8, math.ceil(right / 8)))
        return ClipTensors(self.decoded[p], self.pristine[p], self.qp[q], self.vectors[m], self.masks[m],
                           self.letters, self.plan, self.bit_depth, bottom - top, right - left, self.family)

    def scale(self) -> float:
        return 1.0 / ((1 << self.bit_depth) - 1)

    def decoded_frame(self, t: int) -> Tensor:
        """(6, h, w) float32 in [0, 1], equal to ``planes_to_tensor`` of the decoded planes."""
        return self.decoded[t].float().mul_(self.scale())

    def pristine_frame(self, t: int) -> Tensor:
        return self.pristine[t].float().mul_(self.scale())

    def has_list(self, t: int, index: int) -> bool:
        return bool(self.masks[t, index].any())


@dataclass
class Run:
    """Frames of one clip restored together, in restoration order."""

    clip: ClipTensors
    window: frozenset[int]  # frames that are scored
    order: list[int] = field(default_factory=list)  # window frames plus out-of-window references

    def references(self, t: int) -> tuple[int | None, int | None]:
        """The plan's references of frame t, dropping lists the frame has no vector of (such a
        list contributes exactly nothing to the frame: see ``models.Reference``)."""
        r0, r1 = self.clip.plan[t]
        return (r0 if r0 is not None and self.clip.has_list(t, 0) else None,
                r1 if r1 is not None and self.clip.has_list(t, 1) else None)

    def candidates(self, t: int) -> list[int]:
        """Anchors frame t's list-0 vectors may point into, nearest first: the scheduler's
        history at that frame (up to LIST0_CANDIDATES anchors before it)."""
        r0 = self.references(t)[0]
        if r0 is None:
            return []
        before = [a for a in range(r0, -1, -1) if is_anchor(self.clip.letters[a])]
        return before[:LIST0_CANDIDATES]


def make_run(clip: ClipTensors, start: int, length: int, references: bool = True) -> Run:
    """A run over frames ``start`` .. ``start + length - 1`` with its outside references added
    (none when ``references`` is False: every frame then goes through the intra path)."""
    window = frozenset(range(start, start + length))
    run = Run(clip, window)
    frames = set(window)
    if references:
        frames.update(r for t in window for r in run.references(t) if r is not None)
        frames.update(c for t in window for c in run.candidates(t))
    anchors = sorted(t for t in frames if is_anchor(clip.letters[t]))
    run.order = anchors + sorted(t for t in frames if not is_anchor(clip.letters[t]))
    return run


class Sampler:
    """Random runs from clip files: a clip, a start frame, a crop on the macroblock grid."""

    def __init__(self, paths: Sequence[str], crop: int, seq_len: int, cache: int) -> None:
        self.paths = list(paths)
        shapes = [clip_shape(p) for p in self.paths]
        min_h = min(s[1] for s in shapes) // 16 * 16
        min_w = min(s[2] for s in shapes) // 16 * 16
        self.crop = (min(crop, min_h), min(crop, min_w))
        if min(self.crop) < 16:
            raise TrainError("training clips must be at least 16x16 pixels")
        self.seq_len = seq_len
        self._load = lru_cache(maxsize=cache)(self._read)

    def _read(self, index: int) -> ClipTensors:
        return ClipTensors.from_clip(load_clip(self.paths[index]))

    def sample(self, rng: np.random.Generator, batch: int, references: bool = True) -> list[Run]:
        runs = []
        ch, cw = self.crop
        for _ in range(batch):
            clip = self._load(int(rng.integers(len(self.paths))))
            length = min(self.seq_len, clip.length)
            start = int(rng.integers(0, clip.length - length + 1))
            top = 16 * int(rng.integers(0, (clip.height - ch) // 16 + 1))
            left = 16 * int(rng.integers(0, (clip.width - cw) // 16 + 1))
            runs.append(make_run(clip.crop(top, left, ch, cw), start, length, references))
        return runs


def expand_paths(patterns: Sequence[str]) -> list[str]:
    """Files matching glob patterns, sorted; a pattern matching nothing is an error."""
    paths: list[str] = []
    for pattern in patterns:
        found = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
        if not found:
            raise TrainError(f"no clip files match {pattern!r}")
        paths.extend(found)
    return paths
