"""No work for nobody: a models job whose results nobody reads is cancelled.

Gradio cancels a job only when an open result stream disconnects. A client can instead post a job
(``POST /gradio_api/call/run``) and never open its result stream; Gradio would run it anyway, and
twenty such posts hold the one worker for minutes. Every message of a job goes to its session's
queue of unread messages (``Queue.pending_messages_per_session``), which an open stream empties
within milliseconds. So the watchdog, a task on the server's event loop, looks twice a second at
every models job (``web.visitors.models_jobs``) queued or running, and gives up a job when:

- the first unread message of its session has waited ``unread_seconds`` (nobody opened the
  stream, or its reader stopped reading), or its session has no message queue any more; or
- Gradio itself marked it dead (its stream disconnected), or dropped it while its handler still
  runs (a client's ``/cancel`` of a running job: Gradio stops waiting for the handler, but the
  handler would run on).

A queued job leaves the queue before it starts. A running one is stopped: its handler registered
how to stop it (``cancel_when_abandoned``: the comparison's ``close``), and the engine stops every
column at its next checkpoint (``playground.limits``). A reader that comes later gets an error that
says why, instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

import gradio as gr
from gradio.context import LocalContext
from gradio.server_messages import ProcessCompletedMessage

from web.visitors import models_jobs

log = logging.getLogger(__name__)

POLL_S = 0.5
"""How often the watchdog looks at the queue."""

_stoppers: dict[str, tuple[gr.Blocks, Callable[[], None]]] = {}  # event id -> (its page, how to stop it)
_stoppers_lock = threading.Lock()


@contextlib.contextmanager
def cancel_when_abandoned(stop: Callable[[], None]) -> Iterator[None]:
    """Inside a Gradio handler: while the block runs, ``stop()`` is what the watchdog calls if
    nobody reads this job's results any more. Outside a Gradio event (a test calling the handler,
    the Python API) it does nothing."""
    event_id, blocks = LocalContext.event_id.get(None), LocalContext.blocks.get(None)
    if event_id is None or blocks is None:
        yield
        return
    with _stoppers_lock:
        _stoppers[event_id] = (blocks, stop)
    try:
        yield
    finally:
        with _stoppers_lock:
            _stoppers.pop(event_id, None)


def _stop_running(event_id: str) -> bool:
    with _stoppers_lock:
        _, stop = _stoppers.pop(event_id, (None, None))
    if stop is not None:
        stop()
    return stop is not None


def _running_for(blocks: gr.Blocks) -> list[str]:
    """The event ids of the handlers of ``blocks`` that are running now."""
    with _stoppers_lock:
        return [event_id for event_id, (page, _) in _stoppers.items() if page is blocks]


class Watchdog:
    """Gives up the models jobs of ``blocks`` that nobody reads (see the module's docstring)."""

    def __init__(self, blocks: gr.Blocks, unread_seconds: float):
        self.blocks = blocks
        self.unread_seconds = unread_seconds
        self.given_up = 0  # jobs given up since the start, for the logs and the tests
        self._heads: dict[str, tuple[object, float]] = {}  # session -> (first unread message, seen since)
        self._task: asyncio.Task | None = None

    def ensure_running(self) -> None:
        """Start the watchdog on the running event loop (the server's), unless it runs there already."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._watch(), name="playground-watchdog")

    async def _watch(self) -> None:
        while not self.blocks._queue.stopped:
            try:
                await self.sweep()
            except Exception:  # noqa: BLE001 - the watchdog must outlive one bad look at the queue
                log.exception("the queue watchdog failed once")
            await asyncio.sleep(POLL_S)

    async def sweep(self) -> None:
        """One look at every models job: give up those nobody reads."""
        queue = self.blocks._queue
        jobs = models_jobs(self.blocks)
        sessions = {e.session_hash for e in jobs}
        self._heads = {s: seen for s, seen in self._heads.items() if s in sessions}
        now = time.monotonic()
        for session in sessions:
            self._note_head(session, now)
        for event_id in _running_for(self.blocks):
            if event_id not in queue.event_ids_to_events and _stop_running(event_id):
                self.given_up += 1  # Gradio dropped the job (a client's /cancel); its handler ran on
                log.info("stopped a job its client cancelled")
        for event in jobs:
            if not event.alive:  # Gradio saw its stream close: stop the work it left running
                if _stop_running(event._id):
                    self.given_up += 1
                    log.info("stopped a job whose visitor left (%s)", event.fn.api_name)
                continue
            if why := self._unread(event.session_hash, now):
                await self._give_up(event, why)

    def _note_head(self, session: str, now: float) -> None:
        messages = self.blocks._queue.pending_messages_per_session.get(session)
        if messages is None or messages.empty():
            self._heads.pop(session, None)
            return
        head = messages._queue[0]  # asyncio.Queue keeps its items in a deque: the oldest unread message
        seen = self._heads.get(session)
        if seen is None or seen[0] is not head:
            self._heads[session] = (head, now)

    def _unread(self, session: str, now: float) -> str | None:
        if session not in self.blocks._queue.pending_messages_per_session:
            return "its result stream was closed"
        seen = self._heads.get(session)
        if seen is not None and now - seen[1] >= self.unread_seconds:
            return f"nobody read its results for {self.unread_seconds:g} s"
        return None

    async def _give_up(self, event, why: str) -> None:
        """Tell a late reader why, take the job out of the queue, and stop it if it runs."""
        message = (
            f"Cancelled: {why}. Read a job's results while it runs: open its result stream right after "
            "submitting it (gradio_client does)."
        )
        queue = self.blocks._queue
        queue.send_message(
            event,
            ProcessCompletedMessage(
                output={"error": message, "visible": True, "title": "Cancelled", "duration": None},
                success=False,
                title="Cancelled",
            ),
        )
        await queue.clean_events(event_id=event._id)
        _stop_running(event._id)
        self.given_up += 1
        log.info("gave up a %s job: %s", event.fn.api_name, why)
