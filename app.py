"""The Model Comparison Playground web page.

``build_demo()`` lays out the components and wires each event to a thin handler: the handler
turns page values into a ``playground`` request, runs the engine, and hands the results to
``playground.views`` for display. No model is loaded at import; the model cache is created on
first use. ``python app.py`` serves the page (``--host``/``--port`` or GRADIO_SERVER_NAME/PORT).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import queue
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import gradio as gr

from playground import report, share, views
from playground.cache import ModelCache
from playground.compare import MAX_MODELS, Column, Request, Result, check_models, compare_stream
from playground.errors import PlaygroundError
from playground.limits import Limits
from playground.presets import DEFAULT_PRESET, Preset, load_presets
from playground.references import parse_reference
from playground.scoring import token_spans

log = logging.getLogger("playground.app")

STREAM_INTERVAL_S = 0.1
"""Least time between two page updates while tokens stream; a status change is always shown at once."""
CONCURRENCY = int(os.environ.get("PLAYGROUND_CONCURRENCY", "1"))
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
    return {"theme": gr.themes.Default(primary_hue="blue"), "css": views.CSS, "js": PAGE_JS}


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

    @property
    def cache(self) -> ModelCache:
        with self._cache_lock:
            if self._cache is None:
                self._cache = ModelCache()
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

    def columns(self, settings: share.Settings, facts: dict | None = None) -> list[Column]:
        """The models to compare, each with its chat-template choice.

        Auto keeps a preset's per-model choice (a preset may show one model with and without its
        template); On and Off apply to every decoder, and On falls back to a plain prompt for a
        decoder that has no template (its label says so) instead of failing.
        """
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
            columns.append(Column(ref, choice))
        return columns

    def request(self, settings: share.Settings) -> Request:
        return Request(settings.prompt, settings.target or None, settings.generation())

    def check(self, settings: share.Settings) -> tuple[list[Column], Request]:
        """Whole-request problems (no prompt, too long, wrong number of models) as a page error."""
        columns, request = self.columns(settings), self.request(settings)
        try:
            check_models(columns)
            request.check(self.limits)
        except PlaygroundError as exc:
            raise gr.Error(str(exc)) from None
        return columns, request

    # --- events -----------------------------------------------------------------------------

    def select_preset(self, name: str):
        """A preset fills the model slots, the first lecture prompt, its target and its examples."""
        preset = self.presets.get(name) or self.presets[self.default_preset]
        return (
            *views.preset_slots(preset),
            views.preset_markdown(preset),
            preset.prompts[0],
            preset.target,
            gr.Dataset(samples=[[p] for p in preset.prompts]),
            "Auto",
        )

    def restore(self, request: gr.Request):
        """Page load: the settings of a share link. Without one the page keeps what it shows (the
        default preset), so text typed while the page loads is not overwritten."""
        query = dict(request.query_params) if request else {}
        settings, warnings = share.decode(query, self.presets, self.default_preset, self.limits)
        for warning in warnings:
            gr.Warning(warning)
        if not share.link_has_settings(query):
            outputs = [gr.skip()] * (len(SETTING_NAMES) + 2)
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
        )

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
                lines.append(f"- **{views.short_label(col.label)}**: {exc}")
                continue
            facts.append(lease.model.facts)
            errors.append(None)
            how = "already loaded" if lease.cached else f"loaded in {lease.load_seconds:.1f} s"
            lines.append(f"- **{views.short_label(col.label)}**: {how}")
        return views.facts_table(labels, facts, errors), views.input_guide(labels, facts), "\n".join(lines)

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
        request: gr.Request,
    ) -> Iterator[list]:
        """Stream every column at once; then fill the metrics, charts, tokens and exports."""
        settings = self.settings(*settings_args(locals()))
        columns, req = self.check(settings)
        stop = threading.Event()
        session = request.session_hash if request and request.session_hash else ""
        self._stops[session] = stop
        page = PageState(len(columns))
        started = time.perf_counter()
        last_yield, last_statuses = 0.0, None
        try:
            for snap in self.snapshots(settings, columns, req, stop):
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
    ) -> dict:
        """Compare two or three models on one prompt; return the whole comparison as JSON (not streamed).

        Per-model failures are in that model's result ("status": "error"); a problem with the whole
        request (empty prompt, wrong number of models) is an error.
        """
        shown = {"decoding": "Sampling" if sampling else "Greedy", "projector": False}
        settings = self.settings(*settings_args(locals() | shown))
        columns, req = self.check(settings)
        results: list[Result] = []
        for snap in self.snapshots(settings, columns, req, threading.Event()):
            results = snap.results
            if snap.error:
                raise gr.Error(snap.error)
        return json.loads(report.to_json(results, settings.as_dict()))

    # --- running a comparison ---------------------------------------------------------------

    def snapshots(
        self, settings: share.Settings, columns: list[Column], req: Request, stop: threading.Event
    ) -> Iterator[Snapshot]:
        """The comparison as it advances: models load first (with their progress messages), then
        ``compare_stream`` runs them all at once. Runs in a worker thread so that loading messages
        and a stop request are seen while the engine blocks."""
        events: queue.Queue = queue.Queue()
        refs = [c.reference for c in columns]
        thread = threading.Thread(
            target=self._pump, args=(settings, refs, req, events, stop), daemon=True, name="comparison"
        )
        thread.start()
        results = [Result(c.label, "loading") for c in columns]
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

    def _pump(self, settings, refs: list[str], req: Request, events: queue.Queue, stop: threading.Event) -> None:
        try:
            leases = self._load_in_order(refs, events, stop)
            if stop.is_set():
                return
            columns = self.columns(settings, {ref: lease.model.facts for ref, lease in leases.items()})
            # Closing the engine's stream (on a stop, or when the visitor leaves) stops every
            # column at its next token.
            with contextlib.closing(compare_stream(columns, req, self.cache, self.limits)) as stream:
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
        """Token view and export files, made once the comparison is over."""
        segments = {}
        for result, ref in zip(results, [m for m in settings.models if m], strict=False):
            if result.status == "done" and result.score is None:
                segments[result.model] = self.segmentation(ref, req.text)
        self.export_dir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=self.export_dir))
        json_path, csv_path = folder / "comparison.json", folder / "comparison.csv"
        json_path.write_text(report.to_json(results, settings.as_dict()), encoding="utf-8")
        csv_path.write_text(report.to_csv(results), encoding="utf-8")
        return {
            "tokens": views.token_view(req.text, req.target or "", results, segments),
            "json": str(json_path),
            "csv": str(csv_path),
        }

    def segmentation(self, ref: str, text: str) -> list[views.Segment]:
        """A loaded model's tokens of the text, for models that give no per-token scores."""
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


