"""A small load test: ten visitors at once against a page whose queue holds only three.

The page runs one comparison at a time, so most of the first wave waits in the queue or is
turned away. Every request must end (within a time limit) in a finished comparison or in the
queue-full answer, which must say so in words a visitor understands, and the page must answer
a fresh request afterwards. The same code as ``scripts/load_test.py``, on a smaller scale.
"""

from __future__ import annotations

import pytest

from scripts.load_test import check_health, is_busy, launch_tiny_app, run_load
from tests.conftest_app import wait_until_idle

CLIENTS, REQUESTS, QUEUE_SIZE = 10, 2, 3
TIME_LIMIT_S = 60.0


@pytest.fixture(scope="module")
def small_queue_page(tmp_path_factory: pytest.TempPathFactory):
    demo, url, models = launch_tiny_app(tmp_path_factory.mktemp("load"), queue_size=QUEUE_SIZE)
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
