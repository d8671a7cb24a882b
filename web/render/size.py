"""The size chart: perplexity and bits per byte against parameter count, one point per model, so a
lecturer comparing two or three sizes of one family sees the trend, not three bars."""

from __future__ import annotations

import math
from collections.abc import Sequence

from playground.compare import Result
from web.escape import esc
from web.render.common import SLOT_COLOURS, human_count, model_name, short_label

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
