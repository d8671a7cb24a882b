"""Small load tests: a classroom against a short queue, and a greedy visitor among fair ones.

The page runs one comparison at a time. Ten visitors against a queue of three: every request
must end (within a time limit) in a finished comparison or in the queue-full answer, in words a
visitor understands. A greedy visitor who submits ten jobs at once holds two of them (the
per-visitor limit, ``web.visitors``); the rest are refused at once, and the others are all
served. Afterwards the page answers a fresh request. The same code as ``scripts/load_test.py``,
on a smaller scale.
"""

from __future__ import annotations

import pytest

from scripts.load_test import GREEDY, check_health, is_busy, is_refused, launch_tiny_app, run_load
from tests.conftest_app import wait_until_idle

CLIENTS, REQUESTS, QUEUE_SIZE = 10, 2, 3
TIME_LIMIT_S = 60.0
GREEDY_JOBS = 10


@pytest.fixture(scope="module")
def small_queue_page(tmp_path_factory: pytest.TempPathFactory):
    demo, url, models = launch_tiny_app(tmp_path_factory.mktemp("load"), queue_size=QUEUE_SIZE)
    yield url, models
    wait_until_idle()
    demo.close()


@pytest.fixture(scope="module")
def fair_page(tmp_path_factory: pytest.TempPathFactory):
    demo, url, models = launch_tiny_app(tmp_path_factory.mktemp("fair"))
    yield url, models
    wait_until_idle()
    demo.close()


def test_every_request_finishes_or_is_told_the_queue_is_full(small_queue_page):
    url, models = small_queue_page
    # 32 new tokens keep each comparison long enough for the first wave to overflow the queue.
    outcomes = run_load(url, models, CLIENTS, REQUESTS, max_new_tokens=32, timeout_s=TIME_LIMIT_S)

    assert len(outcomes) == CLIENTS * REQUESTS
    assert [o for o in outcomes if o.status not in ("ok", "busy")] == [], "requests failed or hung"
    busy = [o for o in outcomes if o.status == "busy"]
    assert busy, f"a queue of {QUEUE_SIZE} never filled with {CLIENTS} visitors"
    assert all(is_busy(o.message) for o in busy)
    assert any(o.status == "ok" and o.endpoint == "/compare" for o in outcomes)
    assert any(o.status == "ok" and o.endpoint == "/run" for o in outcomes)
    health = check_health(url, models, max_new_tokens=8)
    assert health.status == "ok", health.message


def test_a_greedy_visitor_holds_two_jobs_and_every_other_visitor_is_served(fair_page):
    url, models = fair_page
    outcomes = run_load(url, models, 4, 1, max_new_tokens=32, timeout_s=TIME_LIMIT_S, greedy=GREEDY_JOBS)

    greedy = [o for o in outcomes if o.client == GREEDY]
    others = [o for o in outcomes if o.client != GREEDY]
    assert [o.status for o in others] == ["ok"] * 4, [o.message for o in others]
    refused = [o for o in greedy if o.status == "refused"]
    # Two held; one more may slip in if a held job ends before the burst's last job arrives.
    assert len(refused) >= GREEDY_JOBS - 3, [o.status for o in greedy]
    assert {o.status for o in greedy} <= {"ok", "refused"}
    assert all(is_refused(o.message) and "limit per visitor" in o.message for o in refused)
    assert max(o.seconds for o in refused) < 5.0, "refusals must come at once, not after a wait in the queue"
