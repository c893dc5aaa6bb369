"""The pipeline's own threads: the encoder's, and workers that restore frames side by side.

Both hand work to threads that spend their time outside the GIL (FFmpeg's encoders, torch's
operators), so that on a CPU the encoder, the decoder and two restoration steps run at once.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BackgroundSink", "Task", "TaskPool"]


class BackgroundSink:
    """Runs a sink's ``write`` and ``copy_packet`` in a background thread, in order, at most
    ``depth`` calls behind, so that encoding (x264 runs outside the GIL, in threads of its own)
    overlaps the model's work on the next frames.

    An error of the wrapped sink is raised by the next ``write``, ``copy_packet`` or ``close``
    (later calls are dropped). ``close`` waits for every queued call, then closes the wrapped
    sink in the calling thread. ``stop``, for failure paths, drops what is still queued and
    waits for the thread, so that the wrapped sink can then be aborted safely.
    """

    _END = None

    def __init__(self, sink: Any, depth: int = 4) -> None:
        self.sink = sink
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="redecode-encode")
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not self._END:
            if self._error is None and not self._cancelled:
                call, args = item
                try:
                    call(*args)
                except BaseException as e:  # handed to the producer, raised there
                    self._error = e

    def _submit(self, call: Callable[..., Any], *args: Any) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((call, args))

    def write(self, frame: Any, planes: tuple) -> None:
        self._submit(self.sink.write, frame, planes)

    def copy_packet(self, packet) -> None:
        self._submit(self.sink.copy_packet, packet)

    def _join(self) -> None:
        if self._thread.is_alive():
            self._queue.put(self._END)
            self._thread.join()

    def close(self) -> None:
        """Wait for every queued call, then close the wrapped sink."""
        self._join()
        if self._error is not None:
            raise self._error
        self.sink.close()

    def stop(self) -> None:
        """Drop the queued calls and wait for the one running (the wrapped sink is not closed)."""
        self._cancelled = True
        self._join()


@dataclass(eq=False)
class Task:
    """A unit of work for a :class:`TaskPool`.

    Attributes:
        run: what to call (in a worker thread); its return value becomes ``result``.
        deps: tasks that must be done first; when one of them failed, this one fails with its
            error without running.
        first: run before the other ready tasks (those along a chain that others wait for).
    """

    run: Callable[[], Any] | None
    deps: list[Task] = field(default_factory=list)
    first: bool = False
    result: Any = None
    error: BaseException | None = None
    done: bool = False


class TaskPool:
    """``workers`` threads running submitted tasks as soon as their dependencies are done
    (``first`` tasks before the others, else in submission order).

    Tasks may depend only on tasks submitted before them, so the pool can never deadlock.
    ``close`` lets the running tasks finish, drops the rest and joins the threads.
    """

    def __init__(self, workers: int) -> None:
        self._cond = threading.Condition()
        self._pending: list[Task] = []
        self._closed = False
        self._threads = [threading.Thread(target=self._work, daemon=True, name=f"redecode-worker-{i}")
                         for i in range(workers)]
        for t in self._threads:
            t.start()

    def submit(self, task: Task) -> Task:
        with self._cond:
            self._pending.append(task)
            self._cond.notify_all()
        return task

    def wait(self, task: Task) -> Any:
        """Block until ``task`` is done; its result, or its error raised."""
        with self._cond:
            while not task.done:
                self._cond.wait()
        if task.error is not None:
            raise task.error
        return task.result

    def _take(self) -> Task | None:
        """The next task to run (called with the lock held); None once closed."""
        while not self._closed:
            ready = [t for t in self._pending if all(d.done for d in t.deps)]
            if ready:
                task = next((t for t in ready if t.first), ready[0])
                self._pending.remove(task)
                return task
            self._cond.wait()
        return None

    def _work(self) -> None:
        while True:
            with self._cond:
                task = self._take()
            if task is None:
                return
            failed = next((d.error for d in task.deps if d.error is not None), None)
            try:
                if failed is not None:
                    raise failed
                task.result = task.run()
            except BaseException as e:  # handed to whoever waits for the task
                task.error = e
            task.run, task.deps = None, []  # done: keep no chain of earlier tasks alive
            with self._cond:
                task.done = True
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify_all()
        for t in self._threads:
            t.join()
