"""Tokens over the same characters: how each model cuts the text, and how surprised it is where.

Both views lay the models' tokens over one text with ``alignment.align``: the text is cut at every
token boundary of every model, and each piece becomes a block holding one cell per model. Blocks
wrap together, so a character stays in the same place in every model's row.

- Tokenizers: each model's tokens as boxes, with token counts, characters per token, and why
  perplexity is not comparable across tokenizers while bits per byte is.
- Surprise: each model's surprisal per character as a heat colour, the places where the models
  disagree most (``Alignment.hot_spots``), and GLTR's rank buckets with their counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from playground.alignment import BUCKETS, Alignment, align, rank_bucket
from playground.compare import Result
from playground.encoders import MASK_SPELLINGS
from playground.errors import PlaygroundError
from playground.scoring import TokenScore
from web.escape import esc
from web.render.common import colour, model_name

BITS_PER_CHAR_SCALE = 5.0  # surprisal per character at which a cell gets the strongest colour
HOT_SPOTS = 3

Segment = tuple[int, int, str]  # character start, end, and the token as the tokenizer spells it

WHY_BITS_PER_BYTE = (
    "<b>Why compare bits per byte, not perplexity?</b> Perplexity = 2<sup>bits ÷ tokens</sup> averages per "
    "token: a tokenizer that cuts the text into more, smaller tokens gets a lower perplexity for the same "
    "skill. Bits per byte = bits ÷ bytes: every model reads the same bytes."
)


def surprisal_colour(bits_per_char: float) -> str:
    """Pale yellow (expected) to red (surprising); dark text stays readable on every shade."""
    t = min(max(bits_per_char / BITS_PER_CHAR_SCALE, 0.0), 1.0)
    return f"hsl({55 - 55 * t:.0f}, 90%, {94 - 44 * t:.0f}%)"


def scored_text(result: Result, text: str, target: str) -> str:
    """The text a model's token scores point into: the target for an encoder-decoder, the text
    without blanks for a masked LM (the engine scores those), else the prompt."""
    if result.score is None:
        return text
    if result.score.kind == "conditional":
        return target
    if result.score.kind == "pseudo":
        return " ".join(MASK_SPELLINGS.sub(" ", text).split())
    return text


def _shown(text: str) -> str:
    return esc(text.replace("\n", "↵"))


def _blocks(alignment: Alignment, slots: Sequence[int], cell) -> str:
    """One block per segment, one cell per model in it.

    ``slots`` are the models' columns on the page (for their colours); ``cell(model, token index,
    segment)`` gives each cell's (class, style, tooltip).
    """
    blocks = []
    for segment in alignment.segments:
        cells = []
        for m, index in enumerate(segment.tokens):
            kind, style, title = cell(m, index, segment)
            cells.append(
                f'<span class="pg-cell {kind}" style="--pg-accent:{colour(slots[m])};{style}" title="{esc(title)}">'
                f"{_shown(segment.text)}</span>"
            )
        blocks.append(f'<span class="pg-blk">{"".join(cells)}</span>')
        if "\n" in segment.text:
            blocks.append('<span class="pg-break"></span>')
    return f'<div class="pg-grid">{"".join(blocks)}</div>'


def _edges(alignment: Alignment, m: int, index: int | None, segment) -> str:
    if index is None:
        return "pg-uncovered"
    token = alignment.models[m].tokens[index]
    kind = f"pg-t{index % 2}"
    if segment.start == token.start:
        kind += " pg-start"
    if segment.end == token.end:
        kind += " pg-end"
    if len(token.pieces) > 1:
        kind += " pg-multi"
    return kind


def _legend_rows(labels: Sequence[tuple[int, str]]) -> str:
    return (
        '<div class="pg-rows-legend">Rows, top to bottom: '
        + " ".join(model_name(i, label) for i, label in labels)
        + "</div>"
    )


# --- tokenizers -----------------------------------------------------------------------------


def tokenizer_view(text: str, results: Sequence[Result], segments: dict[str, list[Segment]]) -> str:
    """Each model's tokens of the prompt, aligned over its characters, with counts and the reason
    bits per byte, not perplexity, compares models with different tokenizers.

    ``segments`` holds each model's tokens of ``text`` (start, end, piece), by result label.
    """
    shown = [(i, r) for i, r in enumerate(results) if r.status == "done" and segments.get(r.model)]
    if not shown or not text:
        return ""
    # Only the cuts are drawn here, so every token is given zero surprisal; the Surprise view aligns the real scores.
    lists = [[TokenScore(piece, s, e, 0.0, 1, 1.0) for s, e, piece in segments[r.model]] for _, r in shown]
    try:
        alignment = align(text, lists, [r.model for _, r in shown])
    except PlaygroundError as exc:
        return f'<p class="pg-empty">{esc(exc)}</p>'

    def cell(m, index, segment):
        if index is None:
            return "pg-uncovered", "", "no token of this model covers these characters"
        token = alignment.models[m].tokens[index]
        pieces = " + ".join(repr(p) for p in token.pieces)
        return _edges(alignment, m, index, segment), "", f"{shown[m][1].model}\ntoken {index + 1}: {pieces}"

    return (
        f'<div class="pg-tokenizers">{_legend_rows([(i, r.model) for i, r in shown])}'
        f"{_blocks(alignment, [i for i, _ in shown], cell)}"
        '<p class="pg-legend-line">Each box is one token; a dashed box holds several tokens that share '
        "characters (bytes of one emoji). Hover a box for the token as the tokenizer spells it.</p>"
        f'{_count_table(text, shown, alignment)}<p class="pg-why">{WHY_BITS_PER_BYTE}</p></div>'
    )


def _count_table(text: str, shown: Sequence[tuple[int, Result]], alignment: Alignment) -> str:
    data_bytes = len(text.encode("utf-8"))
    rows = []
    for (i, result), model in zip(shown, alignment.models, strict=True):
        special = f" +{result.special_tokens}" if result.special_tokens else ""
        score = result.score if result.score is not None and result.score.kind == "causal" else None
        if score is not None:
            bits = score.total_nll_nats / math.log(2)
            numbers = (
                f"<td>{bits:,.1f}</td><td>{score.perplexity:,.2f}</td><td>{score.bits_per_byte:.3f}</td>"
                if score.scored_bytes == data_bytes
                else '<td colspan="3" class="pg-missing">scored another text</td>'
            )
        else:
            numbers = '<td colspan="3" class="pg-missing">no left-to-right score</td>'
        rows.append(
            f'<tr><th scope="row">{model_name(i, result.model)}</th><td>{model.token_count}{special}</td>'
            f"<td>{model.characters_per_token:.2f}</td>{numbers}</tr>"
        )
    return (
        '<table class="pg-counts"><thead><tr><th></th><th>tokens <small>+special</small></th>'
        "<th>chars / token</th><th>surprisal <small>bits</small></th>"
        "<th>perplexity <small>2^(bits ÷ tokens)</small></th>"
        f"<th>bits per byte <small>bits ÷ {data_bytes} bytes</small></th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


# --- surprise -------------------------------------------------------------------------------


def surprise_view(text: str, target: str, results: Sequence[Result]) -> str:
    """Per-token surprisal of each model over the same characters, where the models disagree most,
    and GLTR's rank buckets (was the true token among the model's top 10, 100, 1000 guesses?)."""
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
    slots = [i for i, _ in scored]
    hot = alignment.hot_spots(HOT_SPOTS) if len(scored) > 1 else []
    hot_ranges = [(p.start, p.end, n) for n, p in enumerate(hot, start=1)]

    def heat(m, index, segment):
        if index is None:
            return "pg-uncovered", "", "not scored"
        token = alignment.models[m].tokens[index]
        kind = _edges(alignment, m, index, segment)
        spot = next((n for a, b, n in hot_ranges if a <= segment.start and segment.end <= b), None)
        if spot is not None:
            kind += f" pg-hot pg-hot-{spot}"
        title = (
            f"{alignment.models[m].label}\ntoken {' + '.join(repr(p) for p in token.pieces)}\n"
            f"surprisal {token.surprisal_bits:.2f} bits (p = {2**-token.surprisal_bits:.2g}), "
            f"{token.bits_per_char:.2f} bits per character\nrank {token.worst_rank:,}"
        )
        return kind, f"background-color:{surprisal_colour(token.bits_per_char)}", title

    def ranks(m, index, segment):
        if index is None:
            return "pg-uncovered", "", "not scored"
        token = alignment.models[m].tokens[index]
        bucket = rank_bucket(token.worst_rank)
        title = f"{alignment.models[m].label}\nrank {token.worst_rank:,}: {bucket.name}"
        return _edges(alignment, m, index, segment), f"background-color:{bucket.colour}", title

    stops = ", ".join(surprisal_colour(b) for b in (0, 1.25, 2.5, 3.75, 5))
    legend_rows = _legend_rows([(i, _score_label(r)) for i, r in scored])
    note = f'<p class="pg-legend-line">Not scored over this text: {esc(", ".join(skipped))}.</p>' if skipped else ""
    return (
        '<div class="pg-surprise"><div class="pg-legend">Surprisal per character, −log₂ p ÷ characters: '
        f'<span class="pg-scale" style="background:linear-gradient(90deg, {stops})"></span> 0 (expected) … '
        f"{BITS_PER_CHAR_SCALE:g}+ bits (surprising). Hover a token for its bits, probability and rank.</div>"
        f"{legend_rows}{_blocks(alignment, slots, heat)}{_hot_table(hot, scored)}"
        f"<h4>Rank of the true token (GLTR)</h4>{_bucket_counts(alignment, scored)}"
        f"{_blocks(alignment, slots, ranks)}{note}</div>"
    )


def _score_label(result: Result) -> str:
    return result.model + (" (pseudo: masked LM, not comparable)" if result.score.kind == "pseudo" else "")


def _hot_table(hot, scored: Sequence[tuple[int, Result]]) -> str:
    if not hot:
        return ""
    head = "".join(f"<th>{model_name(i, r.model)}</th>" for i, r in scored)
    rows = "".join(
        f'<tr><th scope="row"><span class="pg-hot-tag">{n}</span> {_shown(p.text.strip() or p.text)}</th>'
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
