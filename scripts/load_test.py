"""Load test: a classroom of visitors comparing models at once, through the app's public API.

Starts the page on tiny random models (built like the tests' ``conftest_app``) on 127.0.0.1, or
uses a page already running (``--url`` with ``--models``). Every client is one visitor with its
own session: they start together and each sends ``--requests`` comparisons one after another,
mostly through ``/compare`` (JSON, not streamed) and every third through ``/run`` (streamed, as
the Run button does). Every request must finish, or be turned away with Gradio's queue-full
answer, within one global time limit; afterwards a fresh request must still succeed.

With ``--greedy JOBS`` a greedy visitor submits JOBS comparisons at once, half a second before
the others start (so that they wait behind it), and the others' latency is reported apart from
the greedy visitor's. The page admits at most two jobs of one session and eight of one address
(``web.visitors``); ``--no-limits`` starts it without them, for comparison.

    python scripts/load_test.py --clients 30 --requests 3 --json load.json
    python scripts/load_test.py --queue-size 8    # a queue that fills: some visitors get "busy"
    python scripts/load_test.py --clients 10 --requests 1 --greedy 20 [--greedy-sessions] [--no-limits]
    python scripts/load_test.py --url http://127.0.0.1:7860 --models smollm2-135m-instruct gemma-3-270m-it

Latency is from submitting a request to its final answer, so it includes the wait in the queue.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import resource
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository root is where ``scripts`` lives
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.load_visitors import (  # noqa: E402
    GREEDY,
    PROMPTS,
    Outcome,
    connect,
    greedy_visitor,
    is_busy,
    is_refused,
    launch_tiny_app,
    request_args,
    send,
    visitor,
)

__all__ = ["GREEDY", "check_health", "is_busy", "is_refused", "launch_tiny_app", "run_load", "summarize"]

log = logging.getLogger("load_test")

GREEDY_HEAD_START_S = 0.5
"""The greedy visitor's burst is sent this long before the others start, so that it is ahead of
them in the queue (the attack: fill the queue first)."""


def run_load(
    url: str,
    models: list[str],
    clients: int,
    requests: int,
    max_new_tokens: int,
    timeout_s: float,
    greedy: int = 0,
    greedy_sessions: bool = False,
) -> list[Outcome]:
    """Every client's outcomes (and the greedy visitor's, client ``GREEDY``, when ``greedy`` jobs);
    returns within ``timeout_s`` (plus the time to close connections)."""
    deadline = time.monotonic() + timeout_s
    start = threading.Barrier(clients + bool(greedy))
    delay = GREEDY_HEAD_START_S if greedy else 0.0
    pool = ThreadPoolExecutor(max_workers=clients + 1, thread_name_prefix="visitor")
    futures = [
        pool.submit(visitor, i, url, models, requests, max_new_tokens, start, deadline, delay) for i in range(clients)
    ]
    if greedy:
        greedy_args = (url, models, greedy, max_new_tokens, start, deadline, greedy_sessions)
        futures.append(pool.submit(greedy_visitor, *greedy_args))
    # Each wait for an answer stops at the deadline; the margin covers connecting and closing.
    wait(futures, timeout=timeout_s + 30)
    pool.shutdown(wait=False, cancel_futures=True)
    outcomes = []
    for i, future in enumerate(futures):
        if future.done():
            outcomes += future.result()
        else:
            who, count = (i, requests) if i < clients else (GREEDY, greedy)
            outcomes += [Outcome(who, "connect", "timeout", timeout_s, "the client never finished")] * count
    return outcomes


def check_health(url: str, models: list[str], max_new_tokens: int, timeout_s: float = 60.0) -> Outcome:
    """A fresh visitor's comparison, after the load: the server must still answer it in full."""
    client = connect(url, -1)
    try:
        args = request_args("/compare", models, PROMPTS[0], max_new_tokens)
        return send(client, -1, "/compare", args, time.monotonic() + timeout_s)
    finally:
        client.close()


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far (MiB): the page and its models when it was started here."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least ``q`` % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


STATUSES = ("ok", "busy", "refused", "error", "timeout")


def latency(outcomes: list[Outcome]) -> dict:
    """p50, p95 and max (seconds) of the finished requests, and their count."""
    seconds = [o.seconds for o in outcomes if o.status == "ok"]
    return {
        "count": len(seconds),
        "p50": percentile(seconds, 50),
        "p95": percentile(seconds, 95),
        "max": max(seconds, default=None),
    }


def summarize(outcomes: list[Outcome], health: Outcome, settings: dict, wall_s: float) -> dict:
    """Counts, latency of the finished requests (p50, p95, max, seconds), the messages seen, and the
    greedy visitor's share apart from the others'."""
    others = [o for o in outcomes if o.client != GREEDY]
    greedy = [o for o in outcomes if o.client == GREEDY]
    by_endpoint = {e: latency([o for o in others if o.endpoint == e]) for e in ("/compare", "/run")}
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": settings,
        "requests": len(others),
        "counts": {status: sum(o.status == status for o in others) for status in STATUSES},
        "latency_s": {"all": latency(others)} | by_endpoint,
        "greedy": {
            "jobs": len(greedy),
            "counts": {status: sum(o.status == status for o in greedy) for status in STATUSES},
            "latency_s": latency(greedy),
            "refused_seconds_max": max((o.seconds for o in greedy if o.status == "refused"), default=None),
        },
        "busy_seconds_max": max((o.seconds for o in outcomes if o.status == "busy"), default=None),
        "busy_messages": sorted({o.message for o in outcomes if o.status == "busy"}),
        "refused_messages": sorted({o.message for o in outcomes if o.status == "refused"}),
        "errors": [asdict(o) for o in outcomes if o.status in ("error", "timeout")][:20],
        "healthy_after": health.status == "ok",
        "health": asdict(health),
        "wall_s": wall_s,
        "peak_memory_mib": settings.get("peak_memory_mib"),
    }


