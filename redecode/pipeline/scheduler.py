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
    history: deque[Packed] = deque(maxlen=LIST0_CANDIDATES)  # list-0 candidates, nearest first
    waiting: list[Packed] = []  # B-frames after the last anchor, waiting for the next one

    def flush_b(next_anchor: Packed | None) -> Iterator[Restored]:
        for start in range(0, len(waiting), max_batch):
            group = waiting[start:start + max_batch]
            engine.restore(group, list(history), [next_anchor] if next_anchor else [])
            for item in group:
                yield Restored(item.frame, engine.planes(item))
        waiting.clear()

    for frame in frames:
        item = engine.pack(frame)
        if is_anchor(frame.pict_type):
            past = list(history) if frame.pict_type == "P" else []
            engine.restore([item], past, [])
            yield from flush_b(item)
            yield Restored(frame, engine.planes(item))
            history.appendleft(item)
        else:
            waiting.append(item)
            if len(waiting) >= max_waiting:
                yield from flush_b(None)
    yield from flush_b(None)


def restore_in_parallel(
    frames: Iterable[Frame],
    engine: Engine,
    *,
    workers: int = 2,
    max_waiting: int = 32,
    ahead: int = 8,
) -> Iterator[Restored]:
    """:func:`restore_frames` on ``workers`` threads, each frame a task of its own.

    The same dependencies as the sequential order: an anchor waits for the anchors it predicts
    from, a B-frame for those and the next anchor. So while the B-frames between two anchors
    are restored, the chain of anchors goes on beside them (anchors run first when both are
    ready). A frame's result does not depend on its batch-mates, so restoring B-frames one by
    one changes nothing but the order of work. Torch's threads are shared out among the workers
    for the run: on two cores, two one-thread steps waste less than one two-thread step.

    Args:
        frames, engine, max_waiting: as for :func:`restore_frames`.
        workers: worker threads.
        ahead: frames read before the oldest one not yet handed out is done (bounds memory: each
            holds its decoded and restored tensors; 8 and 16 ran at the same speed at 640x360).
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, threads // workers))  # read by each worker at its first step
    pool = TaskPool(workers)
    history: deque[tuple[Packed, Task]] = deque(maxlen=LIST0_CANDIDATES)  # nearest first
    waiting: list[Packed] = []
    order: deque[tuple[Packed, Task]] = deque()  # display order, not yet handed out

    def submit(item: Packed, l0: list[tuple[Packed, Task]], l1: list[tuple[Packed, Task]],
               anchor: bool) -> Task:
        def run() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            engine.restore([item], [p for p, _ in l0], [p for p, _ in l1])
            return engine.planes(item)

        return pool.submit(Task(run, deps=[t for _, t in l0 + l1], first=anchor))

    def flush_b(next_anchor: tuple[Packed, Task] | None) -> None:
        for item in waiting:
            order.append((item, submit(item, list(history), [next_anchor] if next_anchor else [], False)))
        waiting.clear()

    def finished(block: bool) -> Iterator[Restored]:
        while order and (block or order[0][1].done or len(order) > ahead):
            item, task = order.popleft()
            yield Restored(item.frame, pool.wait(task))

    try:
        for frame in frames:
            item = engine.pack(frame)
            if is_anchor(frame.pict_type):
                task = submit(item, list(history) if frame.pict_type == "P" else [], [], True)
                flush_b((item, task))
                order.append((item, task))
                history.appendleft((item, task))
            else:
                waiting.append(item)
                if len(waiting) >= max_waiting:
                    flush_b(None)
            yield from finished(block=False)
        flush_b(None)
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
