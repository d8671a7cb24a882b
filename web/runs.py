"""One comparison in flight, as the page follows it: load what is missing, then ``compare_stream``.

A worker thread loads the models one after another (a first load converts packaged weights and
takes minutes, so each load reports its progress) and then iterates the engine's
``compare_stream`` through ``web.gpu`` (one ZeroGPU call on ZeroGPU). The page's generator reads
the thread's events, so loading messages and a Stop are seen while the engine blocks.

Three ways a comparison ends early:

- **Stop** (``stop()``) sets the engine's ``cancelled`` event: every column stops at its next
  token with status "stopped" and keeps its text so far; the final views are still drawn.
- **The time limit** (``PLAYGROUND_REQUEST_SECONDS``), counted from the start of the run, loading
  included: loading stops at its next checkpoint, the engine's columns as at a Stop, each saying
  it stopped at the limit; the final views, under the same deadline, say where they stopped.
- **Superseded** (the preset changed, the prompt was edited, the tab closed, nobody reads the
  results: ``web.watchdog``): ``close()`` stops the engine the same way and the page shows nothing
  more of this run.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from playground.cache import ModelCache
from playground.compare import FINISHED, Column, Request, Result
from playground.errors import PlaygroundError
from playground.limits import CANCELLED, Deadline, Limits, within

log = logging.getLogger(__name__)

STOP_GRACE_S = 3.0
"""How long a stopped comparison may take to hand back its columns' final states (the engine
stops at the next token; a long prefill may run on); after it, the page marks them stopped."""


@dataclass(frozen=True)
class Snapshot:
    """The page's view of a comparison: one result per column, each column's loading message,
    and the whole run's load progress (0-1)."""

    results: list[Result]
    progress: list[str | None]
    load_fraction: float = 0.0
    final: bool = False
    error: str | None = None  # the whole comparison failed (not one model)
    stopped: bool = False


