"""A fair share of the queue for every visitor.

The jobs that run models (the events of ``concurrency_id="models"``: /run, /compare,
/load_models and the next-token views) wait in one queue and run one at a time on a CPU. Without
a limit one visitor could fill that queue and make everyone else wait behind their jobs. So
before a job joins the queue, ``Admission.validator`` (the event's Gradio ``validator``, which
runs before the job is queued) counts the jobs the same visitor already has queued or running:

- by **session** (a browser tab, a ``gradio_client.Client``): at most
  ``PLAYGROUND_MAX_JOBS_PER_VISITOR`` (default 2);
- by **client address**: at most ``PLAYGROUND_MAX_JOBS_PER_ADDRESS`` (default 8), so that a client
  opening a new session for every job is still one visitor. A class behind one network address
  shares it: raise it there (docs/security.md). A loopback address is not counted: its clients run
  on the server's own machine (a lecturer's scripts, a class's load test), or the page sits behind
  a local proxy that does not name its clients, where every visitor would share one address.

One job more is refused at once, before it is queued: HTTP 422 with a message that says why and
what to do (gradio_client raises ``ValidationError``; the page shows it under the prompt box).
``0`` turns a limit off.

The client address is the connection's, unless the page runs behind a proxy that names the
client in ``X-Forwarded-For``: ``PLAYGROUND_FORWARDED_FOR=first`` takes the first address of that
header, ``last`` the last one (the address the proxy itself saw). On Spaces it is ``first``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import gradio as gr

from playground.errors import PlaygroundError
from playground.limits import env_number, on_spaces

MODELS = "models"
"""The concurrency id of the events that run models (``web.events``)."""
FORWARDED_CHOICES = ("", "first", "last")
RESERVED_S = 0.5
"""An admitted job counts as held from its validator until Gradio has queued it (the request
that asked for it is answered): two jobs asked for at the same moment must not both see the
other one missing. Outside a request's task (a direct call) the count lasts this long."""


@dataclass(frozen=True)
class QueueRules:
    """How much of the queue one visitor may hold, and when a job nobody reads is given up.

    ``unread_seconds``: a job whose first unread message has waited this long (nobody opened its
    result stream, or its reader went away) is cancelled (``web.watchdog``)."""

    per_visitor: int = 2
    per_address: int = 8
    forwarded_for: str = ""
    unread_seconds: float = 3.0

    @classmethod
    def from_env(cls) -> QueueRules:
        forwarded = os.environ.get("PLAYGROUND_FORWARDED_FOR", "first" if on_spaces() else "").strip().lower()
        if forwarded not in FORWARDED_CHOICES:
            raise PlaygroundError(
                f"PLAYGROUND_FORWARDED_FOR={forwarded!r} must be 'first', 'last' or empty (the connection's address)."
            )
        return cls(
            per_visitor=env_number("PLAYGROUND_MAX_JOBS_PER_VISITOR", cls.per_visitor, zero_turns_off=True),
            per_address=env_number("PLAYGROUND_MAX_JOBS_PER_ADDRESS", cls.per_address, zero_turns_off=True),
            forwarded_for=forwarded,
            unread_seconds=env_number("PLAYGROUND_UNREAD_SECONDS", cls.unread_seconds, float),
        )


def client_address(request, forwarded_for: str = "") -> str:
    """The address a request came from (a Starlette/FastAPI request): the connection's, or with
    ``forwarded_for`` ("first", "last") that entry of its X-Forwarded-For header, when it has one."""
    if forwarded_for and (header := request.headers.get("x-forwarded-for")):
        entries = [entry.strip() for entry in header.split(",") if entry.strip()]
        if entries:
            return entries[0] if forwarded_for == "first" else entries[-1]
    client = getattr(request, "client", None)
    return client.host if client and client.host else "unknown"


def counted_address(address: str) -> bool:
    """Whether the per-address limit applies to ``address``: not to loopback (see the module's
    docstring) nor to an address the request did not give."""
    try:
        return not ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address not in ("unknown", "localhost")


def models_jobs(blocks: gr.Blocks) -> list:
    """The models jobs of ``blocks`` (Gradio's ``Event`` objects) waiting in its queue or running.
    A job whose result its client has read is neither, though Gradio may still be tidying up
    after it (its id leaves ``pending_event_ids_session`` when the result is read)."""
    queue = blocks._queue
    waiting = queue.event_queue_per_concurrency_id.get(MODELS)
    active = [event for job in list(queue.active_jobs) if job for event in job if event.concurrency_id == MODELS]
    running = [e for e in active if e._id in queue.pending_event_ids_session.get(e.session_hash, ())]
    return [*(list(waiting.queue) if waiting else []), *running]


@dataclass(frozen=True)
class _Job:
    session: str
    address: str


class Admission:
    """The per-visitor limit, counted live from the Gradio queue of ``blocks``."""

    def __init__(self, blocks: gr.Blocks, rules: QueueRules, on_admit: Callable[[], None] = lambda: None):
        self.blocks = blocks
        self.rules = rules
        self.on_admit = on_admit  # called on the server's event loop before every decision
        self._reserved: list[tuple[float, object, _Job]] = []  # admitted, not yet queued

    def job_of(self, request, session: str | None) -> _Job:
        return _Job(session or "", client_address(request, self.rules.forwarded_for))

    def held(self) -> list[_Job]:
        """Every models job queued or running, and those admitted a moment ago and not yet queued."""
        live = models_jobs(self.blocks)
        requests = {id(e.request) for e in live}
        now = time.monotonic()
        self._reserved = [r for r in self._reserved if now - r[0] < RESERVED_S and id(r[1]) not in requests]
        return [self.job_of(e.request, e.session_hash) for e in live] + [job for _, _, job in self._reserved]

    def refusal(self, request, session: str | None) -> str | None:
        """Why this visitor may not queue one more job now, or None (the job is then counted)."""
        job, held = self.job_of(request, session), self.held()
        mine = sum(bool(job.session) and other.session == job.session for other in held)
        same_address = sum(other.address == job.address for other in held)
        if self.rules.per_visitor and mine >= self.rules.per_visitor:
            return (
                f"You already have {mine} comparisons queued or running, the limit per visitor here. "
                "Wait for one to finish (or press Stop), then try again."
            )
        if self.rules.per_address and counted_address(job.address) and same_address >= self.rules.per_address:
            return (
                f"Your network address already has {same_address} comparisons queued or running, the limit "
                "per address here. Wait for one to finish, then try again."
            )
        self._reserved.append((time.monotonic(), request, job))
        return None

    def _queued(self, request) -> None:
        """The request that asked for a job is answered: the job is in the queue (or already done)."""
        self._reserved = [r for r in self._reserved if r[1] is not request]

    def validator(self, names: Iterable[str]) -> Callable:
        """A Gradio ``validator`` for an event whose inputs are ``names`` (in order): the refusal
        is attached to the prompt box where the event has one, else to its first input."""
        names = tuple(names)
        where = names.index("prompt") if "prompt" in names else 0

        async def admit(request: gr.Request, *args, **values) -> list | dict:
            self.on_admit()
            message = self.refusal(request.request, request.session_hash)
            if message is None:
                # The validator runs in the task that answers the request; when that task ends,
                # Gradio has queued the job, which then counts itself (or has already finished).
                task = asyncio.current_task()
                if task is not None:
                    task.add_done_callback(lambda _: self._queued(request.request))
                return gr.skip()
            return [gr.validate(i != where, message if i == where else "") for i in range(len(names))]

        return admit
