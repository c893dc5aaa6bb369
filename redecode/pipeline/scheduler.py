"""The streaming core: restore frames in dependency order, hand them out in display order.

Frames arrive in display order. An anchor (I or P) is restored as soon as it arrives, from the
previous restored anchors; the B-frames between two anchors wait for the later one, are restored
together in one batch from both, and leave before it. So a frame leaves as soon as what it
depends on is restored (the delay is the stream's run of B-frames), and only the last few
restored anchors (3 by default) are kept, whatever the video's length. See ``gop.py`` for why
list 0 / list 1 are the nearest anchors.

On a CPU, ``restore`` runs the same dependencies on two one-thread workers
(:func:`restore_in_parallel`): the chain of anchors goes on while the B-frames between the last
two are restored beside it, and frames still leave in display order.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..coding import LIST0_CANDIDATES
from ..decoders import Frame
from .engine import Engine, Packed
from .gop import is_anchor
from .threads import Task, TaskPool


class Sink(Protocol):
    """Where restored frames go: an encoder/muxer (``VideoWriter``) or a raw frame writer."""

    def write(self, frame: Frame, planes: tuple[np.ndarray, ...]) -> None: ...

    def copy_packet(self, packet) -> None: ...


@dataclass
class Restored:
    """A frame on its way out: the decoder's frame (timestamps, type) and the restored planes."""

    frame: Frame
    planes: tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class _Step:
    """One restoration step: frames that share their references (see ``Engine.restore``)."""

    items: list[Packed]
    l0: list[Packed]
    l1: list[Packed]


def _plan(frames: Iterable[Frame], engine: Engine, max_batch: int,
          max_waiting: int) -> Iterator[tuple[list[_Step], list[Packed]]]:
    """The restoration steps in dependency order, in groups; with each group, the frames that
    can leave once it is done, in display order.

    An anchor (I or P) is a step as soon as it arrives, a P-frame from the restored anchors
    before it; the B-frames waiting for it follow, ``max_batch`` to a step, from those anchors
    and this one, and leave before it. B-frames that have waited for ``max_waiting`` frames are
    restored from the past anchors alone.
    """
    history: deque[Packed] = deque(maxlen=LIST0_CANDIDATES)  # list-0 candidates, nearest first
    waiting: list[Packed] = []  # B-frames after the last anchor, waiting for the next one

    def b_steps(next_anchor: Packed | None) -> list[_Step]:
        l1 = [next_anchor] if next_anchor else []
        return [_Step(waiting[i:i + max_batch], list(history), l1) for i in range(0, len(waiting), max_batch)]

    for frame in frames:
        item = engine.pack(frame)
        if is_anchor(frame.pict_type):
            anchor = _Step([item], list(history) if frame.pict_type == "P" else [], [])
            yield [anchor, *b_steps(item)], [*waiting, item]
            waiting.clear()
            history.appendleft(item)
        else:
            waiting.append(item)
            if len(waiting) >= max_waiting:
                yield b_steps(None), list(waiting)
                waiting.clear()
    if waiting:
        yield b_steps(None), list(waiting)


def restore_frames(
    frames: Iterable[Frame],
    engine: Engine,
    *,
    max_batch: int = 8,
    max_waiting: int = 32,
    workers: int = 1,
) -> Iterator[Restored]:
    """Restore a stream of frames; yields exactly one :class:`Restored` per input, in order.

    Args:
        frames: decoder frames in display order.
        engine: the model runner.
        max_batch: most B-frames restored in one batch (one worker).
        max_waiting: B-frames held while waiting for the next anchor before they are restored
            from the past anchors alone (bounds memory and delay on odd streams).
        workers: restoration steps run at once (see :func:`restore_in_parallel`); 1 runs them
            one after the other in this thread, batching B-frames.
    """
    if workers > 1:
        yield from restore_in_parallel(frames, engine, workers=workers, max_waiting=max_waiting)
        return
    for steps, leaving in _plan(frames, engine, max_batch, max_waiting):
        for step in steps:
            engine.restore(step.items, step.l0, step.l1)
        for item in leaving:
            yield Restored(item.frame, engine.planes(item))


def _run_step(engine: Engine, step: _Step) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A one-frame step, in a worker: its restored planes."""
    engine.restore(step.items, step.l0, step.l1)
    return engine.planes(step.items[0])


def restore_in_parallel(
    frames: Iterable[Frame],
    engine: Engine,
    *,
    workers: int = 2,
    max_waiting: int = 32,
    ahead: int = 8,
) -> Iterator[Restored]:
    """:func:`restore_frames` on ``workers`` threads, each frame a step of its own.

    The same steps as the sequential order (:func:`_plan`, B-frames one to a step): an anchor
    waits for the anchors it predicts from, a B-frame for those and the next anchor. So while
    the B-frames between two anchors are restored, the chain of anchors goes on beside them
    (anchors run first when both are ready). A frame's result does not depend on its
    batch-mates, so restoring B-frames one by one changes nothing but the order of work.
    Torch's threads are shared out among the workers for the run: on two cores, two one-thread
    steps waste less than one two-thread step.

    Args:
        frames, engine, max_waiting: as for :func:`restore_frames`.
        workers: worker threads.
        ahead: frames planned before the oldest one not yet handed out is done, checked after
            each group of steps (bounds memory: each holds its decoded and restored tensors; 8
            and 16 ran at the same speed at 640x360).
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, threads // workers))  # read by each worker at its first step
    pool = TaskPool(workers)
    # every step's references are among the last anchors planned (list 0's candidates and the
    # newest, list 1's)
    anchors: deque[tuple[Packed, Task]] = deque(maxlen=LIST0_CANDIDATES + 1)
    order: deque[tuple[Packed, Task]] = deque()  # display order, not yet handed out

    def finished(block: bool) -> Iterator[Restored]:
        while order and (block or order[0][1].done or len(order) > ahead):
            item, task = order.popleft()
            yield Restored(item.frame, pool.wait(task))

    try:
        for steps, leaving in _plan(frames, engine, 1, max_waiting):
            group: dict[int, Task] = {}
            for step in steps:
                deps = [next(t for a, t in anchors if a is ref) for ref in step.l0 + step.l1]
                item = step.items[0]
                first = is_anchor(item.frame.pict_type)
                task = pool.submit(Task(functools.partial(_run_step, engine, step), deps=deps, first=first))
                group[id(item)] = task
                if first:
                    anchors.appendleft((item, task))
            order.extend((item, group[id(item)]) for item in leaving)
            yield from finished(block=False)
        yield from finished(block=True)
    finally:
        pool.close()
        torch.set_num_threads(threads)


def write_restored(
    frames: Iterable[Frame],
    engine: Engine,
    sink: Sink,
    pending: deque,
    *,
    max_batch: int = 8,
    workers: int = 1,
) -> Iterator[Restored]:
    """Restore frames and write each to ``sink`` as soon as it is ready.

    Packets of the input's other streams, collected in ``pending`` as the decoder demuxed them,
    are muxed before each frame (and the rest at the end), so the output stays interleaved.

    Yields:
        Each restored frame, once written (for counting, progress and timing).
    """
    for out in restore_frames(frames, engine, max_batch=max_batch, workers=workers):
        while pending:
            sink.copy_packet(pending.popleft())
        sink.write(out.frame, out.planes)
        yield out
    while pending:
        sink.copy_packet(pending.popleft())
