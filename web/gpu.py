"""The page's GPU work, as module-level functions that ``zerogpu.gpu`` may wrap.

On ZeroGPU a marked function runs in a forked process with its arguments pickled, so it is
handed keys, not objects: the page's key in ``PAGES`` (its model cache and limits) and the run's
key in ``CANCELLED`` (its Stop event). Elsewhere the functions run as they are. Models are
loaded before these are called (``web.runs``), outside the GPU call, as ZeroGPU wants.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import Protocol

import zerogpu
from playground.cache import ModelCache
from playground.compare import Column, Request, Result, compare_stream
from playground.distribution import Distribution
from playground.limits import Limits


class Page(Protocol):
    """What the GPU functions need of a page."""

    cache: ModelCache
    limits: Limits

    def distribution(self, column: Column, prompt: str, position: int, k: int, *sampling) -> Distribution | str: ...


PAGES: dict[int, Page] = {}
CANCELLED: dict[int, threading.Event] = {}
_keys = itertools.count()


def register(page: Page) -> int:
    key = next(_keys)
    PAGES[key] = page
    return key


def comparison(key: int, columns: list[Column], request: Request, stop: threading.Event) -> Iterator[list[Result]]:
    """The engine's states of one comparison; setting ``stop`` stops every column at its next token."""
    run = next(_keys)
    CANCELLED[run] = stop
    try:
        for states in comparison_states(key, run, columns, request):
            yield states
            if stop.is_set() and zerogpu.SPACES is not None:
                # On ZeroGPU the call runs in a forked worker, which never sees ``stop`` set here:
                # closing its stream is what ends it (the page marks the columns stopped).
                return
    finally:
        CANCELLED.pop(run, None)


def _comparison_seconds(key: int, run: int, columns: list[Column], request: Request) -> int:
    limit = PAGES[key].limits.request_seconds
    return zerogpu.duration(len(columns), request.generation.max_new_tokens, limit)


def _comparison_states(key: int, run: int, columns: list[Column], request: Request) -> Iterator[list[Result]]:
    """All of one comparison's GPU work, every model's: one ZeroGPU call per comparison."""
    page = PAGES[key]
    yield from compare_stream(columns, request, page.cache, page.limits, CANCELLED.get(run))


comparison_states = zerogpu.gpu(_comparison_states, _comparison_seconds)


def _next_token_seconds(key: int, *args) -> int:
    return zerogpu.MIN_SECONDS


def _distributions(key: int, columns: list[Column], prompt: str, position: int, k: int, *sampling) -> list:
    """Each column's next-token distribution (one forward pass per model), in one ZeroGPU call."""
    page = PAGES[key]
    return [page.distribution(column, prompt, position, k, *sampling) for column in columns]


distributions = zerogpu.gpu(_distributions, _next_token_seconds)
