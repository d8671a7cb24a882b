"""Tokens over the same characters: how each model cuts the text.

The tokenizer and surprise views (``web.render.surprise``) lay the models' tokens over one text
with ``alignment.align``: the text is cut at every token boundary of every model, and each piece
becomes a block holding one cell per model. Blocks wrap together, so a character stays in the
same place in every model's row.

The tokenizer view draws each model's tokens as boxes, with token counts, characters per token,
and why perplexity is not comparable across tokenizers while bits per byte is. Each token's first
box carries its spelling as the tokenizer writes it ("Ġ" and "▁" for a space, "##" for a word
piece, lower-cased by an uncased tokenizer); the page shows it under the characters when "Show
token spellings" is on (on by default in projector mode, where nobody can hover).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from playground.alignment import Alignment, align
from playground.compare import Result
from playground.encoders import MASK_SPELLINGS
from playground.errors import PlaygroundError
from playground.scoring import TokenScore
from web.escape import esc
from web.render.common import colour, model_name

Segment = tuple[int, int, str]  # character start, end, and the token as the tokenizer spells it

WHY_BITS_PER_BYTE = (
    "<b>Why compare bits per byte, not perplexity?</b> Perplexity = 2<sup>bits ÷ tokens</sup> averages per "
    "token: a tokenizer that cuts the text into more, smaller tokens gets a lower perplexity for the same "
    "skill. Bits per byte = bits ÷ bytes: every model reads the same bytes."
)


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


def shown_text(text: str) -> str:
    """Text for a cell or a list: escaped, a newline drawn as ↵."""
    return esc(text.replace("\n", "↵"))


def blocks(alignment: Alignment, slots: Sequence[int], cell) -> str:
    """One block per segment, one cell per model in it.

    ``slots`` are the models' columns on the page (for their colours); ``cell(model, token index,
    segment)`` gives each cell's (class, style, tooltip, data attributes), e.g. ``data-spell``:
    the spelling the page shows under the characters when token spellings are on.
    """
    blocks = []
    for segment in alignment.segments:
        cells = []
        for m, index in enumerate(segment.tokens):
            kind, style, title, data = cell(m, index, segment)
            extra = "".join(f' {name}="{esc(value)}"' for name, value in data.items())
            cells.append(
                f'<span class="pg-cell {kind}" style="--pg-accent:{colour(slots[m])};{style}" title="{esc(title)}"'
                f"{extra}>{shown_text(segment.text)}</span>"
            )
        blocks.append(f'<span class="pg-blk">{"".join(cells)}</span>')
        if "\n" in segment.text:
            blocks.append('<span class="pg-break"></span>')
    return f'<div class="pg-grid">{"".join(blocks)}</div>'


def edges(alignment: Alignment, m: int, index: int | None, segment) -> str:
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


def rows_legend(labels: Sequence[tuple[int, str]]) -> str:
    return (
        '<div class="pg-rows-legend">Rows, top to bottom: '
        + " ".join(model_name(i, label) for i, label in labels)
        + "</div>"
    )


# --- tokenizers -----------------------------------------------------------------------------


def tokenizer_view(text: str, results: Sequence[Result], segments: dict[str, list[Segment]], why: str = "") -> str:
    """Each model's tokens of the prompt, aligned over its characters, with counts and the reason
    bits per byte, not perplexity, compares models with different tokenizers.

    ``segments`` holds each model's tokens of ``text`` (start, end, piece), by result label;
    ``why``: the lines of "why they differ" about tokens, shown above the counts.
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
            return "pg-uncovered", "", "no token of this model covers these characters", {}
        token = alignment.models[m].tokens[index]
        pieces = " + ".join(repr(p) for p in token.pieces)
        spelling = {"data-spell": " ".join(token.pieces)} if segment.start == token.start else {}
        title = f"{shown[m][1].model}\ntoken {index + 1}: {pieces}"
        return edges(alignment, m, index, segment), "", title, spelling

    return (
        f'<div class="pg-tokenizers">{rows_legend([(i, r.model) for i, r in shown])}'
        f"{blocks(alignment, [i for i, _ in shown], cell)}"
        '<p class="pg-legend-line">Each box is one token; a dashed box holds several tokens that share '
        "characters (bytes of one emoji). Under each token, with “Show token spellings” on: the token as "
        "the tokenizer spells it (Ġ or ▁: a space; ##: inside a word; lower case: an uncased tokenizer).</p>"
        f'{why}{_count_table(text, shown, alignment)}<p class="pg-why">{WHY_BITS_PER_BYTE}</p></div>'
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
