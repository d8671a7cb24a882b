"""Who may use a GPU at the same time as a CUDA graph is being captured: nobody.

Capturing records every kernel launched on the device meanwhile, so another thread's launch
either ends in the graph or fails the capture ("operation not permitted when stream is
capturing"). Work that launches kernels (the scheduler's rounds, a column's scoring) holds the
device ``shared``; a capture holds it ``exclusive`` and waits for the shared holders to finish,
while new ones wait for it (a waiting capture goes first, so a busy page cannot starve a load).
On a CPU both are free.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch


class SharedExclusive:
    """A readers-writer lock that lets a waiting writer in before new readers."""

    def __init__(self):
        self._condition = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0
        self._owner: int | None = None

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        """Not re-entrant: a holder that asks again while a capture waits would wait forever."""
        with self._condition:
            capturing_thread = self._owner == threading.get_ident()  # it holds the device already
            if not capturing_thread:
                while self._writer or self._writers_waiting:
                    self._condition.wait()
                self._readers += 1
        try:
            yield
        finally:
            if not capturing_thread:
                with self._condition:
                    self._readers -= 1
                    self._condition.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._condition.wait()
            self._writers_waiting -= 1
            self._writer, self._owner = True, threading.get_ident()
        try:
            yield
        finally:
            with self._condition:
                self._writer, self._owner = False, None
                self._condition.notify_all()


_DEVICE = SharedExclusive()


def shared(device: torch.device) -> contextlib.AbstractContextManager:
    return _DEVICE.shared() if device.type == "cuda" else contextlib.nullcontext()


def exclusive(device: torch.device) -> contextlib.AbstractContextManager:
    return _DEVICE.exclusive() if device.type == "cuda" else contextlib.nullcontext()
