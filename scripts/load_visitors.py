"""The visitors of the load test (``scripts/load_test.py``): a classroom that compares models one
request after another, and a greedy visitor who submits many jobs at once.

Every visitor names its own network address in ``X-Forwarded-For``, as a proxy in front of a
public Space would; the page started here trusts that header's first entry (``web.visitors``),
so the per-address limit sees each visitor apart, as it would on Spaces.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUSY_WORDS = ("queue is full", "busy", "try again")
"""Words a visitor turned away by a full queue reads (gradio_client says "Queue is full! Please try again.")."""
REFUSED_WORDS = ("queued or running, the limit",)
"""Words of the per-visitor limit's refusal (``web.visitors.Admission.refusal``)."""
PROMPTS = ("The capital of France is", "A cat sat on the mat.", "Explain in two sentences why the sky is blue.")
RUN_EVERY = 3
"""Every third request of a client goes through the streamed /run endpoint, the others through /compare."""
STATUS_OUTPUT = 3
"""Position of the run status ("Finished in … s") among /run's outputs (after the three model columns:
``web.results.RUN_OUTPUTS``)."""
GREEDY = -2
"""The greedy visitor's client id in the outcomes."""


@dataclass(frozen=True)
class Outcome:
    """How one request ended: ``ok``, ``busy`` (turned away by a full queue), ``refused`` (over the
    per-visitor limit), ``error`` or ``timeout``."""

    client: int
    endpoint: str
    status: str
    seconds: float
    message: str = ""


def is_busy(message: str) -> bool:
    return any(word in message.lower() for word in BUSY_WORDS)


def is_refused(message: str) -> bool:
    return any(word in message.lower() for word in REFUSED_WORDS)


def address(client_id: int) -> str:
    """A visitor's own address (documentation range 198.18.0.0/15, never routed)."""
    n = client_id % 65_536
    return f"198.18.{n // 256}.{n % 256}"


def launch_tiny_app(folder: Path, queue_size: int | None = None, limits: bool = True):
    """Serve the page on tiny random models on a free port of 127.0.0.1; returns (demo, url, models).

    ``queue_size`` overrides the queue's ``max_size`` (else the page's own), by calling
    ``demo.queue`` again before launch with the page's concurrency. ``limits=False`` turns the
    per-visitor limits off (the page as it was before them, for comparison).
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("PLAYGROUND_CACHE", str(folder / "cache"))
    import app
    from tests.conftest_app import build_tiny_models, free_port, tiny_presets
    from web.visitors import QueueRules

    rules = replace(QueueRules.from_env(), forwarded_for="first")
    if not limits:
        rules = replace(rules, per_visitor=0, per_address=0)
    paths = build_tiny_models(folder / "models")
    demo = app.build_demo(presets=tiny_presets(paths), export_dir=folder / "exports", rules=rules)
    if queue_size is not None:
        demo.queue(default_concurrency_limit=app.CONCURRENCY, max_size=queue_size, api_open=False)
    _, url, _ = demo.launch(
        server_name="127.0.0.1",
        server_port=free_port(),
        prevent_thread_lock=True,
        quiet=True,
        **app.serving_options(),
    )
    return demo, url.rstrip("/"), [paths["tiny-gpt2"], paths["tiny-llama-chat"]]


def request_args(endpoint: str, models: list[str], prompt: str, max_new_tokens: int) -> dict:
    """Keyword arguments of ``/compare`` or of ``/run`` (the page's inputs; preset None: the page's default)."""
    slots = {f"model_{i + 1}": models[i] if i < len(models) else "" for i in range(3)}
    if endpoint == "/compare":
        return slots | {"prompt": prompt, "max_new_tokens": max_new_tokens}
    return {"preset": None, **slots, "prompt": prompt, "target": "", "max_new_tokens": max_new_tokens} | {
        "decoding": "Greedy",
        "temperature": 0.8,
        "top_p": 0.95,
        "seed": 0,
        "chat_template": "Auto",
    }


def answer_problem(endpoint: str, answer) -> str:
    """Why a final answer is not a finished comparison of every model, or "" if it is."""
    if endpoint == "/compare":
        failed = [f"{r['model']}: {r['error']}" for r in answer["results"] if r["status"] != "done"]
        return "; ".join(failed)
    status = answer[STATUS_OUTPUT]
    status = status.get("value", status) if isinstance(status, dict) else status
    # The status line is HTML: "Finished in … s", with "· N of M failed" when a column failed.
    return "" if "Finished in" in str(status) and "failed" not in str(status) else str(status)


def connect(url: str, client_id: int):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False, headers={"x-forwarded-for": address(client_id)})


def wait_for(job, client_id: int, endpoint: str, started: float, deadline: float) -> Outcome:
    """A submitted job's outcome, waited for until the global deadline at most."""
    try:
        answer = job.result(timeout=max(0.1, deadline - time.monotonic()))
    except TimeoutError:
        job.cancel()
        return Outcome(client_id, endpoint, "timeout", time.perf_counter() - started, "no answer before the deadline")
    except Exception as exc:  # noqa: BLE001 - every way a request can fail is recorded, not raised
        message = str(exc) or type(exc).__name__
        status = "refused" if is_refused(message) else "busy" if is_busy(message) else "error"
        return Outcome(client_id, endpoint, status, time.perf_counter() - started, f"{type(exc).__name__}: {message}")
    problem = answer_problem(endpoint, answer)
    return Outcome(client_id, endpoint, "error" if problem else "ok", time.perf_counter() - started, problem)


