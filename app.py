"""The Model Comparison Playground web page.

``build_demo()`` lays out the components and wires each event to a thin handler: the handler
turns page values into a ``playground`` request, runs the engine, and hands the results to
``playground.views`` for display. No model is loaded at import; the model cache is created on
first use. ``python app.py`` serves the page (``--host``/``--port`` or GRADIO_SERVER_NAME/PORT).
"""

from __future__ import annotations

import zerogpu  # first: on ZeroGPU, ``spaces`` must be imported before torch touches CUDA

# isort: split

import argparse
import contextlib
import functools
import json
import logging
import math
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import gradio as gr

from playground import remote, report, share, views, views_facts, views_metrics, views_teaching, views_tokens
from playground.cache import ModelCache
from playground.compare import (
    FINISHED,
    MAX_MODELS,
    Column,
    Request,
    Result,
    check_models,
    compare_stream,
)
from playground.compute import ACCELERATORS
from playground.distribution import MAX_CANDIDATES, Distribution, next_token_distribution
from playground.errors import PlaygroundError
from playground.facts import ModelFacts
from playground.generation import GenerationSettings
from playground.kinds import Kind
from playground.lecture import TEXT2TEXT_TASKS
from playground.limits import Limits
from playground.presets import DEFAULT_PRESET, Preset, load_presets
from playground.references import parse_reference
from playground.scoring import token_spans
from playground.views_common import short_label
from playground.views_style import CSS

log = logging.getLogger("playground.app")

STREAM_INTERVAL_S = 0.1
"""Least time between two page updates while tokens stream; a status change is always shown at once."""
CONCURRENCY = int(os.environ.get("PLAYGROUND_CONCURRENCY", "1"))
# Visitors waiting for a comparison; past it, the next is told "Queue is full! Please try again."
# at once instead of waiting minutes. 64 waiting comparisons of a few seconds each on a GPU Space
# is about the wait a visitor accepts; the queue itself holds no model memory.
QUEUE_SIZE = int(os.environ.get("PLAYGROUND_QUEUE_SIZE", "64"))
"""Comparisons that run at once. One by default: on a CPU two runs only slow each other down."""

PAGE_JS = """() => {
  const on = new URLSearchParams(window.location.search).get('projector');
  if (['1', 'true', 'yes', 'on'].includes((on || '').toLowerCase())) {
    const body = document.body;
    if (body.classList.contains('dark')) body.dataset.pgDark = '1';
    body.classList.add('projector');
    body.classList.remove('dark');
  }
}"""
# Projector mode forces the light theme (dark slides wash out on a projector) and restores the
# visitor's dark theme when it is switched off again.
PROJECTOR_JS = """(on) => {
  const body = document.body;
  if (on) {
    if (body.classList.contains('dark')) body.dataset.pgDark = '1';
    body.classList.remove('dark');
  } else if (body.dataset.pgDark) {
    body.classList.add('dark');
    delete body.dataset.pgDark;
  }
  body.classList.toggle('projector', !!on);
}"""


def launch_options() -> dict:
    """Theme, style and script: in Gradio 6 these go to ``launch()``, not to ``gr.Blocks``."""
    return {"theme": gr.themes.Default(primary_hue="blue"), "css": CSS, "js": PAGE_JS}


def serving_options() -> dict:
    """What the server allows a visitor beyond the page's own events (README, Security):
    no uploads (the page takes none), no file paths outside Gradio's cache, no internal error
    text (the page's own messages are gr.Error and are always shown), no monitoring dashboard
    and no MCP tools."""
    return {
        "max_file_size": 0,
        "allowed_paths": [],
        "show_error": False,
        "enable_monitoring": False,
        "mcp_server": False,
    }


@dataclass
class Snapshot:
    """The page's view of a comparison in flight: one result per column, and loading messages."""

    results: list[Result]
    progress: list[str | None]
    final: bool = False
    error: str | None = None  # the whole comparison failed (not one model)


SETTING_NAMES = ("preset", "model_1", "model_2", "model_3", "prompt", "target", "max_new_tokens", "decoding")
SETTING_NAMES += ("temperature", "top_p", "seed", "chat_template", "projector")
"""The page's settings inputs, in the order handlers take them. Handlers spell them out as
parameters, because Gradio names an endpoint's API parameters after the handler's."""


def settings_args(scope: dict) -> list:
    """A handler's settings parameters, in order, from its ``locals()``."""
    return [scope[name] for name in SETTING_NAMES]


COLUMN_DECODING = ("Same for every column", "Column 1 greedy, the others sampled")
EXTRA_OUTPUTS = ("notes", "task", "source_lang", "target_lang", "column_decoding", "tab")
"""What a preset sets beyond the share-link settings (``Playground.preset_extras``), in order."""
PLACEHOLDER = '<div class="pg-empty">Run a comparison to fill this view.</div>'
NEXT_PLACEHOLDER = (
    '<div class="pg-empty">Run, or press Show, to see what each model would write next. '
    "Top-k 0 keeps every token.</div>"
)


@dataclass(frozen=True)
class Lecture:
    """The run's settings beyond a share link's: an encoder-decoder task and its languages, and
    whether column 1 decodes greedily next to sampled columns (the decoding preset)."""

    task: str = ""
    source_lang: str = ""
    target_lang: str = ""
    greedy_first: bool = False

    @classmethod
    def from_inputs(cls, task: object, source_lang: object, target_lang: object, column_decoding: object) -> Lecture:
        """Checked page or API values; a wrong one is a page error that names it."""
        texts = {"task": task, "source language": source_lang, "target language": target_lang}
        for name, value in texts.items():
            if value is not None and not isinstance(value, str):
                raise gr.Error(f"The {name} must be text (got {type(value).__name__}).")
        try:
            check_unicode(texts)
        except PlaygroundError as exc:
            raise gr.Error(str(exc)) from None
        task = (task or "").strip()
        if task and task not in TEXT2TEXT_TASKS:
            raise gr.Error(f"The task must be one of none, {', '.join(TEXT2TEXT_TASKS)} (got '{task[:40]}').")
        if column_decoding not in (None, "", *COLUMN_DECODING):
            raise gr.Error(f"The column decoding must be one of: {'; '.join(COLUMN_DECODING)}.")
        return cls(
            task, (source_lang or "").strip(), (target_lang or "").strip(), column_decoding == COLUMN_DECODING[1]
        )


