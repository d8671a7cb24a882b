"""The numbers of a comparison: the metrics table, why cells are empty, bar charts, and the size chart.

The size chart puts perplexity and bits per byte against parameter count, one point per model,
so a lecturer comparing two or three sizes of one family sees the trend, not three bars.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from playground import report
from playground.compare import FINISHED, Result
from playground.views_common import SLOT_COLOURS, esc, human_count, model_name, short_label


def metrics_table(results: Sequence[Result]) -> str:
    """The metrics table: one row per model with ``report.COLUMNS`` and their units. An empty cell
    shows '—' with the reason (``report.why_missing``) as its tooltip."""
    head = "".join(
        f'<th scope="col">{esc(name)}'
        + (f'<span class="pg-unit">{esc(unit)}</span>' if unit not in name and "/" not in name else "")
        + "</th>"
        for name, unit in report.COLUMNS.items()
        if name != "model"
    )
    rows = []
    for i, result in enumerate(results):
        row, reasons = report.metric_row(result), report.why_missing(result)
        cells = []
        for name in report.COLUMNS:
            if name == "model":
                continue
            value = row[name]
            reason = reason_for(result, reasons, name)
            if value in (None, ""):
                cells.append(f'<td class="pg-na" title="{esc(reason or "not available")}">—</td>')
            elif name in reasons:
                cells.append(f'<td title="{esc(reason)}">{esc(_cell(value))}<sup>*</sup></td>')
            else:
                cells.append(f"<td>{esc(_cell(value))}</td>")
        rows.append(
            f'<tr data-status="{esc(result.status)}" style="--pg-accent:{SLOT_COLOURS[i]}">'
            f'<th scope="row" title="{esc(result.model)}"><span class="pg-dot"></span>{esc(short_label(result.model))}'
            f"</th>{''.join(cells)}</tr>"
        )
    body = (
        "".join(rows)
        or f'<tr><td colspan="{len(report.COLUMNS)}" class="pg-na pg-left">Run a comparison to fill it.</td></tr>'
    )
    return (
        f'<div class="pg-metrics"><table><thead><tr><th scope="col">model</th>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
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
    ("does not generate text" under time to first token); the other latency columns and bits per
    byte share their cause with it and with perplexity."""
    if metric in reasons:
        return reasons[metric]
    if "all" in reasons:
        return reasons["all"]
    if metric in LATENCY and result.generation is None:
        return reasons.get("time to first token", "")
    if metric == "bits per byte" and result.score is None:
        return reasons.get("perplexity", "")
    return "" if result.status == "done" else "not finished"


def missing_notes(results: Sequence[Result]) -> str:
    """Markdown: why metrics are empty or not comparable (``report.why_missing``), one line per
    reason with the models it concerns."""
    models_by_reason: dict[tuple[str, str], list[str]] = {}
    for result in results:
        if result.status not in FINISHED:
            continue
        for metric, reason in report.why_missing(result).items():
            if reason:
                models_by_reason.setdefault((metric, reason), []).append(short_label(result.model))
    lines = [
        f"- **{'no metrics' if metric == 'all' else metric}** ({', '.join(models)}): {reason}"
        for (metric, reason), models in models_by_reason.items()
    ]
    return "\n".join(["**Why some cells are empty or not comparable**", *lines]) if lines else ""


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


# --- size against quality -------------------------------------------------------------------

SIZE_PANELS = (
    ("perplexity", "Perplexity", "comparable only between models that share a tokenizer"),
    ("bits_per_byte", "Bits per byte", "comparable across tokenizers"),
)
_W, _H = 420, 250  # SVG user units; the figure scales to its box
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 24, 30, 46