def send(client, client_id: int, endpoint: str, args: dict, deadline: float) -> Outcome:
    """One request, waited for until the global deadline at most."""
    started = time.perf_counter()
    return wait_for(client.submit(**args, api_name=endpoint), client_id, endpoint, started, deadline)


def visitor(
    client_id: int,
    url: str,
    models: list[str],
    requests: int,
    max_new_tokens: int,
    start: threading.Barrier,
    deadline: float,
    delay_s: float = 0.0,
) -> list[Outcome]:
    """One visitor: connects, waits for the others (and ``delay_s`` more), then sends its requests
    one after another."""
    client, refused = None, ""
    try:
        client = connect(url, client_id)
    except Exception as exc:  # noqa: BLE001 - a refused connection is an outcome too
        refused = f"could not connect: {type(exc).__name__}: {exc}"
    # A visitor that never connects in time breaks the barrier: the others start anyway.
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait(timeout=max(0.1, deadline - time.monotonic()))
    if client is None:
        return [Outcome(client_id, "connect", "error", 0.0, refused)] * requests
    time.sleep(delay_s)
    outcomes = []
    try:
        for i in range(requests):
            endpoint = "/run" if (client_id + i) % RUN_EVERY == RUN_EVERY - 1 else "/compare"
            prompt = PROMPTS[(client_id + i) % len(PROMPTS)]
            if time.monotonic() >= deadline:
                outcomes.append(Outcome(client_id, endpoint, "timeout", 0.0, "not sent: the deadline had passed"))
                continue
            outcomes.append(
                send(client, client_id, endpoint, request_args(endpoint, models, prompt, max_new_tokens), deadline)
            )
    finally:
        client.close()
    return outcomes


def greedy_visitor(
    url: str,
    models: list[str],
    jobs: int,
    max_new_tokens: int,
    start: threading.Barrier,
    deadline: float,
    new_session_each: bool = False,
) -> list[Outcome]:
    """One visitor who submits ``jobs`` comparisons at once, from one session (one Client), or
    with ``new_session_each`` from a new session for every job (the same address)."""
    clients = [connect(url, GREEDY) for _ in range(jobs if new_session_each else 1)]
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait(timeout=max(0.1, deadline - time.monotonic()))
    args = request_args("/compare", models, PROMPTS[0], max_new_tokens)
    try:
        started = time.perf_counter()
        submitted = [clients[i % len(clients)].submit(**args, api_name="/compare") for i in range(jobs)]
        return [wait_for(job, GREEDY, "/compare", started, deadline) for job in submitted]
    finally:
        for client in clients:
            client.close()