def with_load_cost(result: Result, lease) -> Result:
    """A model loaded for this run (before ``compare_stream`` found it cached) keeps its load time."""
    if lease is None or lease.cached:
        return result
    return replace(result, load_seconds=lease.load_seconds, load_cached=False)


def unfinished_to_error(result: Result, message: str) -> Result:
    if result.status in ("done", "error"):
        return result
    return replace(result, status="error", error=message)


def run_status(snap: Snapshot, seconds: float) -> str:
    done = sum(r.status in ("done", "error") for r in snap.results)
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

    def __init__(self, count: int):
        self.count = count
        self.facts_html = views.facts_table([], [], [])
        self.guide = ""

    def outputs(self, snap: Snapshot, status: str, link: str, extra: dict | None) -> list:
        results = snap.results
        columns = [
            gr.HTML(value=views.column(i, results[i], snap.progress[i]), visible=True)
            if i < self.count
            else gr.HTML(value="", visible=False)
            for i in range(MAX_MODELS)
        ]
        facts = [r.facts for r in results]
        if any(facts):
            labels = [r.model for r in results]
            self.facts_html = views.facts_table(labels, facts, [r.error for r in results])
            self.guide = views.input_guide(labels, facts)
        return [
            *columns,
            status,
            self.facts_html,
            self.guide,
            views.metrics_table(results),
            views.missing_notes(results),
            views.charts(results),
            extra["tokens"] if extra else "",
            gr.DownloadButton(value=extra["json"] if extra else None, interactive=bool(extra)),
            gr.DownloadButton(value=extra["csv"] if extra else None, interactive=bool(extra)),
            link,
        ]


# --- the page -------------------------------------------------------------------------------