def size_chart(results: Sequence[Result]) -> str:
    """Perplexity and bits per byte (y) against parameter count (x, log scale), one point per model.

    Only left-to-right (causal) scores are drawn: a masked LM's pseudo-perplexity and an
    encoder-decoder's conditional perplexity measure something else, and are listed as left out.
    """
    done = [(i, r) for i, r in enumerate(results) if r.status == "done" and r.facts]
    if not done:
        return ""
    points = [(i, r) for i, r in done if r.score is not None and r.score.kind == "causal" and r.facts.parameters]
    left_out = [
        f"{esc(short_label(r.model))}: "
        + esc("no left-to-right score (" + (r.score.kind if r.score else "no language-model head") + ")")
        for i, r in done
        if (i, r) not in points
    ]
    if len(points) < 2:
        message = "Size against quality needs two or three models that score the text left to right (decoders)."
        return f'<div class="pg-size"><p class="pg-empty">{esc(message)}</p>{_left_out(left_out)}</div>'
    # Same tokenizer type and vocabulary size is not the same tokenizer; a different token count
    # for the same text shows that the perplexities average over different units.
    tokenizers = {(r.facts.tokenizer, r.facts.vocab_size, r.score.scored_tokens) for _, r in points}
    counts = " vs ".join(f"{r.score.scored_tokens}" for _, r in points)
    warning = (
        f'<p class="pg-warn">These models cut the text into different tokens ({counts} tokens): their '
        "perplexities average over different units, so compare bits per byte.</p>"
        if len(tokenizers) > 1
        else '<p class="pg-ok">One tokenizer for all: perplexity and bits per byte tell the same story.</p>'
    )
    panels = "".join(_size_panel(points, metric, title, hint) for metric, title, hint in SIZE_PANELS)
    return (
        f'<div class="pg-size"><div class="pg-size-panels">{panels}</div>{warning}{_left_out(left_out)}'
        '<p class="pg-legend-line">x: parameters (log scale); lower is better on both.</p></div>'
    )


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above ``value``: an axis top that halves cleanly."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def _left_out(lines: list[str]) -> str:
    return f'<p class="pg-legend-line">Not on the chart: {"; ".join(lines)}.</p>' if lines else ""


def _size_panel(points: list[tuple[int, Result]], metric: str, title: str, hint: str) -> str:
    params = [float(r.facts.parameters) for _, r in points]
    values = [float(getattr(r.score, metric)) for _, r in points]
    low, high = math.log10(min(params)), math.log10(max(params))
    pad = max((high - low) * 0.15, 0.15)
    low, high = low - pad, high + pad
    top = nice_ceiling(max(v for v in values if math.isfinite(v)) * 1.15)

    def x(p: float) -> float:
        return _LEFT + (math.log10(p) - low) / (high - low) * (_W - _LEFT - _RIGHT)

    def y(v: float) -> float:
        return _H - _BOTTOM - min(v, top) / top * (_H - _TOP - _BOTTOM)

    order = sorted(range(len(points)), key=lambda k: params[k])
    line = " ".join(f"{x(params[k]):.1f},{y(values[k]):.1f}" for k in order)
    parts = [
        f'<line class="pg-axis" x1="{_LEFT}" y1="{_H - _BOTTOM}" x2="{_W - _RIGHT}" y2="{_H - _BOTTOM}"/>',
        f'<line class="pg-axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_H - _BOTTOM}"/>',
        f'<polyline class="pg-trend" points="{line}"/>',
    ]
    for tick in (0.0, top / 2, top):
        parts.append(f'<text class="pg-tick" x="{_LEFT - 6}" y="{y(tick) + 5:.1f}" text-anchor="end">{tick:g}</text>')
    for k, (i, result) in enumerate(points):
        cx, cy = x(params[k]), y(values[k])
        name = esc(short_label(result.model))
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="7" fill="{SLOT_COLOURS[i]}"><title>{name}: '
            f"{values[k]:.3f} at {esc(human_count(params[k]))} parameters</title></circle>"
        )
        label = f"{values[k]:,.0f}" if values[k] >= 100 else f"{values[k]:.3g}"
        parts.append(f'<text class="pg-point" x="{cx:.1f}" y="{cy - 12:.1f}" text-anchor="middle">{label}</text>')
        parts.append(
            f'<text class="pg-tick" x="{cx:.1f}" y="{_H - _BOTTOM + 18}" text-anchor="middle">'
            f"{esc(human_count(params[k]))}</text>"
        )
    svg = f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-label="{esc(title)} against parameters">{"".join(parts)}</svg>'
    names = " ".join(model_name(i, r.model) for i, r in points)
    return (
        f'<figure class="pg-size-panel" data-metric="{metric}"><figcaption><b>{esc(title)}</b> '
        f'<span>{esc(hint)}</span></figcaption>{svg}<div class="pg-size-names">{names}</div></figure>'
    )