@dataclass
class Comparison:
    """One visitor's comparison. ``columns_for(facts by reference)`` decides each column's own
    choices once the models are loaded (a chat template needs the model's facts); ``states``
    is the engine's stream (``web.gpu.comparison_states`` bound to this page and run)."""

    references: list[str]
    request: Request
    limits: Limits
    cache: ModelCache
    columns_for: Callable[[dict], list[Column]]
    states: Callable[[list[Column], Request, threading.Event], Iterator[list[Result]]]
    labels: list[str]
    cancelled: threading.Event = field(default_factory=threading.Event)  # the engine's: stop every column
    stopped: threading.Event = field(default_factory=threading.Event)  # the visitor pressed Stop
    closed: threading.Event = field(default_factory=threading.Event)  # nobody shows this run any more
    shown: threading.Event = field(default_factory=threading.Event)  # the page will get no more of it
    started: float = field(default_factory=time.monotonic)
    leases: dict = field(default_factory=dict)
    columns: list[Column] = field(default_factory=list)  # as run: each with its own choices, once loaded
    replacement: dict | None = None  # what the page shows instead of a superseded run
    timed_out: bool = False  # stopped at the request time limit

    @property
    def superseded(self) -> bool:
        return self.closed.is_set()

    def stop(self) -> None:
        """The visitor's Stop: every column stops at its next token and keeps its text so far."""
        self.stopped.set()
        self.cancelled.set()

    def close(self, replacement: dict | None = None) -> None:
        """Nobody shows this run any more: stop the engine and every view still to draw. The page
        shows ``replacement`` (outputs by name) instead, if given."""
        if replacement is not None:
            self.replacement = replacement
        self.closed.set()
        self.cancelled.set()

    def deadline(self) -> Deadline:
        """The request's time limit, counted from the start of the run; work after the engine
        (the final views) stops at it, or when the run is superseded (not at a Stop)."""
        seconds = self.limits.request_seconds
        return Deadline(seconds, self.started + seconds, self.closed)

    def snapshots(self) -> Iterator[Snapshot]:
        """The comparison as it advances, the final snapshot last."""
        events: queue.Queue = queue.Queue()
        thread = threading.Thread(target=self._pump, args=(events,), daemon=True, name="comparison")
        thread.start()
        results = [Result(label, "loading") for label in self.labels]
        progress: list[str | None] = [None] * len(results)
        fraction = 0.0
        yield Snapshot(list(results), list(progress))
        stop_seen: float | None = None
        while not self.closed.is_set():
            try:
                kind, payload = events.get(timeout=0.2)
            except queue.Empty:
                kind, payload = "wait", None
            if not self.cancelled.is_set() and time.monotonic() > self.started + self.limits.request_seconds:
                self.timed_out = True  # the engine's own clock started later, after loading: this one binds
                self.cancelled.set()
            if self.cancelled.is_set() and stop_seen is None:
                stop_seen = time.monotonic()
            if kind == "wait" and stop_seen is not None and time.monotonic() - stop_seen > STOP_GRACE_S:
                kind = "gave up"
            if kind == "progress":
                ref, done, message = payload
                fraction = done
                progress = [message if r == ref else p for r, p in zip(self.references, progress, strict=True)]
                yield Snapshot(list(results), list(progress), fraction)
            elif kind == "states":
                results = payload
                yield Snapshot(list(results), list(progress), 1.0)
            elif kind in ("end", "gave up", "failed"):
                stopped = self.stopped.is_set() or self.timed_out
                if kind != "end" or stopped:
                    reason = str(payload) if kind == "failed" else CANCELLED
                    results = [_unfinished(r, "error" if kind == "failed" else "stopped", reason) for r in results]
                if self.timed_out:
                    results = [self._at_time_limit(r) for r in results]
                error = str(payload) if kind == "failed" else None
                yield Snapshot(list(results), list(progress), 1.0, final=True, error=error, stopped=stopped)
                return

    def _at_time_limit(self, result: Result) -> Result:
        """A column the time limit stopped says so, not that it was cancelled."""
        if result.status != "stopped" or result.error != CANCELLED:
            return result
        return replace(result, error=f"Stopped at the request time limit of {self.limits.request_seconds:g} s.")

    def _pump(self, events: queue.Queue) -> None:
        try:
            seconds = self.limits.request_seconds
            with within(Deadline(seconds, self.started + seconds, self.cancelled)):
                self._load(events)
            if self.cancelled.is_set():
                events.put(("end", None))
                return
            facts = {ref: lease.model.facts for ref, lease in self.leases.items()}
            columns = self.columns = self.columns_for(facts)
            stream = self.states(columns, self.request, self.cancelled)
            with contextlib.closing(stream):  # closing it stops every column at its next token
                for states in stream:
                    if self.closed.is_set():
                        return
                    loaded = [
                        _with_load_cost(s, self.leases.get(c.reference)) for s, c in zip(states, columns, strict=True)
                    ]
                    events.put(("states", loaded))
            events.put(("end", None))
        except PlaygroundError as exc:
            events.put(("failed", exc))
        except Exception as exc:  # noqa: BLE001 - the page must end the run with a message, not hang
            log.exception("comparison failed")
            events.put(("failed", f"The comparison failed: {type(exc).__name__}."))

    def _load(self, events: queue.Queue) -> None:
        """Load the models one after another in column order, reporting each one's progress. The
        engine runs no column before every model is loaded, so the columns still start together; a
        model that fails to load is left to ``compare_stream``, which puts the error in its column."""
        refs = list(dict.fromkeys(self.references))
        for n, ref in enumerate(refs):
            if self.cancelled.is_set():
                return

            def report(fraction: float, message: str, ref: str = ref, n: int = n) -> None:
                overall = (n + min(max(fraction, 0.0), 1.0)) / len(refs)
                events.put(("progress", (ref, overall, f"{fraction:.0%} · {message}")))

            try:
                self.limits.check_model(ref)
                self.leases[ref] = self.cache.get(ref, progress=report)
            except PlaygroundError:
                pass
            except Exception:  # noqa: BLE001 - the column says what went wrong when the engine tries again
                log.exception("loading %s failed", ref)


def _unfinished(result: Result, status: str, reason: str) -> Result:
    if result.status in FINISHED:
        return result
    return replace(result, status=status, error=reason)


def _with_load_cost(result: Result, lease) -> Result:
    """A model loaded for this run (before ``compare_stream`` found it cached) keeps its load time."""
    if lease is None or lease.cached:
        return result
    return replace(result, load_seconds=lease.load_seconds, load_cached=False)