def compares_decoding(preset: Preset) -> bool:
    """A preset whose columns decode differently (greedy next to sampled) opens with column 1 greedy."""
    return any(column.do_sample is not None for column in preset.columns)


class Playground:
    """The page's handlers; one per app, shared by every visitor (the model cache is shared too)."""

    def __init__(self, presets: dict[str, Preset], cache: ModelCache | None = None, export_dir: Path | None = None):
        self.presets = presets
        self.default_preset = DEFAULT_PRESET if DEFAULT_PRESET in presets else next(iter(presets))
        self.limits = Limits.from_env({m.id for preset in presets.values() for m in preset.models})
        self._cache = cache
        self._cache_lock = threading.Lock()
        self._stops: dict[str, threading.Event] = {}
        self.export_dir = export_dir or Path(tempfile.mkdtemp(prefix="playground-exports-"))
        self.key = len(PLAYGROUNDS)
        PLAYGROUNDS[self.key] = self

    @property
    def cache(self) -> ModelCache:
        with self._cache_lock:
            if self._cache is None:
                # Pickle weights only where the administrator allowed them (PLAYGROUND_ALLOW_PICKLE).
                self._cache = ModelCache(allow_pickle=self.limits.allow_pickle)
            return self._cache

    # --- settings ---------------------------------------------------------------------------

    def settings(
        self,
        preset: str,
        model_1: str,
        model_2: str,
        model_3: str,
        prompt: str,
        target: str,
        max_new_tokens: float,
        decoding: str,
        temperature: float,
        top_p: float,
        seed: float,
        chat_template: str,
        projector: bool,
    ) -> share.Settings:
        """The page's inputs (``build_demo``'s ``settings_inputs``, in order) as one Settings; a value
        of the wrong kind (possible through the API) is a page error."""
        try:
            texts = {"preset": preset, "model 1": model_1, "model 2": model_2, "model 3": model_3}
            check_unicode(texts | {"prompt": prompt, "target": target})
            return share.from_inputs(
                preset=preset or self.default_preset,
                models=(model_1, model_2, model_3),
                prompt=prompt,
                target=target,
                max_new_tokens=max_new_tokens,
                decoding=decoding,
                temperature=temperature,
                top_p=top_p,
                seed=seed,
                template=chat_template,
                projector=projector,
            )
        except PlaygroundError as exc:
            raise gr.Error(str(exc)) from None

    def columns(
        self, settings: share.Settings, facts: dict | None = None, lecture: Lecture | None = None
    ) -> list[Column]:
        """The models to compare, each with its chat-template and decoding choice.

        Auto keeps a preset's per-model choice (a preset may show one model with and without its
        template); On and Off apply to every decoder, and On falls back to a plain prompt for a
        decoder that has no template (its label says so) instead of failing. With "column 1
        greedy, the others sampled" column 1 decodes greedily and the others sample.
        """
        greedy_first = bool(lecture and lecture.greedy_first)
        preset = self.presets.get(settings.preset)
        columns = []
        for i, ref in enumerate(settings.models):
            if not ref:
                continue
            choice = None
            if settings.template == "Auto":
                if preset and i < len(preset.models) and preset.models[i].id == ref:
                    choice = preset.models[i].use_chat_template
            else:
                known = (facts or {}).get(ref)
                if known is not None and known.kind == "decoder":
                    choice = settings.template == "On" and known.chat_template
            do_sample = (len(columns) > 0) if greedy_first else None
            columns.append(Column(ref, choice, do_sample))
        return columns

    def request(self, settings: share.Settings, lecture: Lecture | None = None) -> Request:
        lecture = lecture or Lecture()
        return Request(
            settings.prompt,
            settings.target or None,
            settings.generation(),
            task=lecture.task or None,
            source_lang=lecture.source_lang or None,
            target_lang=lecture.target_lang or None,
        )

    def check(self, settings: share.Settings, lecture: Lecture | None = None) -> tuple[list[Column], Request]:
        """Whole-request problems (no prompt, too long, wrong number of models) as a page error."""
        columns, request = self.columns(settings, lecture=lecture), self.request(settings, lecture)
        try:
            check_models(columns)
            request.check(self.limits)
        except PlaygroundError as exc:
            raise gr.Error(str(exc)) from None
        return columns, request

    # --- events -----------------------------------------------------------------------------

    def select_preset(self, name: str):
        """A preset fills the model slots, the first lecture prompt, its target, its examples, its task,
        its notes, and opens the results tab that makes its point."""
        preset = (isinstance(name, str) and self.presets.get(name)) or self.presets[self.default_preset]
        slots = views.preset_slots(preset)
        prompt, second = self.labelled_boxes(slots, preset.task)
        return (
            *slots,
            views.preset_markdown(preset),
            gr.Textbox(value=preset.prompts[0], **prompt),
            gr.Textbox(value=preset.target, **second),
            gr.Dataset(samples=[[p] for p in preset.prompts]),
            "Auto",
            *self.preset_extras(preset),
        )

    def preset_extras(self, preset: Preset) -> tuple:
        """What a preset sets beyond the share-link settings: notes, task, languages, decoding, tab."""
        return (
            views_teaching.preset_notes(preset),
            preset.task,
            preset.source_lang,
            preset.target_lang,
            COLUMN_DECODING[compares_decoding(preset)],
            gr.Tabs(selected=views_teaching.preset_view(preset)),
        )

    def restore(self, request: gr.Request):
        """Page load: the settings of a share link. Without one the page keeps what it shows (the
        default preset), so text typed while the page loads is not overwritten."""
        query = dict(request.query_params) if request else {}
        settings, warnings = share.decode(query, self.presets, self.default_preset, self.limits)
        for warning in warnings:
            gr.Warning(warning)
        if not share.link_has_settings(query):
            outputs = [gr.skip()] * (len(SETTING_NAMES) + 2 + len(EXTRA_OUTPUTS))
            outputs[SETTING_NAMES.index("projector")] = settings.projector
            return tuple(outputs)
        preset = self.presets[settings.preset]
        models = settings.models if share.link_names_models(settings) else tuple(views.preset_slots(preset))
        return (
            settings.preset,
            *models,
            settings.prompt or preset.prompts[0],
            settings.target or preset.target,
            settings.max_new_tokens,
            settings.decoding,
            settings.temperature,
            settings.top_p,
            settings.seed,
            settings.template,
            settings.projector,
            views.preset_markdown(preset),
            gr.Dataset(samples=[[p] for p in preset.prompts]),
            *self.preset_extras(preset),
        )

    def cached_facts(self, ref: str) -> ModelFacts | None:
        """Facts of a model already loaded; None if it is not (nothing is loaded here)."""
        try:
            if not isinstance(ref, str) or not ref.strip() or remote.is_remote(ref):
                return None
            if parse_reference(ref).label not in self.cache.names():
                return None
            return self.cache.get(ref).model.facts
        except PlaygroundError:
            return None

    def labelled_boxes(self, models: list[str], task: str) -> tuple[dict, dict]:
        """Labels of the prompt box and the second box for these models (as far as they are loaded)."""
        kinds = [f.kind for f in map(self.cached_facts, models) if f is not None]
        labels = views.box_labels(kinds, task)
        return (
            {"label": labels.prompt, "info": labels.prompt_info},
            {"label": labels.second, "info": labels.second_info},
        )

    def label_boxes(self, model_1: str, model_2: str, model_3: str, task: str):
        """Name the two boxes by what the loaded models do with them (a context and a question for QA)."""
        prompt, second = self.labelled_boxes([model_1, model_2, model_3], task if isinstance(task, str) else "")
        return gr.Textbox(**prompt), gr.Textbox(**second)

    def share_link(
        self,
        preset: str,
        model_1: str,
        model_2: str,
        model_3: str,
        prompt: str,
        target: str,
        max_new_tokens: float,
        decoding: str,
        temperature: float,
        top_p: float,
        seed: float,
        chat_template: str,
        projector: bool,
        request: gr.Request,
    ) -> str:
        """A link that reopens the page with these settings."""
        return share_url(
            self.settings(*settings_args(locals())),
            request,
        )

    def load_models(
        self,
        preset: str,
        model_1: str,
        model_2: str,
        model_3: str,
        prompt: str,
        target: str,
        max_new_tokens: float,
        decoding: str,
        temperature: float,
        top_p: float,
        seed: float,
        chat_template: str,
        projector: bool,
        progress=gr.Progress(),  # noqa: B008 - Gradio injects the page's progress bar through this default
    ):
        """Load (or convert, the first time) every model in the slots, with a progress bar."""
        settings = self.settings(*settings_args(locals()))
        columns = self.columns(settings)
        try:
            check_models(columns)
        except PlaygroundError as exc:
            raise gr.Error(str(exc)) from None
        labels, facts, errors, lines = [], [], [], []
        for i, col in enumerate(columns):
            progress(i / len(columns), desc=f"{col.reference}: loading")

            def report_progress(fraction: float, message: str, i: int = i) -> None:
                progress((i + min(max(fraction, 0.0), 1.0)) / len(columns), desc=message)

            labels.append(col.label)
            try:
                self.limits.check_model(col.reference)
                lease = self.cache.get(col.reference, progress=report_progress)
            except PlaygroundError as exc:
                facts.append(None)
                errors.append(str(exc))
                lines.append(f"- **{short_label(col.label)}**: {exc}")
                continue
            facts.append(lease.model.facts)
            errors.append(None)
            how = "already loaded" if lease.cached else f"loaded in {lease.load_seconds:.1f} s"
            lines.append(f"- **{short_label(col.label)}**: {how}")
        card = views_facts.facts_table(labels, facts, errors)
        return card, views.input_guide(labels, facts), "\n".join(lines), gr.Tabs(selected="facts")

    def training(self, preset: str, refs: list[str]) -> list[tuple[str, str]]:
        """What the preset states about each model's training, and where from: (text, source)."""
        models = self.presets[preset].models if isinstance(preset, str) and preset in self.presets else []
        stated = {m.id: (m.training, m.source) for m in models}
        return [stated.get(ref, ("", "")) for ref in refs]

    def stop(self, request: gr.Request):
        if request and request.session_hash in self._stops:
            self._stops[request.session_hash].set()

    def run(
        self,
        preset: str,
        model_1: str,
        model_2: str,
        model_3: str,
        prompt: str,
        target: str,
        max_new_tokens: float,
        decoding: str,
        temperature: float,
        top_p: float,
        seed: float,
        chat_template: str,
        projector: bool,
        task: str,
        source_lang: str,
        target_lang: str,
        column_decoding: str,
        request: gr.Request,
    ) -> Iterator[list]:
        """Stream every column at once; then fill the metrics, charts, tokens and exports."""
        settings = self.settings(*settings_args(locals()))
        lecture = Lecture.from_inputs(task, source_lang, target_lang, column_decoding)
        columns, req = self.check(settings, lecture)
        stop = threading.Event()
        session = request.session_hash if request and request.session_hash else ""
        self._stops[session] = stop
        page = PageState(len(columns), req)
        started = time.perf_counter()
        last_yield, last_statuses = 0.0, None
        try:
            for snap in self.snapshots(settings, columns, req, stop, lecture):
                statuses = [r.status for r in snap.results]
                now = time.perf_counter()
                if not snap.final and statuses == last_statuses and now - last_yield < STREAM_INTERVAL_S:
                    continue
                last_yield, last_statuses = now, statuses
                extra = self.final_outputs(settings, req, snap.results) if snap.final else None
                yield page.outputs(snap, run_status(snap, now - started), share_url(settings, request), extra)
                if snap.error:
                    raise gr.Error(snap.error)
        finally:
            stop.set()
            if self._stops.get(session) is stop:
                del self._stops[session]

    def compare(
        self,
        model_1: str,
        model_2: str,
        model_3: str = "",
        prompt: str = "",
        target: str = "",
        max_new_tokens: int = 48,
        sampling: bool = False,
        temperature: float = 0.8,
        top_p: float = 0.95,
        seed: int = 0,
        chat_template: str = "Auto",
        preset: str = "",
        task: str = "",
        source_lang: str = "",
        target_lang: str = "",
    ) -> dict:
        """Compare two or three models on one prompt; return the whole comparison as JSON (not streamed).

        Per-model failures are in that model's result ("status": "error"); a problem with the whole
        request (empty prompt, wrong number of models) is an error.
        """
        if not isinstance(sampling, bool):  # the text "false" is truthy: refuse it rather than sample
            raise gr.Error(f"sampling must be true or false (got {str(sampling)[:40]!r}).")
        shown = {"decoding": "Sampling" if sampling else "Greedy", "projector": False}
        settings = self.settings(*settings_args(locals() | shown))
        lecture = Lecture.from_inputs(task, source_lang, target_lang, None)
        columns, req = self.check(settings, lecture)
        results: list[Result] = []
        for snap in self.snapshots(settings, columns, req, threading.Event(), lecture):
            results = snap.results
            if snap.error:
                raise gr.Error(snap.error)
        return json.loads(report.to_json(results, settings.as_dict()))

    # --- running a comparison ---------------------------------------------------------------

    def snapshots(
        self,
        settings: share.Settings,
        columns: list[Column],
        req: Request,
        stop: threading.Event,
        lecture: Lecture | None = None,
    ) -> Iterator[Snapshot]:
        """The comparison as it advances: models load first (with their progress messages), then
        ``compare_stream`` runs them all at once. Runs in a worker thread so that loading messages
        and a stop request are seen while the engine blocks."""
        lecture = lecture or Lecture()
        events: queue.Queue = queue.Queue()
        refs = [c.reference for c in columns]
        thread = threading.Thread(
            target=self._pump, args=(settings, refs, req, lecture, events, stop), daemon=True, name="comparison"
        )
        thread.start()
        results = [Result(column.describe(req.generation), "loading") for column in columns]
        progress: list[str | None] = [None] * len(columns)
        yield Snapshot(list(results), list(progress))
        while True:
            try:
                kind, payload = events.get(timeout=0.2)
            except queue.Empty:
                kind, payload = "wait", None
            if stop.is_set():
                kind = "stop"
            elif kind == "wait":
                continue
            if kind == "progress":
                ref, message = payload
                progress = [message if r == ref else p for r, p in zip(refs, progress, strict=True)]
                yield Snapshot(list(results), list(progress))
            elif kind == "states":
                results = payload
                yield Snapshot(list(results), list(progress))
            else:  # "end", "stop" or "failed": no column is left spinning
                message = str(payload) if kind == "failed" else "Stopped before it finished."
                if kind != "end":
                    results = [unfinished_to_error(r, message) for r in results]
                yield Snapshot(list(results), list(progress), final=True, error=message if kind == "failed" else None)
                return

    def _pump(
        self, settings, refs: list[str], req: Request, lecture: Lecture, events: queue.Queue, stop: threading.Event
    ) -> None:
        try:
            leases = self._load_in_order(refs, events, stop)
            if stop.is_set():
                return
            facts = {ref: lease.model.facts for ref, lease in leases.items()}
            columns = self.columns(settings, facts, lecture)
            stream = comparison_states(self.key, columns, req, lecture)
            # Closing the stream (on a stop, or when the visitor leaves) stops every column at its
            # next token.
            with contextlib.closing(stream):
                for states in stream:
                    if stop.is_set():
                        return
                    costs = [with_load_cost(s, leases.get(c.reference)) for s, c in zip(states, columns, strict=True)]
                    events.put(("states", costs))
            events.put(("end", None))
        except PlaygroundError as exc:
            events.put(("failed", exc))
        except Exception as exc:
            log.exception("comparison failed")
            events.put(("failed", f"The comparison failed: {type(exc).__name__}: {exc}"))

    def comparison_states(self, columns: list[Column], req: Request, lecture: Lecture) -> Iterator[list[Result]]:
        """The columns' states as the models generate and score: the GPU part of a comparison."""
        return compare_stream(columns, req, self.cache, self.limits)

    def _load_in_order(self, refs: list[str], events: queue.Queue, stop: threading.Event) -> dict:
        """Load the models one after another in column order, reporting each one's progress (a
        first load converts packaged weights, which takes minutes). The engine runs no column
        before every model is loaded, so the columns still start together. A model that fails
        to load is left to ``compare_stream``, which puts the error in its column."""
        leases: dict = {}
        for ref in dict.fromkeys(refs):
            if stop.is_set():
                break

            def report_progress(fraction: float, message: str, ref: str = ref) -> None:
                events.put(("progress", (ref, f"{fraction:.0%} · {message}")))

            try:
                self.limits.check_model(ref)
                leases[ref] = self.cache.get(ref, progress=report_progress)
            except PlaygroundError:
                pass
            except Exception:
                log.exception("loading %s failed", ref)
        return leases

    def final_outputs(self, settings: share.Settings, req: Request, results: list[Result]) -> dict:
        """The size chart, tokenizer and surprise views, and the export files, made once the
        comparison is over."""
        refs = [m for m in settings.models if m]
        segments = {
            result.model: self.segmentation(ref, req.text)
            for result, ref in zip(results, refs, strict=False)
            if result.status == "done"
        }
        json_path = csv_path = None
        try:
            self.export_dir.mkdir(parents=True, exist_ok=True)
            prune(self.export_dir, EXPORT_SECONDS)
            folder = Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=self.export_dir))
            json_path, csv_path = folder / "comparison.json", folder / "comparison.csv"
            json_path.write_text(report.to_json(results, settings.as_dict()), encoding="utf-8")
            csv_path.write_text(report.to_csv(results), encoding="utf-8")
        except OSError as exc:  # a full disk costs the downloads, not the comparison on the page
            log.error("exports not written to %s: %s", self.export_dir, exc)
            gr.Warning(f"The JSON and CSV downloads could not be written on the server ({exc.strerror or exc}).")
            json_path = csv_path = None
        return {
            "size": views_metrics.size_chart(results),
            "tokenizers": views_tokens.tokenizer_view(req.text, results, segments),
            "surprise": views_tokens.surprise_view(req.text, req.target or "", results),
            "json": str(json_path) if json_path else None,
            "csv": str(csv_path) if csv_path else None,
        }

    def segmentation(self, ref: str, text: str) -> list[views_tokens.Segment]:
        """A loaded model's tokens of the text: (start, end, token as the tokenizer spells it)."""
        try:
            label = parse_reference(ref).label
            if label not in self.cache.names():
                return []
            tokenizer = self.cache.get(ref).model.tokenizer
            ids, spans = token_spans(tokenizer, text)
        except PlaygroundError:
            return []
        pieces = tokenizer.convert_ids_to_tokens(ids)
        return [(s, e, p) for (s, e), p in zip(spans, pieces, strict=True)]

    # --- teaching views ----------------------------------------------------------------------

    def next_tokens(
        self,
        model_1: str,
        model_2: str,
        model_3: str,
        prompt: str,
        position: float,
        temperature: float,
        top_p: float,
        top_k: float,
        candidates: float = 10,
    ) -> str:
        """Each model's most likely next tokens after ``prompt[:position]``, and what temperature,
        top-k and top-p leave for sampling. A model listed twice is shown once; models load if needed."""
        try:
            if not isinstance(prompt, str):
                raise PlaygroundError(f"The prompt must be text (got {type(prompt).__name__}).")
            if not prompt.strip():
                raise PlaygroundError("The prompt is empty: type a text to see what each model would write next.")
            self.limits.check_prompt(prompt)
            check_unicode({"prompt": prompt, "model 1": model_1, "model 2": model_2, "model 3": model_3})
            numbers = {"position": position, "temperature": temperature, "top-p": top_p, "top-k": top_k}
            position, temperature, top_p, top_k = (whole_or_fraction(name, v) for name, v in numbers.items())
            position, top_k, k = min(max(int(position), 0), len(prompt)), int(top_k), int(candidates)
            GenerationSettings(do_sample=True, temperature=temperature, top_p=top_p, top_k=top_k).check()
        except PlaygroundError as exc:
            raise gr.Error(str(exc)) from None
        refs = list(dict.fromkeys(m.strip() for m in (model_1, model_2, model_3) if isinstance(m, str) and m.strip()))
        if not refs:
            raise gr.Error("Put a model in at least one slot.")
        for ref in refs:  # loading is not GPU work: on ZeroGPU it happens outside the GPU call
            with contextlib.suppress(Exception):
                self.limits.check_model(ref)
                self.cache.get(ref)
        shown = distributions(self.key, refs, prompt, position, k, temperature, top_p, top_k)
        settings = f"temperature {temperature:g} · top-p {top_p:g} · top-k {top_k or 'off'}"
        return views_teaching.next_token_view(prompt, position, refs, shown, settings)

    def distribution(
        self, ref: str, prompt: str, position: int, k: int, temperature: float, top_p: float, top_k: int
    ) -> Distribution | str:
        """One model's next-token distribution, or the reason it has none (for its panel)."""
        if remote.is_remote(ref):
            return "A remote column sends text, not probabilities: it has no next-token view."
        try:
            self.limits.check_model(ref)
            lm = self.cache.get(ref).model
            if lm.kind is not Kind.ENCODER_DECODER:
                return next_token_distribution(lm, prompt, position, k, temperature, top_p, top_k)
            view = next_token_distribution(lm, prompt, None, k, temperature, top_p, top_k)
            note = "An encoder-decoder reads the whole text as its source: this is its first output token."
            return replace(view, note=note)
        except PlaygroundError as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - one model's failure must not take down the others' panels
            log.exception("next-token view of %s failed", ref)
            return f"{short_label(ref)} failed: {type(exc).__name__}: {exc}"

    def prompt_positions(self, prompt: str):
        """A new prompt: the position slider spans its characters and starts at its end, and the
        next-token view of the old prompt goes."""
        length = len(prompt) if isinstance(prompt, str) else 0
        return gr.Slider(minimum=0, maximum=max(length, 1), value=length), NEXT_PLACEHOLDER

    def estimate_cost(
        self,
        preset: str,
        model_1: str,
        model_2: str,
        model_3: str,
        training_tokens: str,
        accelerator: str,
        gpus: float,
        utilisation: float,
    ) -> str:
        """Training compute C = 6ND per loaded model and the days it takes: N from the model, D typed
        or as the preset states it. Nothing is loaded here: an unloaded model says so."""
        refs = [m.strip() for m in (model_1, model_2, model_3) if isinstance(m, str) and m.strip()]
        try:
            if not isinstance(training_tokens, str | None):
                raise PlaygroundError(
                    f"Training tokens must be text, e.g. 300B (got {type(training_tokens).__name__})."
                )
            check_unicode({"training tokens": training_tokens})
            tokens = views_facts.parse_tokens(training_tokens or "")
            if not isinstance(accelerator, str) or accelerator not in ACCELERATORS:
                raise PlaygroundError(f"Unknown accelerator '{accelerator}'. Known: {', '.join(ACCELERATORS)}.")
            gpus = whole_or_fraction("number of GPUs", gpus)
            if int(gpus) != gpus or gpus < 1:
                raise PlaygroundError(f"The number of GPUs must be a whole number of at least 1 (got {gpus:g}).")
            utilisation = whole_or_fraction("utilisation", utilisation)
            return views_facts.cost_view(
                refs,
                [self.cached_facts(ref) for ref in refs],
                self.training(preset, refs),
                tokens,
                accelerator,
                int(gpus),
                float(utilisation),
            )
        except PlaygroundError as exc:
            raise gr.Error(str(exc)) from None


