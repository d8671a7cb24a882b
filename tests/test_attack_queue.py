"""The queue under attack, through the page's HTTP API as a hostile visitor would use it.

- Work stops when nobody waits for it: twenty jobs posted and never read, or a reader that goes
  away, leave the CPU idle within seconds, and the next visitor is served at once (``web.watchdog``).
- A fair queue: one visitor holds at most two jobs by session and eight by address; one more is
  refused at once, with a message (``web.visitors``). No endpoint runs around the queue.
- The hard time limit: a run built to be slow ends at ``PLAYGROUND_REQUEST_SECONDS`` plus a small
  margin, its columns "stopped" (``web.runs``).

The jobs run two masked LMs' pseudo-perplexity over a long text (``tests.attack``): half a minute
or more of CPU each, which only a stop ends early. The page runs in this process, so the
process's CPU time is the page's.
"""

from __future__ import annotations

import time

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import ValidationError

from tests.attack import LONG_TEXT, parameter_order, post_job, read_job, seconds_until_idle, slow_masked_lms
from tests.conftest_app import build_tiny_models, launch_page, run_args, wait_until_idle
from web.visitors import models_jobs

IDLE_WITHIN_S = 12.0
"""Unread for 3 s, the watchdog's next look (0.5 s), the engine's next checkpoint (one batch of
masked copies), and a busy shared machine's slack."""
LIMIT_S = 3
MARGIN_S = 4.0  # the page notices within 0.2 s; the engine stops at its next batch (about 0.6 s here)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("models")
    paths = build_tiny_models(folder)
    paths["slow-0"], paths["slow-1"] = slow_masked_lms(folder)
    return paths


def serve(tmp_path_factory, models: dict[str, str], request_seconds: int):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PLAYGROUND_REQUEST_SECONDS", str(request_seconds))
        env.setenv("PLAYGROUND_FORWARDED_FOR", "first")  # each test visitor names its own address
        return launch_page(tmp_path_factory.mktemp("page"), models)


@pytest.fixture(scope="module")
def page(tmp_path_factory, models):
    demo, url = serve(tmp_path_factory, models, request_seconds=60)
    yield demo, url
    wait_until_idle()
    demo.close()


def slow_run(models: dict[str, str]) -> dict:
    return run_args([models["slow-0"], models["slow-1"]], LONG_TEXT)


def held(demo) -> int:
    """Models jobs waiting or running (``web.visitors.models_jobs``)."""
    return len(models_jobs(demo))


def quiet(demo, limit_s: float = IDLE_WITHIN_S) -> float:
    """Seconds until the page holds no models job and its process is idle; fails past ``limit_s``."""
    started = time.monotonic()
    while held(demo) and time.monotonic() - started < limit_s:
        time.sleep(0.2)
    idle = seconds_until_idle(max(0.0, limit_s - (time.monotonic() - started)) + 1.0)
    assert not held(demo) and idle is not None, f"still busy after {limit_s:g} s: {held(demo)} jobs"
    return time.monotonic() - started


def fresh_comparison_seconds(url: str, models: dict[str, str]) -> float:
    client = Client(url, verbose=False, download_files=False)
    try:
        started = time.monotonic()
        result = client.predict(
            model_1=models["tiny-gpt2"], model_2=models["tiny-llama-chat"], prompt="The capital of France is",
            max_new_tokens=4, api_name="/compare",
        )  # fmt: skip
        assert [r["status"] for r in result["results"]] == ["done", "done"]
        return time.monotonic() - started
    finally:
        client.close()


def test_twenty_jobs_nobody_reads_are_given_up_and_the_cpu_goes_idle(page, models):
    demo, url = page
    order = parameter_order(url, "/run")
    posted = [post_job(url, "/run", slow_run(models), order, address=f"10.0.0.{i}") for i in range(20)]
    assert [p.status_code for p in posted] == [200] * 20
    assert seconds_until_idle(2.0) is None, "the first job never ran: nothing to stop"

    took = quiet(demo)

    assert took < IDLE_WITHIN_S
    assert fresh_comparison_seconds(url, models) < 10.0
    # A reader who comes late learns why, instead of waiting forever.
    event, payload = read_job(url, "/run", posted[0].json()["event_id"])
    assert event == "error" and "Cancelled: nobody read its results" in payload["error"]


def test_a_run_whose_reader_goes_away_stops(page, models):
    demo, url = page
    posted = post_job(url, "/run", slow_run(models), parameter_order(url, "/run"), address="10.0.1.1")
    with httpx.stream("GET", f"{url}/gradio_api/call/run/{posted.json()['event_id']}", timeout=30) as stream:
        for line in stream.iter_lines():
            if 'data-status=\\"running\\"' in line:  # the engine is scoring
                assert seconds_until_idle(1.5) is None, "the run was not busy before its reader left"
                break  # leaving the loop closes the stream: the reader has gone

    assert quiet(demo) < IDLE_WITHIN_S