def build_demo(
    presets: dict[str, Preset] | None = None, cache: ModelCache | None = None, export_dir: Path | None = None
) -> gr.Blocks:
    """The page. By default: the preset folder, a model cache made on first use, exports in a temp folder."""
    handlers = Playground(presets or load_presets(), cache, export_dir)
    preset = handlers.presets[handlers.default_preset]
    slots = views.preset_slots(preset)
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
        with gr.Accordion("Model facts", open=True):
            facts_html = gr.HTML(views.facts_table([], [], []), elem_id="pg-facts")
            input_help = gr.Markdown(elem_id="pg-input-guide")
        with gr.Row():
            prompt = gr.Textbox(
                value=preset.prompts[0],
                label="Prompt",
                info="Decoders continue or answer it; a masked LM fills its [MASK]; an embedding model compares "
                "its lines or sentences.",
                lines=3,
                scale=3,
                elem_id="pg-prompt",
            )
            target = gr.Textbox(
                value=preset.target,
                label="Target / second sentence",
                info="An encoder-decoder's reference output (scored given the prompt), or a second sentence "
                "for an embedding model.",
                lines=3,
                scale=2,
                elem_id="pg-target",
            )
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
        with gr.Row():
            run_button = gr.Button("Run", variant="primary", size="lg", elem_id="pg-run")
            stop_button = gr.Button("Stop", variant="stop", size="lg", scale=0, min_width=120, elem_id="pg-stop")
        run_status_md = gr.Markdown(elem_id="pg-run-status")
        with gr.Row(equal_height=False):
            column_html = [
                gr.HTML(
                    views.idle_column(i, slots[i]), elem_id=f"pg-col-{i + 1}", min_width=300, visible=bool(slots[i])
                )
                for i in range(MAX_MODELS)
            ]
        gr.Markdown("## Metrics")
        metrics_table = gr.HTML(views.metrics_table([]), elem_id="pg-metrics")
        missing_md = gr.Markdown(elem_id="pg-missing")
        charts_html = gr.HTML(elem_id="pg-charts")
        gr.Markdown("## Tokens")
        tokens_html = gr.HTML(elem_id="pg-tokens")
        with gr.Row():
            json_button = gr.DownloadButton("Download JSON", interactive=False, elem_id="pg-json")
            csv_button = gr.DownloadButton("Download CSV", interactive=False, elem_id="pg-csv")
            link_button = gr.Button("Make share link", elem_id="pg-make-link")
        share_box = gr.Textbox(label="Share link (reopens these settings)", buttons=["copy"], elem_id="pg-share")

        settings_inputs = [preset_box, *slot_boxes, prompt, target, max_tokens, decoding]
        settings_inputs += [temperature, top_p, seed, template, projector]
        assert len(settings_inputs) == len(SETTING_NAMES)
        run_outputs = [*column_html, run_status_md, facts_html, input_help, metrics_table, missing_md, charts_html]
        run_outputs += [tokens_html]
        run_outputs += [json_button, csv_button, share_box]

        preset_box.input(
            handlers.select_preset,
            preset_box,
            [*slot_boxes, preset_info, prompt, target, examples.dataset, template],
            api_name="select_preset",
        )
        demo.load(
            handlers.restore,
            None,
            [*settings_inputs, preset_info, examples.dataset],
            api_name="restore_settings",
        )
        projector.change(None, projector, None, js=PROJECTOR_JS, api_name="projector")
        load_button.click(
            handlers.load_models,
            settings_inputs,
            [facts_html, input_help, load_status],
            api_name="load_models",
            concurrency_id="models",
            concurrency_limit=CONCURRENCY,
            trigger_mode="once",
        )
        run_button.click(
            handlers.run,
            settings_inputs,
            run_outputs,
            api_name="run",
            concurrency_id="models",
            concurrency_limit=CONCURRENCY,
            trigger_mode="once",
            show_progress="minimal",
            show_progress_on=[run_status_md],
        )
        stop_button.click(handlers.stop, None, None, api_name="stop", queue=False)
        link_button.click(handlers.share_link, settings_inputs, share_box, api_name="share_link", queue=False)
        gr.api(
            handlers.compare,
            api_name="compare",
            concurrency_id="models",
            concurrency_limit=CONCURRENCY,
        )
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=64)
    return demo


def _range(bounds: share.Range) -> dict:
    return {"minimum": bounds.low, "maximum": bounds.high, "step": bounds.step}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the Model Comparison Playground.")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    build_demo().launch(server_name=args.host, server_port=args.port, **launch_options())


if __name__ == "__main__":
    main()