PLAYGROUNDS: dict[int, Playground] = {}
"""Every Playground by key: a ZeroGPU function runs in a forked process and gets its arguments
pickled, so it is handed the key, not the object (its locks and queues do not pickle)."""


def _comparison_seconds(key: int, columns: list[Column], req: Request, lecture: Lecture) -> int:
    return zerogpu.duration(len(columns), req.generation.max_new_tokens, PLAYGROUNDS[key].limits.request_seconds)


def _comparison_states(key: int, columns: list[Column], req: Request, lecture: Lecture) -> Iterator[list[Result]]:
    """All of one comparison's GPU work, every model's: one ZeroGPU call per comparison."""
    yield from PLAYGROUNDS[key].comparison_states(columns, req, lecture)


comparison_states = zerogpu.gpu(_comparison_states, _comparison_seconds)


def _next_token_seconds(key: int, *args) -> int:
    return zerogpu.MIN_SECONDS


def _distributions(key: int, refs: list[str], prompt: str, position: int, k: int, *sampling) -> list:
    """Each model's next-token distribution (one forward pass per model), in one ZeroGPU call."""
    playground = PLAYGROUNDS[key]
    return [playground.distribution(ref, prompt, position, k, *sampling) for ref in refs]


distributions = zerogpu.gpu(_distributions, _next_token_seconds)