def format_summary(summary: dict) -> str:
    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    def row(name: str, figures: dict) -> str:
        quantiles = " ".join(f"{seconds(figures[q]):>7}" for q in ("p50", "p95", "max"))
        return f"{name:12} {figures['count']:>4} {quantiles}"

    counts = summary["counts"]
    lines = [
        f"{summary['requests']} requests in {summary['wall_s']:.1f} s: "
        + ", ".join(f"{n} {status}" for status, n in counts.items()),
        f"{'latency (s)':12} {'n':>4} {'p50':>7} {'p95':>7} {'max':>7}",
    ]
    lines += [row(endpoint, figures) for endpoint, figures in summary["latency_s"].items()]
    greedy = summary["greedy"]
    if greedy["jobs"]:
        lines.append(
            f"greedy visitor, {greedy['jobs']} jobs at once: "
            + ", ".join(f"{n} {status}" for status, n in greedy["counts"].items() if n)
            + f" (refusals within {seconds(greedy['refused_seconds_max'])} s)"
        )
        lines.append(row("greedy", greedy["latency_s"]))
    lines += [f"busy answer: {message}" for message in summary["busy_messages"]]
    lines += [f"refused: {message[:200]}" for message in summary["refused_messages"]]
    lines += [f"{e['status']}: {e['endpoint']}: {e['message'][:200]}" for e in summary["errors"]]
    health = summary["health"]
    lines.append(f"fresh request afterwards: {health['status']} in {health['seconds']:.2f} s {health['message']}")
    if summary["peak_memory_mib"] is not None:
        lines.append(f"peak resident memory of the page's process: {summary['peak_memory_mib']:.0f} MiB")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running page (default: start one on tiny models on 127.0.0.1)")
    parser.add_argument("--models", nargs="+", metavar="MODEL", help="2 or 3 models to compare (needed with --url)")
    parser.add_argument("--clients", type=int, default=30, help="visitors at once (default 30)")
    parser.add_argument("--requests", type=int, default=3, help="comparisons per visitor (default 3)")
    parser.add_argument("--max-new-tokens", type=int, default=16, help="per model and request (default 16)")
    parser.add_argument("--queue-size", type=int, help="queue max_size of the page started here (default: the page's)")
    parser.add_argument("--greedy", type=int, default=0, metavar="JOBS", help="a greedy visitor submits JOBS at once")
    parser.add_argument(
        "--greedy-sessions", action="store_true", help="the greedy visitor opens a new session for every job"
    )
    parser.add_argument(
        "--no-limits", action="store_true", help="the page started here without its per-visitor limits (for comparison)"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="global time limit in seconds (default 300)")
    parser.add_argument("--json", type=Path, help="write the summary to this JSON file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("httpx", "httpcore", "gradio_client", "transformers", "playground", "web"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.url and not args.models:
        build_parser().error("--url needs --models: the models that page should compare")
    if args.url and (args.queue_size is not None or args.no_limits):
        build_parser().error("--queue-size and --no-limits apply to the page started here")
    # Only 127.0.0.1 is spoken to: the tiny models are folders, and the Hub is never asked.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    demo = None
    if args.url:
        url, models = args.url.rstrip("/"), args.models
    else:
        log.info("building tiny models and starting the page")
        folder = Path(tempfile.mkdtemp(prefix="load-test-"))
        demo, url, models = launch_tiny_app(folder, args.queue_size, limits=not args.no_limits)
    settings = {k: v for k, v in vars(args).items() if k != "json"} | {"url": url, "models": models}
    if demo is not None:  # the queue size the page really has (its own default unless --queue-size)
        settings["queue_size"] = demo._queue.max_size
    try:
        log.info("%d clients x %d requests (greedy: %d) against %s", args.clients, args.requests, args.greedy, url)
        started = time.perf_counter()
        outcomes = run_load(
            url, models, args.clients, args.requests, args.max_new_tokens, args.timeout, args.greedy,
            args.greedy_sessions,
        )  # fmt: skip
        wall_s = time.perf_counter() - started
        health = check_health(url, models, args.max_new_tokens)
    finally:
        if demo is not None:
            demo.close()
    if demo is not None:
        settings["peak_memory_mib"] = peak_memory_mib()
    summary = summarize(outcomes, health, settings, wall_s)
    print(format_summary(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        log.info("wrote %s", args.json)
    clean = summary["counts"]["error"] == summary["counts"]["timeout"] == 0
    return 0 if clean and summary["healthy_after"] else 1


if __name__ == "__main__":
    sys.exit(main())
