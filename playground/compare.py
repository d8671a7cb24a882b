"""Run the same input through two or three models and collect one result per model.

Each model runs in its own worker thread and reports progress into one queue, so a caller (the
command line, a notebook, the web page) sees every column advance at the same time. A model that
fails to load or to run becomes that column's error message; the other columns carry on.
"""

from __future__ import annotations

import gc
import logging
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import torch

from playground import remote
from playground.cache import ModelCache
from playground.encoders import (
    Embeddings,
    FillMask,
)
from playground.errors import PlaygroundError, Stopped, for_visitor
from playground.facts import ModelFacts
from playground.generation import Generation, GenerationSettings
from playground.limits import GENERATING, Deadline, Limits, checkpoint, within
from playground.model_work import run_one
from playground.scoring import Score

log = logging.getLogger(__name__)
MIN_MODELS, MAX_MODELS = 2, 3
FINISHED = ("done", "stopped", "error")
"""Statuses after which a column changes no more. "stopped": cancelled or at the time limit, with
what it produced so far; not a failure."""


@dataclass(frozen=True)
class Request:
    """One input for all models. ``target`` is an encoder-decoder's reference output, or a second
    sentence to compare with for embedding encoders."""

    text: str
    target: str | None = None
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    score: bool = True
    task: str | None = None  # encoder-decoders: summarization, translation or generative_qa
    source_lang: str | None = None
    target_lang: str | None = None

    def check(self, limits: Limits | None = None) -> None:
        limits = limits or Limits()
        for name in ("text", "target", "task", "source_lang", "target_lang"):
            value = getattr(self, name)
            if not (isinstance(value, str) or (value is None and name != "text")):
                raise PlaygroundError(f"The {name.replace('_', ' ')} must be text (got {type(value).__name__}).")
        if not isinstance(self.generation, GenerationSettings):
            raise PlaygroundError("The generation settings must be a GenerationSettings.")
        if not self.text.strip():
            raise PlaygroundError("The prompt is empty: type a prompt or a text to compare the models on.")
        limits.check_prompt(self.text)
        if self.target is not None:
            limits.check_prompt(self.target, "target")
        tokens = self.generation.max_new_tokens
        if isinstance(tokens, int) and not isinstance(tokens, bool):
            limits.check_new_tokens(tokens)  # the deployment's cap first: it is the one to report
        self.generation.check()


@dataclass(frozen=True)
class Result:
    """Everything one model produced for one request, or the reason it could not."""

    model: str
    status: str  # "loading" | "running" | "done" | "stopped" | "error"
    facts: ModelFacts | None = None
    output: str = ""
    error: str | None = None  # why it failed, or why it stopped
    generation: Generation | None = None
    score: Score | None = None
    fill_mask: FillMask | None = None
    embeddings: Embeddings | None = None
    text_tokens: int | None = None
    special_tokens: int | None = None
    characters_per_token: float | None = None
    tokens_per_word: float | None = None
    load_seconds: float | None = None
    load_cached: bool | None = None
    memory_growth_bytes: int | None = None
    peak_memory_bytes: int | None = None
    not_defined: dict[str, str] = field(default_factory=dict)
    task: str | None = None
    task_result: object | None = None  # Classification, Entities, Answer or Text2TextResult
    task_seconds: float | None = None


@dataclass(frozen=True)
class Column:
    """One model in a comparison, with the decoding choices that are its own.

    The same model may appear twice with different settings: with and without its chat template
    (base vs instruct), or greedy next to sampled (the decoding lecture point). ``None`` takes the
    request's setting.
    """

    reference: str
    use_chat_template: bool | None = None
    do_sample: bool | None = None

    @property
    def label(self) -> str:
        """The reference, and what this column decides for itself."""
        return self.describe(None)

    def describe(self, settings: GenerationSettings | None) -> str:
        """The label, with the sampling settings of a sampled column when ``settings`` are given."""
        own = []
        if self.use_chat_template is not None:
            own.append("chat template" if self.use_chat_template else "plain prompt")
        if self.do_sample is False:
            own.append("greedy")
        elif self.do_sample:
            how = settings and f": T {settings.temperature:g}, top-p {settings.top_p:g}, seed {settings.seed}"
            own.append(f"sampled{how or ''}")
        return f"{self.reference} ({', '.join(own)})" if own else self.reference

    def generation(self, settings: GenerationSettings) -> GenerationSettings:
        """The request's generation settings with this column's own choices applied."""
        if self.use_chat_template is not None:
            settings = replace(settings, use_chat_template=self.use_chat_template)
        if self.do_sample is not None:
            settings = replace(settings, do_sample=self.do_sample)
        return settings


def as_columns(models: list) -> list[Column]:
    return [m if isinstance(m, Column) else Column(str(m)) for m in models]


def check_models(models: list) -> None:
    if isinstance(models, str) or not isinstance(models, list | tuple):
        raise PlaygroundError(
            f"models must be a list of {MIN_MODELS} or {MAX_MODELS} models, e.g. "
            f"['smollm2-135m-instruct', 'gemma-3-270m'] (got {type(models).__name__})."
        )
    if not MIN_MODELS <= len(models) <= MAX_MODELS:
        raise PlaygroundError(f"Compare {MIN_MODELS} or {MAX_MODELS} models; {len(models)} given.")


