"""One small chart kind, shared by the size views: a value against parameter count (log scale),
one labelled point per model, a trend line only where the caller allows one, and a tag and a
remark written on the chart itself (so a screenshot of it keeps them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from playground.facts import compact
from web.escape import esc
from web.render.common import amount

_W, _H = 420, 250  # SVG user units; the figure scales to its box
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 24, 34, 46
_LINE = 20  # height of one line of the remark, in user units


@dataclass(frozen=True)
class Point:
    """One model on the chart: its parameters (x), its value (y), its colour and its name."""

    parameters: float
    value: float
    colour: str
    name: str


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above ``value``: an axis top that halves cleanly."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def size_svg(points: Sequence[Point], title: str, tag: str, trend: bool, remark: str = "") -> str:
    """The chart as SVG: x = parameters (log), y = value from 0. ``tag`` names what the values are
    ("published", "this text") in the top-left corner; ``remark`` (lines split at ": ") stands
    above the points; ``trend`` draws the dashed line through them, smallest first."""
    lines = [part for part in remark.split(": ") if part] if remark else []
    top_margin = _TOP + _LINE * len(lines)
    params = [p.parameters for p in points]
    low, high = math.log10(min(params)), math.log10(max(params))
    pad = max((high - low) * 0.15, 0.15)
    low, high = low - pad, high + pad
    finite = [p.value for p in points if math.isfinite(p.value)]
    top = nice_ceiling(max(finite, default=1.0) * 1.15)

    def x(parameters: float) -> float:
        return _LEFT + (math.log10(parameters) - low) / (high - low) * (_W - _LEFT - _RIGHT)

    def y(value: float) -> float:
        return _H - _BOTTOM - min(value, top) / top * (_H - top_margin - _BOTTOM)

    parts = [
        f'<line class="pg-axis" x1="{_LEFT}" y1="{_H - _BOTTOM}" x2="{_W - _RIGHT}" y2="{_H - _BOTTOM}"/>',
        f'<line class="pg-axis" x1="{_LEFT}" y1="{top_margin}" x2="{_LEFT}" y2="{_H - _BOTTOM}"/>',
        f'<text class="pg-chart-tag" x="{_LEFT + 6}" y="18">{esc(tag)}</text>',
    ]
    for n, line in enumerate(lines):
        y_line = _TOP + _LINE * n + 4
        parts.append(f'<text class="pg-chart-remark" x="{_W / 2 + 20:.0f}" y="{y_line}" text-anchor="middle">')
        parts.append(f"{esc(line)}</text>")
    if trend and len(points) > 1:
        ordered = sorted(points, key=lambda p: p.parameters)
        line = " ".join(f"{x(p.parameters):.1f},{y(p.value):.1f}" for p in ordered)
        parts.append(f'<polyline class="pg-trend" points="{line}"/>')
    for tick in (0.0, top / 2, top):
        parts.append(f'<text class="pg-tick" x="{_LEFT - 6}" y="{y(tick) + 5:.1f}" text-anchor="end">{tick:g}</text>')
    for p in points:
        cx, cy = x(p.parameters), y(p.value)
        size = esc(compact(p.parameters))
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="7" fill="{p.colour}"><title>{esc(p.name)}: '
            f"{p.value:.3f} at {size} parameters</title></circle>"
        )
        parts.append(
            f'<text class="pg-point" x="{cx:.1f}" y="{cy - 12:.1f}" text-anchor="middle">{amount(p.value)}</text>'
        )
        parts.append(f'<text class="pg-tick" x="{cx:.1f}" y="{_H - _BOTTOM + 18}" text-anchor="middle">{size}</text>')
    label = f"{title} against parameters" + (f" ({remark})" if remark else "")
    return f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-label="{esc(label)}">{"".join(parts)}</svg>'