def test_a_visitor_holds_two_jobs_and_is_told_why_a_third_is_refused(page, models):
    demo, url = page
    greedy = Client(url, verbose=False, download_files=False, headers={"x-forwarded-for": "10.0.2.1"})
    other = Client(url, verbose=False, download_files=False, headers={"x-forwarded-for": "10.0.2.2"})
    args = slow_run(models)
    try:
        kept = [greedy.submit(**args, api_name="/compare") for _ in range(2)]
        time.sleep(1.0)  # both are in the queue before the third asks
        started = time.monotonic()
        third = greedy.submit(**args, api_name="/compare")
        with pytest.raises(ValidationError, match="2 comparisons queued or running, the limit per visitor") as refused:
            third.result(timeout=10)
        assert time.monotonic() - started < 5.0, "a refusal must come at once, not after a wait in the queue"
        assert "prompt" in str(refused.value)  # gradio_client names the input the message is attached to
        another = other.submit(**args, api_name="/compare")
        time.sleep(1.0)
        assert not another.done() and not any(job.done() for job in kept), "a visitor within the limit was refused"
        assert held(demo) == 3
        for job in [*kept, another]:
            job.cancel()  # gradio_client's cancel: the page stops the running one too
        quiet(demo)
    finally:
        greedy.close()
        other.close()


def test_an_address_holds_eight_jobs_however_many_sessions_it_opens(page, models):
    demo, url = page
    args = slow_run(models)
    order = parameter_order(url, "/compare")
    posted = [post_job(url, "/compare", args, order, address="10.0.3.1") for _ in range(9)]

    assert [p.status_code for p in posted] == [200] * 8 + [422]
    refusal = " ".join(item["message"] for item in posted[-1].json()["detail"])
    assert "8 comparisons queued or running, the limit per address" in refusal
    assert post_job(url, "/compare", args, order, address="10.0.3.2").status_code == 200  # another address
    quiet(demo)  # nobody reads them: given up within seconds


@pytest.mark.parametrize("route", ["/gradio_api/run/compare", "/gradio_api/api/run", "/gradio_api/run/next_tokens"])
def test_no_endpoint_runs_around_the_queue(page, route):
    _, url = page
    answer = httpx.post(f"{url}{route}", json={"data": []}, timeout=30)
    assert answer.status_code == 404
    assert "join the queue" in answer.json()["detail"]


@pytest.fixture(scope="module")
def short_page(tmp_path_factory, models):
    demo, url = serve(tmp_path_factory, models, request_seconds=LIMIT_S)
    yield demo, url
    wait_until_idle()
    demo.close()


def test_a_run_built_to_be_slow_ends_at_the_time_limit_with_its_columns_stopped(short_page, models):
    _, url = short_page
    client = Client(url, verbose=False, download_files=False)
    try:
        started = time.monotonic()
        outputs = client.predict(**slow_run(models), api_name="/run")
        took = time.monotonic() - started
    finally:
        client.close()

    assert took < LIMIT_S + MARGIN_S, f"{took:.1f} s for a {LIMIT_S} s limit"
    columns, status = outputs[:2], outputs[3]
    for column in columns:
        assert 'data-status="stopped"' in column
        assert f"request time limit of {LIMIT_S} s" in column
    assert "Stopped after" in status


def starlette_request(host: str, forwarded: str | None = None):
    from starlette.requests import Request

    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "client": (host, 50000)})


def refusals(admission, host: str, sessions: list[str], forwarded: str | None = None) -> list[bool]:
    """Ask for one job per entry of ``sessions`` at once (each admitted job counts as held)."""
    return [admission.refusal(starlette_request(host, forwarded), s) is not None for s in sessions]


def test_the_address_limit_counts_remote_addresses_and_spares_loopback():
    import gradio as gr

    from web.visitors import Admission, QueueRules

    with gr.Blocks() as blocks:
        gr.Markdown("queue only")
    blocks.queue()
    nine_sessions = [f"s{i}" for i in range(9)]

    remote = Admission(blocks, QueueRules(per_visitor=2, per_address=8))
    assert refusals(remote, "203.0.113.7", nine_sessions) == [False] * 8 + [True]
    assert refusals(remote, "203.0.113.8", ["x"]) == [False]  # another address is another visitor

    # A class on the server's own machine, or behind a local proxy that names nobody: one address
    # for everyone, so it is not limited by address; each session still is.
    local = Admission(blocks, QueueRules(per_visitor=2, per_address=8))
    assert refusals(local, "127.0.0.1", nine_sessions) == [False] * 9
    assert refusals(local, "::1", ["a", "a", "a"]) == [False, False, True]

    # Behind a proxy that names its clients, the named address counts, even on a loopback connection.
    proxied = Admission(blocks, QueueRules(per_visitor=2, per_address=8, forwarded_for="first"))
    assert refusals(proxied, "127.0.0.1", nine_sessions, forwarded="198.51.100.4, 10.0.0.1") == [False] * 8 + [True]