def check_unicode(texts: dict[str, object]) -> None:
    """Refuse text that UTF-8 cannot hold (a lone surrogate, which JSON can carry) before a
    tokenizer or a link meets it; ``texts`` maps each input's name to its value."""
    for name, value in texts.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise PlaygroundError(
                    f"The {name} is not valid text: character {exc.start + 1} is a lone surrogate "
                    f"({value[exc.start]!r}), half of a character. Paste the text again."
                ) from None


def _numbers_only(preprocess):
    """Gradio's slider compares whatever an API client sends with its bounds, so ``None`` or text
    ended in a TypeError instead of a message; this checks the value first, for every slider.
    (Patched on the class: a subclass of a Gradio component makes Gradio write a .pyi file beside
    this one at import, and updated sliders are rebuilt from their class, not from an instance.)"""
    if getattr(preprocess, "numbers_only", False):
        return preprocess

    @functools.wraps(preprocess)
    def checked(self, payload):
        if isinstance(payload, bool) or not isinstance(payload, int | float) or not math.isfinite(payload):
            raise gr.Error(f"{self.label or 'A slider'} must be a finite number (got {str(payload)[:40]!r}).")
        return preprocess(self, payload)

    checked.numbers_only = True
    return checked


gr.Slider.preprocess = _numbers_only(gr.Slider.preprocess)


