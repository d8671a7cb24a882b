"""What Run fills, by name: the columns, the status line and every results view.

``RUN_OUTPUTS`` is the order of /run's outputs (the page's components in ``web.events``). Every
update carries every output: Gradio sends a streamed event's outputs as differences from the
previous update, so unchanged parts cost nothing on the wire. The views drawn once the engine is
done (why they differ, size, tokenizers, surprise) run under the request's deadline
(``playground.limits``), so that a long text cannot hold the queue after the comparison ended.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import gradio as gr

from playground.causes import Cause
from playground.compare import MAX_MODELS, Column, Request, Result
from playground.errors import Stopped
from playground.limits import Deadline, checkpoint, within
from playground.why import explain
from web.escape import esc
from web.render import columns, facts, metrics, size, status, surprise, tokens, why
from web.runs import Snapshot

log = logging.getLogger(__name__)

COLUMNS = tuple(f"column_{i}" for i in range(1, MAX_MODELS + 1))
RUN_OUTPUTS = (*COLUMNS, "status", "facts", "guide", "metrics", "missing", "charts", "size", "tokens", "surprise")
RUN_OUTPUTS += ("why", "json", "csv", "share", "switch")
"""/run's outputs in order; ``status`` is the fourth (scripts/load_test.py reads it there)."""
PLACEHOLDER = '<div class="pg-empty">Run a comparison to fill this view.</div>'
FINAL_PLACEHOLDER = '<div class="pg-empty">Filled when the comparison finishes.</div>'


def cleared(slots: list[str]) -> dict:
    """Every results view emptied (a new preset, or an edited prompt during a run)."""
    shown = [bool(s) for s in slots]
    return {
        **{name: columns.idle_column(i, slots[i]) if shown[i] else columns.UNUSED for i, name in enumerate(COLUMNS)},
        "status": status.idle(),
        "facts": facts.facts_table([], [], []),
        "guide": "",
        "metrics": metrics.metrics_table([]),
        "missing": "",
        "charts": "",
        "size": PLACEHOLDER,
        "tokens": PLACEHOLDER,
        "surprise": PLACEHOLDER,
        "json": gr.DownloadButton(value=None, interactive=False),
        "csv": gr.DownloadButton(value=None, interactive=False),
        "share": "",
        "switch": gr.Button(visible=False),
        "why": "",
    }


class RunView:
    """The outputs of one run, updated snapshot by snapshot."""

    def __init__(self, request: Request, count: int):
        self.request = request
        self.count = count
        self.facts_html = facts.facts_table([], [], [])
        self.guide = ""
        self._drawn_for: tuple | None = None  # what facts_html and guide show: redrawn when it changes

    def outputs(self, snap: Snapshot, seconds: float, link: str, final: dict | None = None) -> dict:
        results, req = snap.results, self.request
        kinds_differ = len({r.facts.kind for r in results if r.facts}) > 1
        shown = {
            name: columns.column(i, results[i], snap.progress[i], req.text, req.target or "", kinds_differ)
            if i < self.count
            else columns.UNUSED
            for i, name in enumerate(COLUMNS)
        }
        templates = [r.generation.prompt.chat_template if r.generation else None for r in results]
        drawn_for = tuple((r.model, id(r.facts), r.error, t) for r, t in zip(results, templates, strict=True))
        # Facts change once per load, not per streamed token: drawn again only when they change.
        if any(r.facts for r in results) and drawn_for != self._drawn_for:
            self._drawn_for = drawn_for
            labels = [r.model for r in results]
            self.facts_html = facts.facts_table(labels, [r.facts for r in results], [r.error for r in results])
            self.guide = columns.input_guide(labels, [r.facts for r in results], req.task or "", templates)
        line = status.run_status(
            results, seconds, req.text, load_fraction=snap.load_fraction, final=snap.final, stopped=snap.stopped
        )
        final = final or {}
        waiting = PLACEHOLDER if snap.final else FINAL_PLACEHOLDER
        return shown | {
            "status": line,
            "facts": self.facts_html,
            "guide": self.guide,
            "metrics": metrics.metrics_table(results),
            "missing": metrics.missing_notes(results),
            "charts": metrics.charts(results),
            "size": final.get("size", waiting),
            "tokens": final.get("tokens", waiting),
            "surprise": final.get("surprise", waiting),
            "json": gr.DownloadButton(value=final.get("json"), interactive=bool(final.get("json"))),
            "csv": gr.DownloadButton(value=final.get("csv"), interactive=bool(final.get("csv"))),
            "share": link,
            "switch": gr.Button(visible=False),
            "why": final.get("why", ""),
        }


def final_views(
    request: Request,
    results: list[Result],
    references: list[str],
    segmentation: Callable[[str, str], list[tokens.Segment]],
    deadline: Deadline,
    training: Sequence[str | None] = (),
    columns: Sequence[Column] | None = None,
) -> dict:
    """Why they differ, the size chart and the tokenizer and surprise views, drawn under the
    request's deadline. A view the deadline stops says so in its place; the others are kept.

    ``training`` is what the preset states about each column's training data (the size view's
    family test reads it); ``columns`` are the columns as run, with their own template and
    decoding choices (``web.runs.Comparison.columns``), for the causes.
    """
    views: dict[str, str] = {}
    causes: list[Cause] = []
    drawers = {
        "size": lambda why: size.size_chart(results, training, why),
        "tokens": lambda why: tokens.tokenizer_view(
            request.text, results, _segments(request.text, results, references, segmentation), why
        ),
        "surprise": lambda why: surprise.surprise_view(request.text, request.target or "", results, why),
    }
    with within(deadline):
        try:
            checkpoint("explaining why the models differ")
            causes = explain(results, request, columns if columns and len(columns) == len(results) else None)
            views["why"] = why.why_view(causes)
        except Stopped as exc:
            views["why"] = f'<p class="pg-empty">{esc(exc)}</p>'
        except Exception:  # noqa: BLE001 - the views below still help without the causes
            log.exception("explaining the differences failed")
        for name, draw in drawers.items():
            try:
                checkpoint(f"drawing the {name} view")
                views[name] = draw(why.view_causes(causes, name))
            except Stopped as exc:
                views[name] = f'<p class="pg-empty">{esc(exc)}</p>'
    return views


def _segments(text: str, results: list[Result], references: list[str], segmentation: Callable) -> dict:
    """Each finished model's tokens of the text, by its column's label."""
    found = {}
    for result, ref in zip(results, references, strict=True):
        if result.status == "done":
            checkpoint("cutting the text into each model's tokens")
            found[result.model] = segmentation(ref, text)
    return found
