"""Decoding in a background thread, a bounded number of items ahead of the consumer."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import av


class Prefetcher:
    """Runs a decode generator in a daemon thread, a bounded number of items ahead.

    PyAV releases the GIL while FFmpeg decodes, so decoding overlaps the consumer's work.
    Exceptions raised by the generator reach the consumer; ``stop()`` ends the thread early.
    """

    _END = object()

    def __init__(self, source: Iterator[Any], depth: int = 6) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source,), daemon=True,
                                        name="redecode-decode")
        self._thread.start()

    def _run(self, source: Iterator[Any]) -> None:
        try:
            for item in source:
                if not self._put((isinstance(item, av.Packet), item)):
                    return
            self._put(self._END)
        except BaseException as e:  # handed to the consumer, raised there
            self._put(e)

    def _put(self, item: Any) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def items(self) -> Iterator[tuple[bool, Any]]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