def compare(models: list, request: Request, cache: ModelCache, limits: Limits | None = None) -> list[Result]:
    """Run the request through every model and return the final result of each, in order."""
    states: list[Result] = []
    for states in compare_stream(models, request, cache, limits):  # noqa: B007 - only the last state is wanted
        pass
    return states


def threads_per_model(models: int) -> int:
    """CPU threads each model's operations may use when ``models`` run side by side.

    torch gives every operation all cores by default; with two models decoding at once on two
    cores that oversubscribes the CPU. Measured on a 2-core machine (offline default preset,
    16 new tokens): SmolLM2 3.7 and Gemma 2.5 tok/s with torch's default, 8.3 and 5.4 tok/s with
    one thread each.
    """
    return max(1, (os.cpu_count() or 1) // models)


class _ThreadSetting:
    """torch's intra-op threads while comparisons run, and the caller's setting once the last ends.

    The setting is process-wide: a comparison that ends while another runs must not restore it
    under the other's feet."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running = 0
        self._before = 0

    def enter(self, threads: int) -> None:
        with self._lock:
            if self._running == 0:
                self._before = torch.get_num_threads()
            self._running += 1
            torch.set_num_threads(threads)

    def leave(self) -> None:
        with self._lock:
            self._running -= 1
            if self._running == 0:
                torch.set_num_threads(self._before)


_threads = _ThreadSetting()


@dataclass(frozen=True)
class _Run:
    """What every worker of one comparison shares."""

    request: Request
    cache: ModelCache
    limits: Limits
    events: queue.Queue
    loaded: threading.Barrier  # no column runs before all have loaded: a load would skew latency
    deadline: Deadline  # its event is set when the caller stops listening (tab closed, preset changed)


def compare_stream(
    models: list,
    request: Request,
    cache: ModelCache,
    limits: Limits | None = None,
    cancelled: threading.Event | None = None,
) -> Iterator[list[Result]]:
    """Yield the state of every column each time one of them changes; the last yield is final.

    Every column stops at its next checkpoint (a token, a scoring window) when the caller stops
    iterating (closes the generator), when ``cancelled`` is set, or at the request time limit;
    it then keeps what it has, with status "stopped".
    """
    limits = limits or Limits()
    check_models(models)
    if not isinstance(request, Request):
        raise PlaygroundError(
            f"The request must be a Request, e.g. Request({str(request)[:40]!r}), not {type(request).__name__}; "
            "or call playground.compare_many(models, prompts)."
        )
    request.check(limits)
    columns = as_columns(models)
    if cache.device.type == "cpu":
        _threads.enter(threads_per_model(len(columns)))
    states = [Result(column.describe(request.generation), "loading") for column in columns]
    run = _Run(
        request,
        cache,
        limits,
        queue.Queue(),
        threading.Barrier(len(columns)),
        Deadline.after(limits.request_seconds, cancelled),
    )
    workers = [threading.Thread(target=_worker, args=(i, c, run), daemon=True) for i, c in enumerate(columns)]
    for worker in workers:
        worker.start()
    try:
        yield list(states)
        running = len(workers)
        while running:
            index, state = run.events.get()
            states[index] = state
            if state.status in FINISHED:
                running -= 1
            yield list(states)
    finally:
        run.deadline.cancelled.set()
        if cache.device.type == "cpu":
            _threads.leave()


def _worker(index: int, column: Column, run: _Run) -> None:
    with within(run.deadline):
        _work(index, column, run)


def _work(index: int, column: Column, run: _Run) -> None:
    state = Result(column.describe(run.request.generation), "loading")
    request = replace(run.request, generation=column.generation(run.request.generation))
    try:
        if remote.is_remote(column.reference):
            yield_remote = _remote_column(index, column, request, state, run)
            for state in yield_remote:  # noqa: B020 - the column's latest state is kept for errors
                run.events.put((index, state))
            return
        try:
            run.limits.check_model(column.reference)
            lease = run.cache.get(column.reference)
        finally:
            run.loaded.wait()
        state = replace(
            state, status="running", facts=lease.model.facts, load_seconds=lease.load_seconds, load_cached=lease.cached
        )
        run.events.put((index, state))
        for update in run_one(lease.model, request, state, run):
            state = update
            run.events.put((index, state))
    except Stopped as exc:
        run.events.put((index, replace(state, status="stopped", error=str(exc), output=exc.output or state.output)))
    except PlaygroundError as exc:
        run.events.put((index, replace(state, status="error", error=str(exc))))
    except (torch.OutOfMemoryError, MemoryError):
        state = replace(state, generation=None)  # drop references to tensors before releasing memory
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        message = (
            f"{column.label} ran out of memory on this request; the memory was released. "
            "Try a shorter prompt or fewer new tokens."
        )
        run.events.put((index, replace(state, status="error", error=message)))
    except Exception as exc:  # noqa: BLE001 - one model's failure must not take down the others
        log.exception("model %s failed", column.label)
        message = f"{column.label} failed: {type(exc).__name__}: {for_visitor(str(exc), column.reference)}"
        run.events.put((index, replace(state, status="error", error=message)))


def _remote_column(index: int, column: Column, request: Request, state: Result, run: _Run) -> Iterator[Result]:
    """A column served by an OpenAI-compatible server: configured by name, never by a typed URL."""
    try:
        run.limits.check_model(column.reference)
        server = remote.server_config(column.reference)
    finally:
        run.loaded.wait()
    state = replace(state, status="running")
    yield state
    for state in remote.run_one(server, request, state):  # noqa: B020
        yield state
        checkpoint(GENERATING)
