"""The training unroll: restore runs frame by frame with the pipeline's own step, and the loss.

Within a run the frames are restored as the pipeline's scheduler restores them (anchors in
display order, then B-frames), each P/B frame fed the model's *own* restored references through
:func:`redecode.models.restore_step`, the step inference runs (same reference selection,
per-frame list flags, clamping). Gradients flow through restored references unless
``detach_refs``. A reference that lies outside the run is restored first, without gradient,
with its own references stood in for by their decoded frames. Frames of different runs with the
same kinds of reference are batched together (a frame's output does not depend on its batch).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..coding import FrameType
from ..models import Candidates, Reference, restore_step
from ..models.step import align, gated
from .config import TrainConfig
from .sampler import ClipTensors, Run, make_run

#: The "psnr" loss's default floor (0.25 squared 8-bit code values: a 54 dB decode) in [0, 1]
#: units; closed-form fits weigh frames with it too.
PSNR_FLOOR = 0.25 / 255.0 ** 2

__all__ = ["FrameStep", "frame_loss", "group_inputs", "restore_group", "unroll", "walk_clip"]


def restore_group(
    model: nn.Module,
    runs: Sequence[Run],
    restored: Sequence[dict[int, Tensor]],
    items: Sequence[tuple[int, int]],
    device: torch.device,
    detach_refs: bool = False,
    references: bool = True,
) -> Tensor:
    """Restore frames ``(run index, frame index)`` that have the same kinds of reference.

    Args:
        restored: per run, the frames restored so far (frame index -> (6, h, w)).
        references: False restores every frame through the intra path.

    Returns:
        (len(items), 6, h, w) restored frames in [0, 1].
    """
    *inputs, family = group_inputs(runs, restored, items, device, detach_refs, references)
    return restore_step(model, *inputs, family=family)


def group_inputs(
    runs: Sequence[Run],
    restored: Sequence[dict[int, Tensor]],
    items: Sequence[tuple[int, int]],
    device: torch.device,
    detach_refs: bool = False,
    references: bool = True,
) -> tuple[Tensor, Tensor, Tensor, Candidates | None, Candidates | None, Tensor]:
    """The step's inputs for frames of runs: decoded (B, 6, h, w), qp, frame types, l0, l1,
    codec families (B,)."""
    clips = [runs[b].clip for b, _ in items]
    decoded = torch.stack([c.decoded_frame(t) for c, (_, t) in zip(clips, items)]).to(device)
    qp = torch.stack([c.qp[t] for c, (_, t) in zip(clips, items)]).to(device)
    ftype = torch.tensor([FrameType[c.letters[t]] for c, (_, t) in zip(clips, items)], device=device)
    lists: list[Candidates | None] = []
    for li in (0, 1):
        b0, t0 = items[0]
        if not references or runs[b0].references(t0)[li] is None:
            lists.append(None)
            continue
        per_item = [runs[b].candidates(t) if li == 0 else [runs[b].references(t)[1]] for b, t in items]
        k = max(len(c) for c in per_item)
        rest: list[list[Tensor]] = [[] for _ in range(k)]
        dec: list[list[Tensor]] = [[] for _ in range(k)]
        for (b, _), cands in zip(items, per_item):
            cands = cands + [cands[-1]] * (k - len(cands))  # pad: a repeat of the farthest is never chosen
            for j, r in enumerate(cands):
                d = runs[b].clip.decoded_frame(r).to(device)
                rr = restored[b].get(r)
                rr = d if rr is None else (rr.detach() if detach_refs else rr)
                rest[j].append(rr)
                dec[j].append(d)
        vectors = torch.stack([c.vectors[t, li] for c, (_, t) in zip(clips, items)]).to(device)
        mask = torch.stack([c.masks[t, li] for c, (_, t) in zip(clips, items)]).to(device)
        lists.append(Candidates([torch.stack(r) for r in rest], [torch.stack(d) for d in dec], vectors, mask))
    family = torch.tensor([c.family for c in clips], device=device)
    return decoded, qp, ftype, lists[0], lists[1], family


def frame_loss(out: Tensor, target: Tensor, decoded: Tensor, cfg: TrainConfig) -> Tensor:
    """Loss per frame, (B,), over (B, 6, h, w) tensors; chroma channels weighted.

    "psnr" is ``10 log10((MSE(out) + f) / (MSE(decoded) + f))``: minus the frame's ΔPSNR in
    dB over the decode (on all six channels, luma weighing 2:1 by count), so every frame counts
    as the reported mean ΔPSNR counts it, clean ones (static, flat content at 50 dB) as much as
    noisy ones: a 0.4 code-value brightness shift costs 2-3 dB on those. The floor ``f``
    (``cfg.psnr_floor`` in squared 8-bit code values, 0.25: a 54 dB decode) only keeps
    lossless crops finite.
    """
    w = out.new_tensor([1.0, 1.0, 1.0, 1.0, cfg.chroma_weight, cfg.chroma_weight]).view(1, 6, 1, 1)
    d = (out - target).square()
    if cfg.loss == "charbonnier":
        d = torch.sqrt(d + cfg.charbonnier_eps ** 2)
    err = (d * w).mean(dim=(2, 3)).sum(dim=1) / w.sum()
    if cfg.loss != "psnr":
        return err
    ref = ((decoded - target).square() * w).mean(dim=(2, 3)).sum(dim=1) / w.sum()
    floor = cfg.psnr_floor / 255.0 ** 2
    return (10.0 / math.log(10.0)) * torch.log((err + floor) / (ref + floor))


def unroll(model: nn.Module, runs: Sequence[Run], device: torch.device, cfg: TrainConfig,
           teacher: nn.Module | None = None) -> Tensor:
    """Restore every run in order and return the mean loss over their window frames.

    With a ``teacher``, it restores the same frames beside the model (its own references, no
    gradient) and the target is ``cfg.teacher_weight`` of its output, the rest the pristine frame.
    """
    restored: list[dict[int, Tensor]] = [{} for _ in runs]
    taught: list[dict[int, Tensor]] = [{} for _ in runs]
    losses: list[Tensor] = []
    for k in range(max(len(r.order) for r in runs)):
        groups: dict[tuple[bool, bool, bool], list[tuple[int, int]]] = {}
        for b, run in enumerate(runs):
            if k < len(run.order):
                t = run.order[k]
                r0, r1 = run.references(t) if cfg.references else (None, None)
                groups.setdefault((r0 is not None, r1 is not None, t in run.window), []).append((b, t))
        for (_, _, scored), items in groups.items():
            with torch.set_grad_enabled(scored and torch.is_grad_enabled()):
                out = restore_group(model, runs, restored, items, device, cfg.detach_refs, cfg.references)
            for (b, t), o in zip(items, out):
                restored[b][t] = o
            if teacher is not None:
                with torch.no_grad():
                    guide = restore_group(teacher, runs, taught, items, device, True, cfg.references)
                for (b, t), o in zip(items, guide):
                    taught[b][t] = o
            if scored:
                target = torch.stack([runs[b].clip.pristine_frame(t) for b, t in items]).to(device)
                if teacher is not None:
                    target = torch.lerp(target, guide.float(), cfg.teacher_weight)
                decoded = torch.stack([runs[b].clip.decoded_frame(t) for b, t in items]).to(device)
                losses.append(frame_loss(out.float(), target, decoded, cfg))
    return torch.cat(losses).mean()


@dataclass
class FrameStep:
    """One frame of :func:`walk_clip`: the step's inputs with the references already aligned.

    Attributes:
        t: display index; decoded (1, 6, h, w); qp (1, 1, gh, gw); frame_type (1,);
        l0, l1: aligned references (as ``restore_step`` aligns them) or None;
        pristine: (1, 6, h, w) the source frame; family (1,) the codec family;
        raw: (1, 6, h, w) the model's output, before its gate and the clamp;
        max_value: the largest sample value (255 for 8-bit video).
    """

    t: int
    decoded: Tensor
    qp: Tensor
    frame_type: Tensor
    l0: Reference | None
    l1: Reference | None
    pristine: Tensor
    family: Tensor
    raw: Tensor
    max_value: int = 255

    @property
    def weight(self) -> float:
        """1 / (the decode's mean squared error + the psnr floor): summed with this weight,
        squared errors change as the frame's PSNR does (to first order), whatever its QP."""
        mse = float((self.pristine - self.decoded).square().mean())
        return 1.0 / (mse + PSNR_FLOOR)


@torch.no_grad()
def walk_clip(model: nn.Module, clip: ClipTensors) -> Iterator[FrameStep]:
    """Restore a whole clip with ``model`` in the pipeline's order (as ``restore_step``, untiled),
    yielding each frame's inputs and the model's ungated output before the gate's result serves
    as a reference (for closed-form fits: ``classic``, the safety gate)."""
    run = make_run(clip, 0, clip.length)
    restored: dict[int, Tensor] = {}
    device = torch.device("cpu")
    for t in run.order:
        decoded, qp, ftype, c0, c1, family = group_inputs([run], [restored], [(0, t)], device)
        refs = align(decoded, c0, c1)
        raw = model(decoded, qp, ftype, refs[0], refs[1], family)  # restore_step's, untiled
        yield FrameStep(t, decoded, qp, ftype, refs[0], refs[1], clip.pristine_frame(t)[None], family, raw,
                        (1 << clip.bit_depth) - 1)
        restored[t] = gated(model, decoded, qp, ftype, family, raw)[0]
