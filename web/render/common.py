"""Small helpers every view shares: names, numbers and the models' colours (escaping: ``web.escape``)."""

from __future__ import annotations

from pathlib import PurePath

from web.escape import esc

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies and on projectors.
SLOT_COLOURS = ("#0072B2", "#D55E00", "#009E73")


def short_label(label: str) -> str:
    """A column name fit for a header: a local folder by its last part, a Hub id as is."""
    name, sep, suffix = label.partition(" (")
    if "/" in name and (name.startswith(("/", "~", ".")) or "\\" in name):
        name = PurePath(name).name
    return f"{name}{sep}{suffix}"


def colour(index: int) -> str:
    """The colour of the model in column ``index`` (0-based), the same in every view."""
    return SLOT_COLOURS[index % len(SLOT_COLOURS)]


def model_name(index: int, label: str) -> str:
    """A model's name as every view heads it: its colour dot and short label, the full label on hover."""
    return (
        f'<span class="pg-name" style="--pg-accent:{colour(index)}" title="{esc(label)}">'
        f'<span class="pg-dot"></span>{esc(short_label(label))}</span>'
    )


def human_count(n: float | None) -> str:
    if n is None:
        return "—"
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:g}"


def human_bytes(n: int | None) -> str:
    if n is None:
        return "—"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}" if unit == "GB" else f"{n / size:.1f} {unit}"
    return f"{n} B"


def percent(p: float) -> str:
    """A probability as a percentage with as many digits as a small one needs."""
    if p >= 0.1:
        return f"{p:.0%}"
    if p >= 0.001:
        return f"{p:.1%}"
    return f"{p:.2g}" if p > 0 else "0"


def amount(value: float) -> str:
    """A quantity with three significant digits, and thousands separators when it is large."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
