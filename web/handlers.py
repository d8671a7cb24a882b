"""The page's handlers: parse the settings, call ``playground``, hand the results to ``web.render``.

One ``Handlers`` per page, shared by every visitor (so is the model cache). Handlers take the
settings by name (``**values``: the events pass the schema's components by name, ``web.settings``
checks them) and return their outputs by name; ``web.events`` puts names and components together.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from playground import report
from playground.cache import ModelCache
from playground.compare import Column, Request, Result, check_models
from playground.errors import PlaygroundError
from playground.kinds import Kind
from playground.limits import Limits
from playground.presets import DEFAULT_PRESET, Preset
from playground.scoring import token_spans
from web import exports, gpu, offline
from web.escape import error, esc, warning
from web.render import columns as render
from web.render import facts as facts_view
from web.render import status
from web.results import RUN_OUTPUTS, RunView, cleared, final_views
from web.runs import Comparison
from web.selection import Selection, ordered, share_url
from web.settings import COLUMN_DECODING, LOAD, RUN, Settings, parse
from web.teaching import Teaching
from web.watchdog import cancel_when_abandoned

STREAM_INTERVAL_S = 0.1
"""Least time between two page updates while tokens stream; a status change is always shown at once."""
SUPERSEDE_WAIT_S = 5.0
"""Longest wait for a superseded run's last update to reach the page (it ends at its next update)."""