EXPORT_SECONDS = 3600
"""How long a run's JSON and CSV stay on the server: Gradio serves its own copies, which its
``delete_cache`` removes; these originals are pruned by the next run after this long."""


def prune(folder: Path, max_age_s: float) -> None:
    """Delete the run folders in ``folder`` older than ``max_age_s``; one that vanishes meanwhile
    (another run pruning) is fine."""
    cutoff = time.time() - max_age_s
    for run in folder.iterdir():
        with contextlib.suppress(OSError):
            if run.is_dir() and run.stat().st_mtime < cutoff:
                shutil.rmtree(run)


def whole_or_fraction(name: str, value: object) -> float:
    """A finite number from a page or API value, or a PlaygroundError that names it."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PlaygroundError(f"The {name} must be a finite number (got {str(value)[:40]!r}).")
    return float(value)


def with_load_cost(result: Result, lease) -> Result:
    """A model loaded for this run (before ``compare_stream`` found it cached) keeps its load time."""
    if lease is None or lease.cached:
        return result
    return replace(result, load_seconds=lease.load_seconds, load_cached=False)


def unfinished_to_error(result: Result, message: str) -> Result:
    if result.status in FINISHED:
        return result
    return replace(result, status="error", error=message)


def run_status(snap: Snapshot, seconds: float) -> str:
    done = sum(r.status in FINISHED for r in snap.results)
    if snap.final:
        failed = sum(r.status == "error" for r in snap.results)
        return f"Finished in {seconds:.1f} s" + (f" · {failed} of {len(snap.results)} failed" if failed else "")
    if any(r.status == "loading" for r in snap.results):
        return f"Loading models… {seconds:.0f} s"
    return f"Running… {done} of {len(snap.results)} finished"


def share_url(settings: share.Settings, request: gr.Request | None) -> str:
    """An absolute link to this page with the settings in its query (the page's own address when
    the browser sent it, else the address the request came to)."""
    base = ""
    headers = dict(request.headers) if request is not None and getattr(request, "headers", None) else {}
    referer = headers.get("referer", "")
    if referer.startswith(("http://", "https://")):
        parts = urlsplit(referer)
        base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    elif headers.get("host"):
        scheme = headers.get("x-forwarded-proto", "http").split(",")[0].strip()
        host = headers.get("x-forwarded-host", headers["host"]).split(",")[0].strip()
        base = f"{scheme}://{host}/"
    return f"{base}?{share.encode(settings)}"


class PageState:
    """What the page shows of a comparison. Every update carries every output: Gradio sends a
    streamed event's outputs as differences from the previous update, so unchanged parts cost
    nothing on the wire."""

    def __init__(self, count: int, request: Request):
        self.count = count
        self.request = request
        self.facts_html = views_facts.facts_table([], [], [])
        self.guide = ""

    def outputs(self, snap: Snapshot, status: str, link: str, extra: dict | None) -> list:
        results, req = snap.results, self.request
        kinds_differ = len({r.facts.kind for r in results if r.facts}) > 1
        columns = [
            gr.HTML(
                value=views.column(i, results[i], snap.progress[i], req.text, req.target or "", kinds_differ),
                visible=True,
            )
            if i < self.count
            else gr.HTML(value="", visible=False)
            for i in range(MAX_MODELS)
        ]
        facts = [r.facts for r in results]
        if any(facts):
            labels = [r.model for r in results]
            self.facts_html = views_facts.facts_table(labels, facts, [r.error for r in results])
            templates = [r.generation.prompt.chat_template if r.generation else None for r in results]
            self.guide = views.input_guide(labels, facts, req.task or "", templates)
        extra = extra or {}
        return [
            *columns,
            status,
            self.facts_html,
            self.guide,
            views_metrics.metrics_table(results),
            views_metrics.missing_notes(results),
            views_metrics.charts(results),
            extra.get("size", ""),
            extra.get("tokenizers", ""),
            extra.get("surprise", ""),
            gr.DownloadButton(value=extra.get("json"), interactive=bool(extra.get("json"))),
            gr.DownloadButton(value=extra.get("csv"), interactive=bool(extra.get("csv"))),
            link,
        ]


# --- the page -------------------------------------------------------------------------------


def finite(label: str | None, payload: object) -> None:
    """Refuse a value that is not a finite number with a message that names the input: Gradio's
    own checks fail on None, text and NaN with an unexplained TypeError or ValueError."""
    try:
        number = float(payload)  # gradio_client may send "3" or "nan" as text
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(payload, bool) or not math.isfinite(number):
        raise gr.Error(f"{label or 'The number'} must be a finite number (got {str(payload)[:40]!r}).")


def refuse_non_numbers(component: gr.Slider | gr.Number) -> None:
    """Make a slider or number box answer a missing (slider), infinite or non-numeric API value
    with a message naming it (see ``finite``). Done on the instance: Gradio writes a .pyi stub
    next to any module that defines a component subclass."""
    preprocess = component.preprocess

    def checked(payload):
        if payload is None and isinstance(component, gr.Number):
            return None  # an empty number box: the handler's default
        finite(component.label, payload)
        return preprocess(float(payload))

    component.preprocess = checked


def build_demo(
    presets: dict[str, Preset] | None = None, cache: ModelCache | None = None, export_dir: Path | None = None
) -> gr.Blocks:
    """The page. By default: the preset folder, a model cache made on first use, exports in a temp folder."""
    handlers = Playground(presets or load_presets(), cache, export_dir)
    preset = handlers.presets[handlers.default_preset]
    slots = views.preset_slots(preset)
    boxes = views.box_labels([], preset.task)
    with gr.Blocks(title="Model Comparison Playground", delete_cache=(3600, 86400)) as demo:
        with gr.Row(equal_height=True):
            gr.Markdown("# Model Comparison Playground", elem_id="pg-header")
            projector = gr.Checkbox(label="Projector mode", value=False, scale=0, min_width=190, elem_id="pg-projector")
        preset_box = gr.Dropdown(
            views.preset_choices(handlers.presets),
            value=handlers.default_preset,
            label="Model set (preset)",
            elem_id="pg-preset",
        )
        preset_info = gr.Markdown(views.preset_markdown(preset), elem_id="pg-preset-info")
        with gr.Row():
            slot_boxes = [
                gr.Textbox(
                    value=slots[i],
                    label=f"Model {i + 1}" + (" (optional)" if i == MAX_MODELS - 1 else ""),
                    placeholder="packaged name, Hub id (owner/name) or local folder",
                    elem_id=f"pg-model-{i + 1}",
                    max_lines=1,
                )
                for i in range(MAX_MODELS)
            ]
        with gr.Row():
            load_button = gr.Button("Load models", scale=0, min_width=160, elem_id="pg-load")
            load_status = gr.Markdown(elem_id="pg-load-status")
        with gr.Row(equal_height=True, elem_id="pg-task-row"):
            task = gr.Radio(
                [(label, value) for label, value in views.TASK_CHOICES],
                value=preset.task,
                label="Encoder-decoder task",
                info="T5 gets a prefix, Marian a language pair, mBART language codes; other kinds ignore it.",
                scale=3,
                elem_id="pg-task",
            )
            source_lang = gr.Textbox(
                value=preset.source_lang, label="Source language", placeholder="en", scale=1, max_lines=1
            )
            target_lang = gr.Textbox(
                value=preset.target_lang, label="Target language", placeholder="fr", scale=1, max_lines=1
            )
        with gr.Row():
            prompt = gr.Textbox(
                value=preset.prompts[0],
                label=boxes.prompt,
                info=boxes.prompt_info,
                lines=3,
                scale=3,
                elem_id="pg-prompt",
            )
            target = gr.Textbox(
                value=preset.target,
                label=boxes.second,
                info=boxes.second_info,
                lines=3,
                scale=2,
                elem_id="pg-target",
            )
        input_help = gr.Markdown(elem_id="pg-input-guide")
        examples = gr.Examples(
            [[p] for p in preset.prompts],
            inputs=[prompt],
            cache_examples=False,
            label="Lecture prompts (click one)",
            api_name="pick_example",
            preload=False,
        )
        with gr.Accordion("Generation settings", open=False, elem_id="pg-settings"):
            with gr.Row():
                bounds = share.RANGES
                max_tokens = gr.Slider(
                    **_range(share.Range(1, handlers.limits.max_new_tokens, 1)),
                    value=48,
                    label="Max new tokens",
                    elem_id="pg-max-tokens",
                )
                decoding = gr.Radio(list(share.DECODING_CHOICES), value="Greedy", label="Decoding")
                template = gr.Radio(
                    list(share.TEMPLATE_CHOICES),
                    value="Auto",
                    label="Use chat template",
                    info="Auto: instruct models use theirs",
                )
            with gr.Row():
                temperature = gr.Slider(**_range(bounds["temperature"]), value=0.8, label="Temperature (sampling)")
                top_p = gr.Slider(**_range(bounds["top_p"]), value=0.95, label="Top-p (sampling)")
                seed = gr.Number(
                    value=0, precision=0, minimum=0, maximum=bounds["seed"].high, label="Seed", elem_id="pg-seed"
                )
                column_decoding = gr.Radio(
                    list(COLUMN_DECODING),
                    value=COLUMN_DECODING[compares_decoding(preset)],
                    label="Columns",
                    info="Greedy next to sampled: the sampled columns use the temperature, top-p and seed here.",
                    elem_id="pg-column-decoding",
                )
        with gr.Row():
            run_button = gr.Button("Run", variant="primary", size="lg", elem_id="pg-run")
            stop_button = gr.Button("Stop", variant="stop", size="lg", scale=0, min_width=120, elem_id="pg-stop")
        run_status_md = gr.Markdown(elem_id="pg-run-status")
        with gr.Row(equal_height=False, elem_id="pg-results"):
            with gr.Column(scale=4, min_width=640), gr.Tabs(selected=views_teaching.preset_view(preset)) as tabs:
                with gr.Tab("Outputs", id="outputs", elem_id="pg-tab-outputs"), gr.Row(equal_height=False):
                    column_html = [
                        gr.HTML(
                            views.idle_column(i, slots[i]),
                            elem_id=f"pg-col-{i + 1}",
                            min_width=280,
                            visible=bool(slots[i]),
                        )
                        for i in range(MAX_MODELS)
                    ]
                with gr.Tab("Size & metrics", id="size", elem_id="pg-tab-size"):
                    size_html = gr.HTML(elem_id="pg-size")
                    metrics_table = gr.HTML(views_metrics.metrics_table([]), elem_id="pg-metrics")
                    missing_md = gr.Markdown(elem_id="pg-missing")
                    charts_html = gr.HTML(elem_id="pg-charts")
                with gr.Tab("Tokenizers", id="tokens", elem_id="pg-tab-tokens"):
                    tokens_html = gr.HTML(PLACEHOLDER, elem_id="pg-tokens")
                with gr.Tab("Surprise", id="surprise", elem_id="pg-tab-surprise"):
                    surprise_html = gr.HTML(PLACEHOLDER, elem_id="pg-surprise")
                with gr.Tab("Next token", id="next", elem_id="pg-tab-next"):
                    # One row, so that moving a control and seeing the bars change fit on one screen.
                    with gr.Row(equal_height=True, elem_id="pg-next-controls"):
                        position = gr.Slider(
                            0,
                            len(preset.prompts[0]),
                            value=len(preset.prompts[0]),
                            step=1,
                            label="Position (characters)",
                            scale=3,
                            min_width=200,
                            elem_id="pg-position",
                        )
                        next_temperature = gr.Slider(
                            **_range(bounds["temperature"]), value=0.8, label="Temperature", scale=2, min_width=150
                        )
                        next_top_p = gr.Slider(
                            **_range(bounds["top_p"]), value=0.95, label="Top-p", scale=2, min_width=150
                        )
                        next_top_k = gr.Slider(
                            0,
                            MAX_CANDIDATES,
                            value=0,
                            step=1,
                            label="Top-k",
                            scale=2,
                            min_width=150,
                            elem_id="pg-next-k",
                        )
                        next_button = gr.Button("Show", scale=0, min_width=110, elem_id="pg-next-show")
                    next_html = gr.HTML(NEXT_PLACEHOLDER, elem_id="pg-next")
                with gr.Tab("Facts & cost", id="facts", elem_id="pg-tab-facts"):
                    with gr.Row(equal_height=True):
                        training_tokens = gr.Textbox(
                            label="Training tokens",
                            placeholder="as published, or e.g. 300B",
                            max_lines=1,
                            elem_id="pg-cost-tokens",
                        )
                        accelerator = gr.Dropdown(
                            list(ACCELERATORS), value=views_facts.DEFAULT_ACCELERATOR, label="GPU", elem_id="pg-gpu"
                        )
                        gpus = gr.Number(value=views_facts.DEFAULT_GPUS, precision=0, minimum=1, label="GPUs")
                        utilisation = gr.Slider(
                            0.05, 1.0, value=views_facts.DEFAULT_UTILISATION, step=0.05, label="Utilisation (MFU)"
                        )
                    cost_html = gr.HTML(elem_id="pg-cost")
                    facts_html = gr.HTML(views_facts.facts_table([], [], []), elem_id="pg-facts")
            with gr.Column(scale=1, min_width=240, elem_id="pg-notes-col"):
                notes_md = gr.Markdown(views_teaching.preset_notes(preset), elem_id="pg-notes")
        with gr.Row():
            json_button = gr.DownloadButton("Download JSON", interactive=False, elem_id="pg-json")
            csv_button = gr.DownloadButton("Download CSV", interactive=False, elem_id="pg-csv")
            link_button = gr.Button("Make share link", elem_id="pg-make-link")
        share_box = gr.Textbox(label="Share link (reopens these settings)", buttons=["copy"], elem_id="pg-share")

        settings_inputs = [preset_box, *slot_boxes, prompt, target, max_tokens, decoding]
        settings_inputs += [temperature, top_p, seed, template, projector]
        assert len(settings_inputs) == len(SETTING_NAMES)
        lecture_inputs = [task, source_lang, target_lang, column_decoding]
        preset_extras = [notes_md, *lecture_inputs, tabs]
        assert len(preset_extras) == len(EXTRA_OUTPUTS)
        run_outputs = [*column_html, run_status_md, facts_html, input_help, metrics_table, missing_md, charts_html]
        run_outputs += [size_html, tokens_html, surprise_html, json_button, csv_button, share_box]
        label_inputs = [*slot_boxes, task]
        next_inputs = [*slot_boxes, prompt, position, next_temperature, next_top_p, next_top_k]
        cost_inputs = [preset_box, *slot_boxes, training_tokens, accelerator, gpus, utilisation]
        quiet = {"api_visibility": "undocumented", "show_progress": "hidden"}

        preset_box.input(
            handlers.select_preset,
            preset_box,
            [*slot_boxes, preset_info, prompt, target, examples.dataset, template, *preset_extras],
            api_name="select_preset",
        )
        demo.load(
            handlers.restore,
            None,
            [*settings_inputs, preset_info, examples.dataset, *preset_extras],
            api_name="restore_settings",
        )
        projector.change(None, projector, None, js=PROJECTOR_JS, api_name="projector")
        task.input(handlers.label_boxes, label_inputs, [prompt, target], api_name="label_boxes", queue=False)
        prompt.change(
            handlers.prompt_positions, prompt, [position, next_html], api_name="prompt_positions", queue=False
        )
        load = load_button.click(
            handlers.load_models,
            settings_inputs,
            [facts_html, input_help, load_status, tabs],
            api_name="load_models",
            concurrency_id="models",
            concurrency_limit=CONCURRENCY,
            trigger_mode="once",
        )
        run = run_button.click(
            handlers.run,
            [*settings_inputs, *lecture_inputs],
            run_outputs,
            api_name="run",
            concurrency_id="models",
            concurrency_limit=CONCURRENCY,
            trigger_mode="once",
            show_progress="minimal",
            show_progress_on=[run_status_md],
        )
        for name, event in (("load", load), ("run", run)):
            event.success(
                handlers.label_boxes, label_inputs, [prompt, target], api_name=f"label_boxes_after_{name}", **quiet
            )
            event.success(
                handlers.estimate_cost, cost_inputs, cost_html, api_name=f"estimate_cost_after_{name}", **quiet
            )
        run.success(
            handlers.next_tokens,
            next_inputs,
            next_html,
            api_name="next_tokens_after_run",
            concurrency_id="models",
            **quiet,
        )
        next_button.click(handlers.next_tokens, next_inputs, next_html, api_name="next_tokens", concurrency_id="models")
        gr.on(
            [position.release, next_temperature.release, next_top_p.release, next_top_k.release],
            handlers.next_tokens,
            next_inputs,
            next_html,
            api_name="next_tokens_on_change",
            concurrency_id="models",
            trigger_mode="always_last",
            **quiet,
        )
        gr.on(
            [training_tokens.submit, accelerator.input, gpus.submit, utilisation.release],
            handlers.estimate_cost,
            cost_inputs,
            cost_html,
            api_name="estimate_cost",
        )
        stop_button.click(handlers.stop, None, None, api_name="stop", queue=False)
        link_button.click(handlers.share_link, settings_inputs, share_box, api_name="share_link", queue=False)
        gr.api(
            handlers.compare,
            api_name="compare",
            concurrency_id="models",
            concurrency_limit=CONCURRENCY,
        )
    for block in demo.blocks.values():
        if isinstance(block, gr.Slider | gr.Number):
            refuse_non_numbers(block)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    return demo


def _range(bounds: share.Range) -> dict:
    return {"minimum": bounds.low, "maximum": bounds.high, "step": bounds.step}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the Model Comparison Playground.")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    build_demo().launch(server_name=args.host, server_port=args.port, **launch_options(), **serving_options())


if __name__ == "__main__":
    main()
