"""Surprise: where each model was surprised, on one scale for every model, and where they disagree.

Each word (a place of ``alignment.align``: whole tokens in every model, whole words) is coloured
by the bits its tokens cost, -log2 p summed over them (``heat.heat``), not by bits per character:
a long surprising word is then as hot as its surprise, not paler for its length. Every model's
row uses the same scale, 0 to ``Heat.scale_bits``, and the legend says it in bits. Each model's
most surprising words and the places where the models disagree most are listed with their bits,
so nothing needs a hover. GLTR's rank buckets (was the true token among the model's top 10, 100,
1000 guesses?) follow, token by token.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from playground.alignment import BUCKETS, Alignment, align, rank_bucket
from playground.compare import Result
from playground.errors import PlaygroundError
from playground.heat import Heat, heat
from web.escape import esc
from web.render.common import model_name
from web.render.tokens import blocks, edges, rows_legend, scored_text, shown_text

HOT_SPOTS = 3
"""Most surprising words listed per model, and places of disagreement listed."""


def heat_colour(intensity: float) -> str:
    """Pale yellow (0 bits) to red (the top of the scale); dark text stays readable on every shade."""
    t = min(max(intensity, 0.0), 1.0)
    return f"hsl({55 - 55 * t:.0f}, 90%, {94 - 34 * t:.0f}%)"


def surprise_view(text: str, target: str, results: Sequence[Result], why: str = "") -> str:
    """Per-word surprisal of each model over the same characters on one scale in bits, each
    model's most surprising words, where the models disagree most, and GLTR's rank buckets.
    ``why``: the lines of "why they differ" about surprise, shown under the coloured text."""
    scored = [
        (i, r)
        for i, r in enumerate(results)
        if r.status == "done" and r.score is not None and r.score.tokens and scored_text(r, text, target) == text
    ]
    skipped = [r.model for r in results if r.status == "done" and all(r is not s for _, s in scored)]
    if not scored:
        return ""
    try:
        alignment = align(text, [r.score.tokens for _, r in scored], [_score_label(r) for _, r in scored])
    except PlaygroundError as exc:
        return f'<p class="pg-empty">{esc(exc)}</p>'
    found = heat(alignment, top=HOT_SPOTS)
    slots = [i for i, _ in scored]
    hot = list(found.disagreements) if len(scored) > 1 else []
    hot_ranges = [(p.start, p.end, n) for n, p in enumerate(hot, start=1)]
    starts = [span.start for span in found.spans]

    def hot_cell(m, index, segment):
        if index is None:
            return "pg-uncovered", "", "not scored", {}
        token = alignment.models[m].tokens[index]
        span = found.spans[bisect.bisect_right(starts, segment.start) - 1]
        kind = edges(alignment, m, index, segment)
        spot = next((n for a, b, n in hot_ranges if a <= segment.start and segment.end <= b), None)
        if spot is not None:
            kind += f" pg-hot pg-hot-{spot}"
        bits, intensity = span.bits[m], span.intensity[m]
        word = f"“{span.text.strip()}”: {bits:.1f} bits" if bits is not None else "not all scored"
        title = (
            f"{alignment.models[m].label}\n{word}\ntoken {' + '.join(repr(p) for p in token.pieces)}: "
            f"surprisal {token.surprisal_bits:.2f} bits (p = {2**-token.surprisal_bits:.2g}), rank {token.worst_rank:,}"
        )
        if intensity is None:
            return kind, "", title, {}
        return kind, f"background-color:{heat_colour(intensity)}", title, {"data-heat": f"{intensity:.3f}"}

    def rank_cell(m, index, segment):
        if index is None:
            return "pg-uncovered", "", "not scored", {}
        token = alignment.models[m].tokens[index]
        bucket = rank_bucket(token.worst_rank)
        title = f"{alignment.models[m].label}\nrank {token.worst_rank:,}: {bucket.name}"
        return edges(alignment, m, index, segment), f"background-color:{bucket.colour}", title, {}

    note = f'<p class="pg-legend-line">Not scored over this text: {esc(", ".join(skipped))}.</p>' if skipped else ""
    return (
        f'<div class="pg-surprise">{_legend(found.scale_bits)}'
        f"{rows_legend([(i, _score_label(r)) for i, r in scored])}{blocks(alignment, slots, hot_cell)}"
        f"{why}{_hottest(found, scored)}{_hot_table(hot, scored)}"
        f"<h4>Rank of the true token (GLTR)</h4>{_bucket_counts(alignment, scored)}"
        f"{blocks(alignment, slots, rank_cell)}{note}</div>"
    )


def _legend(scale_bits: float) -> str:
    stops = ", ".join(heat_colour(t / 4) for t in range(5))
    return (
        '<div class="pg-legend pg-heat-legend">Each word coloured by its surprisal, the bits its tokens cost '
        "(−log₂ p, summed over the word), on one scale for every row: "
        f'<span class="pg-scale-box"><span class="pg-scale" style="background:linear-gradient(90deg, {stops})">'
        '</span><span class="pg-scale-ticks"><span>0</span>'
        f"<span>{scale_bits / 2:g}</span><span>{scale_bits:g} bits</span></span></span></div>"
    )


def _score_label(result: Result) -> str:
    return result.model + (" (pseudo: masked LM, not comparable)" if result.score.kind == "pseudo" else "")


def _hottest(found: Heat, scored: Sequence[tuple[int, Result]]) -> str:
    """Per model, its most surprising words with their bits, in their heat colour."""
    rows = []
    for m, (i, result) in enumerate(scored):
        chips = "".join(
            f'<span class="pg-hot-word" style="background:{heat_colour(found.spans[s].intensity[m] or 0)}">'
            f"{shown_text(found.spans[s].text.strip())} <b>{found.spans[s].bits[m]:.1f}</b> bits</span>"
            for s in found.hottest[m]
        )
        rows.append(f'<div class="pg-hottest-row">{model_name(i, result.model)} {chips}</div>')
    return f'<div class="pg-hottest"><h4>Most surprising words, per model</h4>{"".join(rows)}</div>'


def _hot_table(hot, scored: Sequence[tuple[int, Result]]) -> str:
    if not hot:
        return ""
    head = "".join(f"<th>{model_name(i, r.model)}</th>" for i, r in scored)
    rows = "".join(
        f'<tr><th scope="row"><span class="pg-hot-tag">{n}</span> {shown_text(p.text.strip() or p.text)}</th>'
        + "".join(f"<td>{'—' if b is None else f'{b:.1f}'}</td>" for b in p.bits)
        + f"<td><b>{p.spread_bits:.1f}</b></td></tr>"
        for n, p in enumerate(hot, start=1)
    )
    return (
        '<table class="pg-hot-table"><caption>Where the models disagree most (bits over the same words; outlined '
        f"above)</caption><thead><tr><th></th>{head}<th>difference</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _bucket_counts(alignment: Alignment, scored: Sequence[tuple[int, Result]]) -> str:
    rows = []
    for (i, result), model in zip(scored, alignment.models, strict=True):
        total = sum(model.bucket_counts) or 1
        chips = "".join(
            f'<span class="pg-bucket" style="background:{b.colour}" title="{esc(b.name)}: rank '
            f'{"beyond 1000" if b.max_rank is None else f"at most {b.max_rank}"}">{esc(b.name)}: '
            f"<b>{count}</b> ({count / total:.0%})</span>"
            for b, count in zip(BUCKETS, model.bucket_counts, strict=True)
        )
        rows.append(f'<div class="pg-bucket-row">{model_name(i, result.model)} {chips}</div>')
    return "".join(rows)