class Handlers(Selection, Teaching):
    """Every handler of one page: presets and links (``Selection``), the teaching views' controls
    (``Teaching``), and here the runs: Run, /compare, Load models, Stop, an edited prompt."""

    def __init__(self, presets: dict[str, Preset], cache: ModelCache | None = None, export_dir: Path | None = None):
        self.presets = presets
        self.default_preset = DEFAULT_PRESET if DEFAULT_PRESET in presets else next(iter(presets))
        self.limits = Limits.from_env({m.id for preset in presets.values() for m in preset.models})
        self._cache = cache
        self._cache_lock = threading.Lock()
        self._runs: dict[str, Comparison] = {}
        self.export_dir = export_dir or Path(tempfile.mkdtemp(prefix="playground-exports-"))
        self.offline_presets = {name for name, p in presets.items() if offline.preset_unavailable(p)}
        self.key = gpu.register(self)

    @property
    def cache(self) -> ModelCache:
        with self._cache_lock:
            if self._cache is None:
                # Pickle weights only where the administrator allowed them (PLAYGROUND_ALLOW_PICKLE).
                self._cache = ModelCache(allow_pickle=self.limits.allow_pickle)
            return self._cache

    # --- settings ---------------------------------------------------------------------------

    def parse(self, values: dict, names: tuple[str, ...]) -> Settings:
        try:
            return parse(values, self.limits, names)
        except PlaygroundError as exc:
            raise error(exc) from None

    def preset(self, name: str) -> Preset | None:
        return self.presets.get(name)

    def columns(self, settings: Settings, facts: dict | None = None) -> list[Column]:
        """The models to compare, each with its chat-template and decoding choice.

        Auto keeps a preset's per-model choice (a preset may show one model with and without its
        template); On and Off apply to every decoder, and On falls back to a plain prompt for a
        decoder that has no template (its label says so). With "column 1 greedy, the others
        sampled" column 1 decodes greedily and the others sample.
        """
        preset = self.preset(settings.preset)
        sampled_after_first = settings.column_decoding == COLUMN_DECODING[1]
        chosen = []
        for i, ref in enumerate(settings.models):
            if not ref:
                continue
            template = None
            if settings.chat_template == "Auto":
                if preset and i < len(preset.models) and preset.models[i].id == ref:
                    template = preset.models[i].use_chat_template
            elif (known := (facts or {}).get(ref)) is not None and known.kind == Kind.DECODER:
                template = settings.chat_template == "On" and known.chat_template
            chosen.append(Column(ref, template, (len(chosen) > 0) if sampled_after_first else None))
        return chosen

    def check(self, settings: Settings) -> tuple[list[Column], Request]:
        """Whole-request problems (no prompt, too long, wrong number of models) as a page error."""
        chosen = self.columns(settings)
        request = Request(
            settings.prompt,
            settings.target or None,
            settings.generation(),
            task=settings.task or None,
            source_lang=settings.source_lang.strip() or None,
            target_lang=settings.target_lang.strip() or None,
        )
        try:
            check_models(chosen)
            request.check(self.limits)
        except PlaygroundError as exc:
            raise error(exc) from None
        return chosen, request

    def hub_needed(self, settings: Settings) -> offline.HubNeeded | None:
        """The models that need the unreachable Hub, with the preset to use instead; None if none do."""
        missing = offline.unavailable(settings.models, self.cache.names())
        if not missing:
            return None
        name = offline.stand_in(self.preset(settings.preset), self.presets, self.default_preset)
        return offline.HubNeeded(tuple(missing), name, self.presets[name].title)

    # --- loading and running ----------------------------------------------------------------

    def load_models(self, progress=gr.Progress(), **values) -> tuple:  # noqa: B008 - Gradio injects the progress bar
        """Load (or convert, the first time) every model in the slots, with a progress bar."""
        settings = self.parse(values, LOAD)
        refs = [ref for ref in settings.models if ref]
        if (hub := self.hub_needed(settings)) is not None:
            raise error(hub.message)
        try:
            check_models(refs)
        except PlaygroundError as exc:
            raise error(exc) from None
        labels, facts, errors, lines = [], [], [], []
        for i, ref in enumerate(refs):
            progress(i / len(refs), desc=f"{ref}: loading")

            def report(fraction: float, message: str, i: int = i) -> None:
                progress((i + min(max(fraction, 0.0), 1.0)) / len(refs), desc=message)

            labels.append(ref)
            try:
                self.limits.check_model(ref)
                lease = self.cache.get(ref, progress=report)
            except PlaygroundError as exc:
                facts.append(None)
                errors.append(str(exc))
                lines.append(f"<li><b>{esc(render.short_label(ref))}</b>: {esc(exc)}</li>")
                continue
            facts.append(lease.model.facts)
            errors.append(None)
            how = "already loaded" if lease.cached else f"loaded in {lease.load_seconds:.1f} s"
            lines.append(f"<li><b>{esc(render.short_label(ref))}</b>: {how}</li>")
        card = facts_view.facts_table(labels, facts, errors)
        summary = f'<ul class="pg-load-status">{"".join(lines)}</ul>'
        return card, render.input_guide(labels, facts), summary, gr.Tabs(selected="facts")

    def run(self, request: gr.Request, **values) -> Iterator[list]:
        """Stream every column at once; then fill the metrics, charts, tokens and exports."""
        settings = self.parse(values, RUN)
        chosen, req = self.check(settings)
        if (hub := self.hub_needed(settings)) is not None:
            switch = gr.Button(f"Switch to “{hub.stand_in_title}”", visible=True)
            yield ordered({"status": status.hub_needed(hub.message, req.text), "switch": switch}, RUN_OUTPUTS)
            return
        session = request.session_hash if request and request.session_hash else ""
        self.supersede(session)
        comparison = self.comparison(settings, chosen, req)
        self._runs[session] = comparison
        view, link = RunView(req, len(chosen)), share_url(settings, request)
        try:
            # Nobody reading (web.watchdog): the comparison stops at its next token.
            with cancel_when_abandoned(comparison.close):
                yield from self._stream(settings, req, comparison, view, link)
        finally:
            comparison.close()
            if self._runs.get(session) is comparison:
                del self._runs[session]
            comparison.shown.set()

    def _stream(self, settings: Settings, req: Request, comparison: Comparison, view: RunView, link: str) -> Iterator:
        """The run's updates: at most one every STREAM_INTERVAL_S while tokens stream, a status change
        at once, the final views last."""
        last_yield, last_statuses = 0.0, None
        for snap in comparison.snapshots():
            if comparison.superseded:
                break
            statuses = [r.status for r in snap.results]
            now = time.monotonic()
            if not snap.final and statuses == last_statuses and now - last_yield < STREAM_INTERVAL_S:
                continue
            last_yield, last_statuses = now, statuses
            seconds = now - comparison.started
            final = self.final_outputs(settings, req, snap.results, comparison) if snap.final else None
            yield ordered(view.outputs(snap, seconds, link, final), RUN_OUTPUTS)
            if snap.error:
                raise error(snap.error)
        if comparison.superseded and comparison.replacement is not None:
            # The run's last word is what replaced it, so no earlier update can land after it.
            yield ordered(comparison.replacement, RUN_OUTPUTS)

    def comparison(self, settings: Settings, chosen: list[Column], req: Request) -> Comparison:
        return Comparison(
            references=[c.reference for c in chosen],
            request=req,
            limits=self.limits,
            cache=self.cache,
            columns_for=lambda facts: self.columns(settings, facts),
            states=lambda cols, request, stop: gpu.comparison(self.key, cols, request, stop),
            labels=[c.describe(req.generation) for c in chosen],
        )

    def compare(self, **values) -> dict:
        """Compare two or three models on one prompt; return the whole comparison as JSON (not streamed).

        Per-model failures are in that model's result ("status": "error"); a problem with the whole
        request (empty prompt, wrong number of models, a model that needs the unreachable Hub) is
        an error.
        """
        settings = self.parse(values, RUN)
        chosen, req = self.check(settings)
        if (hub := self.hub_needed(settings)) is not None:
            raise error(hub.message)
        comparison = self.comparison(settings, chosen, req)
        results: list[Result] = []
        try:
            with cancel_when_abandoned(comparison.close):
                for snap in comparison.snapshots():
                    results = snap.results
                    if snap.error:
                        raise error(snap.error)
        finally:
            comparison.close()
        columns = comparison.columns or None
        return json.loads(report.to_json(results, settings.as_dict(), request=req, columns=columns, producer="api"))

    def stop(self, request: gr.Request) -> None:
        """Stop this visitor's run: every column keeps its text so far, with status "stopped"."""
        if request and request.session_hash in self._runs:
            self._runs[request.session_hash].stop()

    def supersede(self, session: str, replacement: dict | None = None) -> Comparison | None:
        """End this visitor's run in flight, if any, with ``replacement`` (outputs by name) as its
        last update, and wait until the page has had it: what the caller shows next is then not
        overwritten by the old run."""
        comparison = self._runs.pop(session, None)
        if comparison is not None:
            comparison.close(replacement)
            comparison.shown.wait(timeout=SUPERSEDE_WAIT_S)
        return comparison

    def edited(self, request: gr.Request) -> list:
        """The prompt changed during a run: the run stops and its views are cleared, so that no
        result of the old prompt lands in them. Without a run in flight nothing changes (the
        results keep the prompt they are for in their status line)."""
        running = self._runs.get(request.session_hash) if request else None
        if running is None:
            return ordered({}, RUN_OUTPUTS)
        views = cleared(running.references + [""] * 3)
        self.supersede(request.session_hash, views)
        return ordered(views, RUN_OUTPUTS)

    def final_outputs(self, settings: Settings, req: Request, results: list[Result], comparison: Comparison) -> dict:
        """The views drawn once the engine is done, under the request's deadline, and the exports."""
        training = self.stated_training(settings, comparison.references)
        views = final_views(
            req, results, comparison.references, self.segmentation, comparison.deadline(), training, comparison.columns
        )
        try:
            json_path, csv_path = exports.write(self.export_dir, results, settings.as_dict(), req, comparison.columns)
        except OSError as exc:  # a full disk costs the downloads, not the comparison on the page
            warning(f"The JSON and CSV downloads could not be written on the server ({exc.strerror or exc}).")
            return views
        return views | {"json": str(json_path), "csv": str(csv_path)}

    def stated_training(self, settings: Settings, references: list[str]) -> list[str | None]:
        """What the preset states about each column's training data, where the column holds one of
        the preset's models (None elsewhere)."""
        stated = {m.id: m.training for m in getattr(self.preset(settings.preset), "models", [])}
        return [stated.get(ref) or None for ref in references]

    def segmentation(self, ref: str, text: str) -> list:
        """A loaded model's tokens of the text: (start, end, token as the tokenizer spells it)."""
        try:
            loaded = self.cache.peek(ref)
            if loaded is None:
                return []
            tokenizer = loaded.tokenizer
            ids, spans = token_spans(tokenizer, text)
        except PlaygroundError:
            return []
        pieces = tokenizer.convert_ids_to_tokens(ids)
        return [(s, e, p) for (s, e), p in zip(spans, pieces, strict=True)]
