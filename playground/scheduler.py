"""Every generation on a GPU decoded from one thread, in rounds.

On a GPU a small model's token costs more in launching kernels from Python than in running them.
One Python thread per model makes the threads queue for the interpreter lock (three small models
took 5.6x as long as the slowest alone) and lets one thread's CUDA-graph capture collide with
another's kernels. So one thread per device runs every decoding of every comparison, each model
on its own CUDA stream, in rounds::

    round:  launch A, launch B, launch C      (each picks its token on the device, nothing is read)
            flush each shared batch once      (all its rows in one step: several visitors, one model)
            collect A, collect B, collect C   (read one token each; stream it, or stop)

A decoding's first round launches twice, so from then on each one runs a step ahead of what it
has read back: the device never waits for the host's text handling. Visitors' generations on
the same model that find the model's single-generation step busy become rows of its shared batch
(``playground.fast.static``) and decode as one batch. Each decoding keeps its own KV cache (or
row) and random generator, so the tokens it produces do not depend on what runs beside it.

The caller's thread still tokenizes and checks the request (``generation.start``), so a bad
request fails in its own column before the scheduler sees it; it then receives its updates
through a queue, and closing its stream cancels the decoding at the next round.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from playground.decoding import Decoding, Update
from playground.errors import Stopped
from playground.fast import gpu
from playground.generation import GenerationSettings, start
from playground.limits import checkpoint
from playground.models import LoadedModel

log = logging.getLogger(__name__)
WAIT_SECONDS = 0.5  # how often a waiting column checks its request's time limit


def enabled(device: torch.device) -> bool:
    """Whether generations on ``device`` go through a scheduler: on a GPU, yes.

    On a CPU each step computes before it returns, so there is nothing to overlap, and one thread
    per model keeps both cores busy (two decoders side by side: 1.10x the slower alone, where one
    thread in turn took 1.40x). $PLAYGROUND_SCHEDULER=1 or 0 overrides (the tests use it).
    """
    value = os.environ.get("PLAYGROUND_SCHEDULER", "").strip().lower()
    if value in ("1", "true", "on", "yes"):
        return True
    if value in ("0", "false", "off", "no"):
        return False
    return device.type == "cuda"


@dataclass
class _Job:
    decoding: Decoding
    outbox: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    rounds: int = 0


class Scheduler:
    """The decoding thread of one device; start it with ``scheduler_for(device)``."""

    def __init__(self, device: torch.device):
        self.device = device
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"decode-{device}", daemon=True)
        self._thread.start()

    def stream(self, lm: LoadedModel, text: str, settings: GenerationSettings) -> Iterator[Update]:
        """``generation.stream``, decoded by this scheduler: the same updates in the same order."""
        job = _Job(start(lm, text, settings, shared=True))
        self._inbox.put(job)
        try:
            while True:
                try:
                    item = job.outbox.get(timeout=WAIT_SECONDS)
                except queue.Empty:
                    checkpoint("waiting for the GPU")  # the request's time limit, or a Stop
                    continue
                if isinstance(item, BaseException):
                    raise item
                yield item
                if item.result is not None:
                    return
        finally:
            job.cancelled.set()

    def _run(self) -> None:
        active: list[_Job] = []
        while True:
            try:
                active.append(self._inbox.get(block=not active))
                while True:
                    active.append(self._inbox.get_nowait())
            except queue.Empty:
                pass
            try:
                with gpu.shared(self.device):
                    active = self._round(active)
            except Exception as exc:  # noqa: BLE001 - a bug here must not hang every visitor
                log.exception("the decoding round failed")
                for job in active:
                    self._fail(job, exc)
                active = []

    def _round(self, jobs: list[_Job]) -> list[_Job]:
        """One launch, flush, pick and collect for every job; the jobs still running after it."""
        running = []
        for job in jobs:
            if job.cancelled.is_set():
                job.decoding.close()
                continue
            running.append(job)
        for job in running:
            self._guard(job, lambda d, first=job.rounds == 0: [d.launch() for _ in range(2 if first else 1)])
        for batch in {id(j.decoding.batch): j.decoding.batch for j in running if j.decoding.awaiting}.values():
            rows = [j for j in running if j.decoding.batch is batch]
            try:
                with _on(batch.stream):
                    batch.flush()
            except Exception as exc:  # noqa: BLE001 - the batch's rows fail, the others go on
                for job in rows:
                    self._fail(job, exc)
        for job in running:
            self._guard(job, Decoding.pick)
        still = []
        for job in running:
            if job.decoding.done:
                continue
            updates = self._guard(job, Decoding.collect)
            for update in updates or ():
                job.outbox.put(update)
            job.rounds += 1
            if not job.decoding.done:
                still.append(job)
        return still

    def _guard(self, job: _Job, work):
        """Run one decoding's part of a round; its failure becomes its stream's exception."""
        if job.decoding.done:
            return None
        try:
            return work(job.decoding)
        except Exception as exc:  # noqa: BLE001 - one generation's failure must not stop the others
            self._fail(job, exc)
            return None

    @staticmethod
    def _fail(job: _Job, exc: BaseException) -> None:
        if not job.decoding.done:
            log.debug("decoding failed in the scheduler: %r", exc)
            job.decoding.done = True
            job.decoding.close()
            job.outbox.put(exc if isinstance(exc, Exception) else Stopped(str(exc)))


def _on(stream):
    return torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()


_schedulers: dict[tuple[int, str], Scheduler] = {}
_lock = threading.Lock()


def scheduler_for(device: torch.device) -> Scheduler:
    """The process's scheduler for ``device``, started on first use in whichever process asks
    (on ZeroGPU that is the forked worker that holds the GPU: a scheduler of the parent process
    has no thread in the child)."""
    key = (os.getpid(), str(device))
    with _lock:
        if key not in _schedulers:
            _schedulers[key] = Scheduler(device)
        return _schedulers[key]
