"""Why they differ, on the page: the causes of ``playground.why.explain``, one line each.

The whole list stands above the outputs; each teaching view repeats the causes it illustrates
next to its picture (the size view its size and memory under the run's chart, the tokenizer view
its token counts above the counts, the surprise view its surprise under the heat), so the
sentence a lecturer reads out sits next to what it explains.
Every sentence is computed from the measured results and the facts, never written by a model.
"""

from __future__ import annotations

from collections.abc import Sequence

from playground.causes import Cause
from web.escape import esc

VIEW_CAUSES = {
    "size": ("size", "memory"),
    "tokens": ("tokens",),
    "surprise": ("surprise", "surprising word"),
}
"""Results view -> the causes it shows a picture of."""
LABEL_CHARS = 40
"""Longest opening of a sentence, up to its first colon, shown in bold as its label."""


def why_view(causes: Sequence[Cause]) -> str:
    """Every cause, one line each, under the heading "Why they differ" (empty when nothing differs)."""
    if not causes:
        return ""
    return (
        '<section class="pg-why-differ" aria-label="Why they differ"><h3>Why they differ</h3>'
        f"{_lines(causes)}</section>"
    )


def view_causes(causes: Sequence[Cause], view: str) -> str:
    """The causes one results view illustrates, as the same lines, for that view to place."""
    shown = [c for c in causes if c.cause in VIEW_CAUSES.get(view, ())]
    return f'<div class="pg-why-differ pg-why-here">{_lines(shown)}</div>' if shown else ""


def _lines(causes: Sequence[Cause]) -> str:
    items = "".join(f'<li data-cause="{esc(c.cause)}">{_labelled(c.sentence)}</li>' for c in causes)
    return f'<ul class="pg-causes">{items}</ul>'


def _labelled(sentence: str) -> str:
    """The sentence with its opening label ("Tokens for the same text:") in bold, for scanning."""
    label, colon, rest = sentence.partition(": ")
    if not colon or len(label) > LABEL_CHARS:
        return esc(sentence)
    return f"<b>{esc(label)}:</b> {esc(rest)}"
