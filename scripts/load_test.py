"""Load test: a classroom of visitors comparing models at once, through the app's public API.

Starts the page on tiny random models (built like the tests' ``conftest_app``) on 127.0.0.1, or
uses a page already running (``--url`` with ``--models``). Every client is one visitor with its
own session: they start together and each sends ``--requests`` comparisons one after another,
mostly through ``/compare`` (JSON, not streamed) and every third through ``/run`` (streamed, as
the Run button does). Every request must finish, or be turned away with Gradio's queue-full
answer, within one global time limit; afterwards a fresh request must still succeed.

    python scripts/load_test.py --clients 30 --requests 3 --json load.json
    python scripts/load_test.py --queue-size 8    # a queue that fills: some visitors get "busy"
    python scripts/load_test.py --url http://127.0.0.1:7860 --models smollm2-135m-instruct gemma-3-270m-it

Latency is from submitting a request to its final answer, so it includes the wait in the queue.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import platform
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("load_test")

ROOT = Path(__file__).resolve().parents[1]
BUSY_WORDS = ("queue is full", "busy", "try again")
"""Words a visitor turned away by a full queue reads (gradio_client says "Queue is full! Please try again.")."""
PROMPTS = ("The capital of France is", "A cat sat on the mat.", "Explain in two sentences why the sky is blue.")
RUN_EVERY = 3
"""Every third request of a client goes through the streamed /run endpoint, the others through /compare."""
STATUS_OUTPUT = 3
"""Position of the run status ("Finished in … s") among /run's outputs (after the three model columns:
``web.results.RUN_OUTPUTS``)."""


@dataclass(frozen=True)
class Outcome:
    """How one request ended: ``ok``, ``busy`` (turned away by a full queue), ``error`` or ``timeout``."""

    client: int
    endpoint: str
    status: str
    seconds: float
    message: str = ""


def is_busy(message: str) -> bool:
    return any(word in message.lower() for word in BUSY_WORDS)


def launch_tiny_app(folder: Path, queue_size: int | None = None):
    """Serve the page on tiny random models on a free port of 127.0.0.1; returns (demo, url, models).

    ``queue_size`` overrides the queue's ``max_size`` (else the page's own), by calling
    ``demo.queue`` again before launch with the page's concurrency.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("PLAYGROUND_CACHE", str(folder / "cache"))
    import app
    from tests.conftest_app import build_tiny_models, free_port, tiny_presets

    paths = build_tiny_models(folder / "models")
    demo = app.build_demo(presets=tiny_presets(paths), export_dir=folder / "exports")
    if queue_size is not None:
        demo.queue(default_concurrency_limit=app.CONCURRENCY, max_size=queue_size)
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


def send(client, client_id: int, endpoint: str, args: dict, deadline: float) -> Outcome:
    """One request, waited for until the global deadline at most."""
    start = time.perf_counter()
    job = client.submit(**args, api_name=endpoint)
    try:
        answer = job.result(timeout=max(0.1, deadline - time.monotonic()))
    except TimeoutError:
        job.cancel()
        return Outcome(client_id, endpoint, "timeout", time.perf_counter() - start, "no answer before the deadline")
    except Exception as exc:  # noqa: BLE001 - every way a request can fail is recorded, not raised
        message = str(exc) or type(exc).__name__
        status = "busy" if is_busy(message) else "error"
        return Outcome(client_id, endpoint, status, time.perf_counter() - start, f"{type(exc).__name__}: {message}")
    problem = answer_problem(endpoint, answer)
    return Outcome(client_id, endpoint, "error" if problem else "ok", time.perf_counter() - start, problem)


def visitor(
    client_id: int,
    url: str,
    models: list[str],
    requests: int,
    max_new_tokens: int,
    start: threading.Barrier,
    deadline: float,
) -> list[Outcome]:
    """One visitor: connects, waits for the others, then sends its requests one after another."""
    from gradio_client import Client

    client, refused = None, ""
    try:
        client = Client(url, verbose=False, download_files=False)
    except Exception as exc:  # noqa: BLE001 - a refused connection is an outcome too
        refused = f"could not connect: {type(exc).__name__}: {exc}"
    # A visitor that never connects in time breaks the barrier: the others start anyway.
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait(timeout=max(0.1, deadline - time.monotonic()))
    if client is None:
        return [Outcome(client_id, "connect", "error", 0.0, refused)] * requests
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


def run_load(
    url: str, models: list[str], clients: int, requests: int, max_new_tokens: int, timeout_s: float
) -> list[Outcome]:
    """Every client's outcomes; returns within ``timeout_s`` (plus the time to close connections)."""
    deadline = time.monotonic() + timeout_s
    start = threading.Barrier(clients)
    pool = ThreadPoolExecutor(max_workers=clients, thread_name_prefix="visitor")
    futures = [pool.submit(visitor, i, url, models, requests, max_new_tokens, start, deadline) for i in range(clients)]
    # Each wait for an answer stops at the deadline; the margin covers connecting and closing.
    wait(futures, timeout=timeout_s + 30)
    pool.shutdown(wait=False, cancel_futures=True)
    outcomes = []
    for i, future in enumerate(futures):
        if future.done():
            outcomes += future.result()
        else:
            outcomes += [Outcome(i, "connect", "timeout", timeout_s, "the client never finished")] * requests
    return outcomes


