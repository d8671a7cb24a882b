"""The numbers of a comparison: the metrics table, why cells are empty, and bar charts.

The table has one row per metric and one column per model, so it fits a projector's width with
three models; every row names its unit. The size chart is in ``web.render.size``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from playground import report
from playground.compare import FINISHED, Result
from web.escape import esc
from web.render.common import SLOT_COLOURS, short_label


@dataclass(frozen=True)
class Metric:
    """One row of the metrics table: its label with its unit, and how to read it from a result."""

    label: str
    unit: str
    value: Callable[[Result, dict], object]
    reason_key: str  # the metric name under which ``report.why_missing`` explains an empty cell

    @property
    def heading(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label


def _row(name: str, scale: float = 1.0) -> Callable[[Result, dict], object]:
    def read(result: Result, row: dict) -> object:
        value = row[name]
        return value * scale if isinstance(value, int | float) and scale != 1.0 else value

    return read


def _decoded_with(result: Result, row: dict) -> str:
    """The precision and the method of the decode loop (the fast path may differ from the loaded weights)."""
    gen = result.generation
    if gen is None:
        return ""
    return " · ".join(part for part in (gen.precision, gen.decode_method) if part)


METRICS = (
    Metric("kind", "", _row("kind"), "kind"),
    Metric("status", "", lambda result, row: result.status, "status"),
    Metric("prompt tokens", "tokens", _row("prompt tokens"), "prompt tokens"),
    Metric("new tokens", "tokens", _row("new tokens"), "new tokens"),
    Metric("perplexity", "per token", _row("perplexity"), "perplexity"),
    Metric("bits per byte", "bits/byte", _row("bits per byte"), "bits per byte"),
    Metric("time to first token", "ms", _row("time to first token", 1000.0), "time to first token"),
    Metric("decode speed", "tokens/s", _row("tokens/s"), "tokens/s"),
    Metric("total time", "s", _row("total time"), "total time"),
    Metric("load time", "s", _row("load time"), "load time"),
    Metric("weights", "MB", _row("weights"), "weights"),
    Metric("memory growth", "MB", _row("memory growth"), "memory growth"),
    Metric("dtype", "", _row("dtype"), "dtype"),
    Metric("decoded with", "precision · method", _decoded_with, "decoded with"),
)
"""The table's rows, top to bottom; every number has its unit in its row's heading."""


def metrics_table(results: Sequence[Result]) -> str:
    """One row per metric (with its unit), one column per model. An empty cell shows '—' with the
    reason (``report.why_missing``) as its tooltip; a marked value (*) has a caveat there."""
    if not results:
        return '<div class="pg-metrics"><p class="pg-empty">Run a comparison to fill this table.</p></div>'
    rows_of = [report.metric_row(r) for r in results]
    reasons_of = [report.why_missing(r) for r in results]
    head = "".join(
        f'<th scope="col" title="{esc(r.model)}" style="--pg-accent:{SLOT_COLOURS[i]}">'
        f'<span class="pg-dot"></span>{esc(short_label(r.model))}</th>'
        for i, r in enumerate(results)
    )
    body = []
    for metric in METRICS:
        cells = []
        for result, row, reasons in zip(results, rows_of, reasons_of, strict=True):
            value = metric.value(result, row)
            reason = reason_for(result, reasons, metric.reason_key)
            if value in (None, ""):
                cells.append(f'<td class="pg-na" title="{esc(reason or "not available")}">—</td>')
            elif metric.reason_key in reasons:
                cells.append(f'<td title="{esc(reason)}">{esc(_cell(value))}<sup>*</sup></td>')
            else:
                cells.append(f'<td data-status="{esc(value)}">' if metric.label == "status" else "<td>")
                cells[-1] += f"{esc(_cell(value))}</td>"
        body.append(f'<tr><th scope="row">{esc(metric.heading)}</th>{"".join(cells)}</tr>')
    return (
        f'<div class="pg-metrics"><table><thead><tr><th scope="col">metric (unit)</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


LATENCY = ("time to first token", "tokens/s", "total time")


def reason_for(result: Result, reasons: dict[str, str], metric: str) -> str:
    """Why a metric is empty or marked for one model. The engine states one reason per cause
    ("does not generate text" under time to first token); the other latency cells and bits per
    byte share their cause with it and with perplexity."""
    if metric in reasons:
        return reasons[metric]
    if "all" in reasons:
        return reasons["all"]
    if metric in LATENCY and result.generation is None:
        return reasons.get("time to first token", "")
    if metric == "bits per byte" and result.score is None:
        return reasons.get("perplexity", "")
    return "" if result.status in ("done", "stopped") else "not finished"


def missing_notes(results: Sequence[Result]) -> str:
    """Why metrics are empty or not comparable (``report.why_missing``), one line per reason with
    the models it concerns, as escaped HTML (the reasons quote what visitors typed)."""
    models_by_reason: dict[tuple[str, str], list[str]] = {}
    for result in results:
        if result.status not in FINISHED:
            continue
        for metric, reason in report.why_missing(result).items():
            if reason:
                models_by_reason.setdefault((metric, reason), []).append(short_label(result.model))
    items = "".join(
        f"<li><b>{esc('no metrics' if metric == 'all' else metric)}</b> ({esc(', '.join(models))}): {esc(reason)}</li>"
        for (metric, reason), models in models_by_reason.items()
    )
    return (
        f'<div class="pg-missing-notes"><b>Why some cells are empty or not comparable</b><ul>{items}</ul></div>'
        if items
        else ""
    )


CHARTS = [
    ("time to first token", "Time to first token", "s", "lower is faster; includes reading the prompt"),
    ("tokens/s", "Decode speed", "tokens/s", "higher is faster"),
    ("total time", "Total generation time", "s", "lower is faster"),
    ("perplexity", "Perplexity", "", "lower is better; compare only models that share a tokenizer"),
    ("bits per byte", "Bits per byte", "bits", "lower is better; comparable across tokenizers"),
]


def charts(results: Sequence[Result]) -> str:
    """Bar charts, one small panel per metric, each bar labelled with its value and unit."""
    if not any(r.status == "done" for r in results):
        return ""
    rows = [report.metric_row(r) for r in results]
    reasons = [report.why_missing(r) for r in results]
    panels = []
    for metric, title, unit, hint in CHARTS:
        values = [row[metric] for row in rows]
        top = max((v for v in values if isinstance(v, int | float) and math.isfinite(v)), default=0) or 1
        bars = []
        for i, (result, value) in enumerate(zip(results, values, strict=True)):
            name = f'<span class="pg-bar-name" title="{esc(result.model)}">{esc(short_label(result.model))}</span>'
            why = reason_for(result, reasons[i], metric)
            if value is None:
                bars.append(
                    f'<div class="pg-bar-row" style="--pg-accent:{SLOT_COLOURS[i]}">{name}'
                    f'<span class="pg-bar-none">— {esc(why or "not available")}</span></div>'
                )
                continue
            star = f' <span class="pg-bar-star" title="{esc(why)}">*</span>' if why else ""
            width = max(1.0, 100 * value / top)
            bars.append(
                f'<div class="pg-bar-row" style="--pg-accent:{SLOT_COLOURS[i]}">{name}'
                f'<span class="pg-bar-track"><span class="pg-bar" style="width:{width:.1f}%"></span></span>'
                f'<span class="pg-bar-value">{esc(_cell(value))} {esc(unit)}{star}</span></div>'
            )
        panels.append(
            f'<figure class="pg-chart" data-metric="{esc(metric)}"><figcaption><b>{esc(title)}</b>'
            f"{f' ({esc(unit)})' if unit else ''} <span>{esc(hint)}</span></figcaption>{''.join(bars)}</figure>"
        )
    return f'<div class="pg-charts">{"".join(panels)}</div>'