def check_health(url: str, models: list[str], max_new_tokens: int, timeout_s: float = 60.0) -> Outcome:
    """A fresh visitor's comparison, after the load: the server must still answer it in full."""
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False)
    try:
        args = request_args("/compare", models, PROMPTS[0], max_new_tokens)
        return send(client, -1, "/compare", args, time.monotonic() + timeout_s)
    finally:
        client.close()


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least ``q`` % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summarize(outcomes: list[Outcome], health: Outcome, settings: dict, wall_s: float) -> dict:
    """Counts, latency of the finished requests (p50, p95, max, seconds) and the messages seen."""
    counts = {status: sum(o.status == status for o in outcomes) for status in ("ok", "busy", "error", "timeout")}
    latency = {}
    for endpoint in ("all", "/compare", "/run"):
        seconds = [o.seconds for o in outcomes if o.status == "ok" and endpoint in ("all", o.endpoint)]
        latency[endpoint] = {
            "count": len(seconds),
            "p50": percentile(seconds, 50),
            "p95": percentile(seconds, 95),
            "max": max(seconds, default=None),
        }
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": settings,
        "requests": len(outcomes),
        "counts": counts,
        "latency_s": latency,
        "busy_seconds_max": max((o.seconds for o in outcomes if o.status == "busy"), default=None),
        "busy_messages": sorted({o.message for o in outcomes if o.status == "busy"}),
        "errors": [asdict(o) for o in outcomes if o.status in ("error", "timeout")][:20],
        "healthy_after": health.status == "ok",
        "health": asdict(health),
        "wall_s": wall_s,
    }


def format_summary(summary: dict) -> str:
    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    counts = summary["counts"]
    lines = [
        f"{summary['requests']} requests in {summary['wall_s']:.1f} s: "
        + ", ".join(f"{n} {status}" for status, n in counts.items()),
        f"{'latency (s)':12} {'n':>4} {'p50':>7} {'p95':>7} {'max':>7}",
    ]
    for endpoint, row in summary["latency_s"].items():
        figures = " ".join(f"{seconds(row[name]):>7}" for name in ("p50", "p95", "max"))
        lines.append(f"{endpoint:12} {row['count']:>4} {figures}")
    lines += [f"busy answer: {message}" for message in summary["busy_messages"]]
    lines += [f"{e['status']}: {e['endpoint']}: {e['message'][:200]}" for e in summary["errors"]]
    health = summary["health"]
    lines.append(f"fresh request afterwards: {health['status']} in {health['seconds']:.2f} s {health['message']}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running page (default: start one on tiny models on 127.0.0.1)")
    parser.add_argument("--models", nargs="+", metavar="MODEL", help="2 or 3 models to compare (needed with --url)")
    parser.add_argument("--clients", type=int, default=30, help="visitors at once (default 30)")
    parser.add_argument("--requests", type=int, default=3, help="comparisons per visitor (default 3)")
    parser.add_argument("--max-new-tokens", type=int, default=16, help="per model and request (default 16)")
    parser.add_argument("--queue-size", type=int, help="queue max_size of the page started here (default: the page's)")
    parser.add_argument("--timeout", type=float, default=300.0, help="global time limit in seconds (default 300)")
    parser.add_argument("--json", type=Path, help="write the summary to this JSON file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("httpx", "httpcore", "gradio_client", "transformers", "playground"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.url and not args.models:
        build_parser().error("--url needs --models: the models that page should compare")
    if args.url and args.queue_size is not None:
        build_parser().error("--queue-size applies to the page started here; set it where the --url page runs")
    # Only 127.0.0.1 is spoken to: the tiny models are folders, and the Hub is never asked.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    demo = None
    if args.url:
        url, models = args.url.rstrip("/"), args.models
    else:
        log.info("building tiny models and starting the page")
        demo, url, models = launch_tiny_app(Path(tempfile.mkdtemp(prefix="load-test-")), args.queue_size)
    settings = {k: v for k, v in vars(args).items() if k != "json"} | {"url": url, "models": models}
    if demo is not None:  # the queue size the page really has (its own default unless --queue-size)
        settings["queue_size"] = demo._queue.max_size
    try:
        log.info("%d clients x %d requests against %s", args.clients, args.requests, url)
        started = time.perf_counter()
        outcomes = run_load(url, models, args.clients, args.requests, args.max_new_tokens, args.timeout)
        wall_s = time.perf_counter() - started
        health = check_health(url, models, args.max_new_tokens)
    finally:
        if demo is not None:
            demo.close()
    summary = summarize(outcomes, health, settings, wall_s)
    print(format_summary(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        log.info("wrote %s", args.json)
    clean = summary["counts"]["error"] == summary["counts"]["timeout"] == 0
    return 0 if clean and summary["healthy_after"] else 1


if __name__ == "__main__":
    sys.exit(main())
