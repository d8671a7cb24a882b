"""Teaching views that explain why models differ: what each architecture sees and suits, the
preset's "what to look for", and the next-token distribution with what sampling cuts away.
"""

from __future__ import annotations

from collections.abc import Sequence

from playground.distribution import Distribution
from playground.kinds import Kind
from playground.lecture import LECTURE_POINTS
from playground.presets import Preset
from web.escape import esc
from web.render.common import colour, model_name, percent

SUITS = {
    Kind.DECODER: "writing on: continuation, chat, code; scores text left to right",
    Kind.ENCODER_DECODER: "rewriting an input: translation, summaries, generative QA",
    Kind.MASKED_LM: "filling blanks; fine-tuned, it classifies, tags entities and extracts answers",
    Kind.ENCODER: "similarity, search and clustering of sentences",
    Kind.CLASSIFIER: "labelling a whole text (sentiment, topic)",
    Kind.TOKEN_CLASSIFIER: "labelling each word (named entities)",
    Kind.QUESTION_ANSWERING: "extractive QA: pointing at the answer inside a text",
}
"""What each kind of model is good for, one line for a column."""


def _views() -> dict[str, str]:
    # A preset that serves two points (offline-default: model types, then facts) opens on the
    # view of the first: the lecture meets it there first.
    views: dict[str, str] = {}
    for point in LECTURE_POINTS:
        views.setdefault(point.preset, point.view)
        views.setdefault(point.offline_preset, point.view)
    return views


VIEWS = _views()
"""Preset name -> the results tab that makes its point, from the lecture's seven points
(``playground.lecture.LECTURE_POINTS``, each point's preset and its offline stand-in); other
presets open on the outputs."""


def kind_note(kind: str) -> str:
    """One line per column: what the architecture sees, and which tasks suit it."""
    try:
        known = Kind(kind)
    except ValueError:
        return ""
    return f'<div class="pg-sees"><b>Sees:</b> {esc(known.sees)}.<br><b>Suits:</b> {esc(SUITS[known])}.</div>'


def preset_view(preset: Preset) -> str:
    """The tab a preset opens on."""
    return VIEWS.get(preset.name, "outputs")


def preset_notes(preset: Preset) -> str:
    """What the lecturer wants the room to look for, beside the results (HTML)."""
    notes = preset.notes or preset.purpose
    heading = "what to look for:"
    if notes.lower().startswith(heading):
        notes = notes[len(heading) :].strip()
    return f'<div class="pg-look"><b>What to look for:</b> {esc(" ".join(notes.split()))}</div>'


# --- the next token -------------------------------------------------------------------------


def caret_text(text: str, position: int) -> str:
    """The text with a caret where the model stops reading; the rest greyed out."""
    return (
        f'<div class="pg-caret-text">{esc(text[:position])}<span class="pg-caret" title="next token here">▍</span>'
        f'<span class="pg-after">{esc(text[position:])}</span></div>'
    )


def shown_token(text: str) -> str:
    """A candidate as students can read it: a leading space as ␣, a newline as ↵, a byte as <byte>."""
    if text == "\ufffd":
        return "<part of a character>"
    return text.replace(" ", "␣").replace("\n", "↵") or "∅"


def next_token_view(
    text: str,
    position: int,
    labels: Sequence[str],
    views: Sequence[Distribution | str],
    settings: str,
    slots: Sequence[int] | None = None,
) -> str:
    """Per column: which prompt it read (chat template on or off, the text shortened), the top
    candidates with their probability, what temperature makes of it, and the part that top-k and
    top-p cut away (shaded), with the cut mass and the effective choices. Where every shown
    candidate is kept, the most likely cut token (``first_cut``) closes the list, shaded, so the
    cut is visible at any settings that cut something.

    ``views`` holds a Distribution per column, or the reason it has none (an encoder, not loaded);
    ``slots`` the columns' places on the page (their colours), by default 0, 1, 2.
    """
    slots = list(slots) if slots is not None else list(range(len(labels)))
    panels = []
    for slot, label, view in zip(slots, labels, views, strict=True):
        head = f'<div class="pg-next-head">{model_name(slot, label)}'
        if isinstance(view, str):
            reason = f'<p class="pg-empty">{esc(view)}</p>'
            panels.append(f'<div class="pg-next" style="--pg-accent:{colour(slot)}">{head}</div>{reason}</div>')
            continue
        head += "</div>"
        rows = "".join(_candidate_row(c) for c in view.candidates)
        if view.first_cut is not None and all(not c.cut for c in view.candidates):
            rows += _candidate_row(view.first_cut, first_cut=True)
        summary = (
            f"Sampling cut away <b>{percent(view.cut_probability)}</b> of the probability and picks among "
            f"<b>{view.kept_tokens:,}</b> tokens. Uncertainty: {view.entropy_bits:.2f} bits, as unsure as "
            f"<b>{view.effective_choices:,.1f}</b> equally likely tokens."
        )
        note = f'<div class="pg-note">{esc(view.note)}</div>' if view.note else ""
        panels.append(
            f'<div class="pg-next" style="--pg-accent:{colour(slot)}">{head}{prompt_read(view)}'
            f'<div class="pg-next-summary">{summary}</div>'
            '<table class="pg-cands"><thead><tr><th>next token</th><th>p</th>'
            "<th>after temperature</th><th>sampling picks</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{note}</div>"
        )
    legend = (
        '<p class="pg-legend-line">p: the model\'s probability. Bars: after temperature. '
        '<span class="pg-cut-key">Shaded</span>: cut by top-k or top-p, so sampling never picks it. '
        "Greedy decoding always takes the first row.</p>"
    )
    return (
        f'<div class="pg-nexts"><div class="pg-next-where">Next token after position {position} · {esc(settings)}'
        f'{caret_text(text, position)}</div><div class="pg-next-grid">{"".join(panels)}</div>{legend}</div>'
    )


PROMPT_SHOWN = 90
"""Characters of a rendered prompt shown above a next-token chart; a longer one keeps its start and end."""


def prompt_read(view: Distribution) -> str:
    """Which prompt the chart reads: with or without the chat template, its tokens, and the text
    as the model read it (special tokens written out, newlines as ↵), shortened in the middle."""
    if view.chat_template:
        how = "with its chat template"
    elif view.document_start:
        how = f"plain text after {view.document_start}"
    else:
        how = "plain text"
    rendered = view.rendered_prompt.replace("\n", "↵")
    if len(rendered) > PROMPT_SHOWN:
        half = PROMPT_SHOWN // 2
        rendered = f"{rendered[:half]} … {rendered[-half:]}"
    template = str(view.chat_template).lower()
    return (
        f'<div class="pg-next-read" data-template="{template}"><b>Reads the prompt {esc(how)}</b> '
        f'({view.context_tokens} tokens): <code title="{esc(view.rendered_prompt)}">{esc(rendered)}</code></div>'
    )


def _candidate_row(c, first_cut: bool = False) -> str:
    cut = " pg-cut" if c.cut else ""
    token = esc(shown_token(c.text))
    if first_cut:  # below the shown candidates: the most likely token the settings cut, and all after it
        cut += " pg-first-cut"
        token = f"… {token} <small>and every less likely token</small>"
    return (
        f'<tr class="pg-cand{cut}" title="{esc(c.token)} (id {c.token_id})">'
        f'<td class="pg-cand-token">{token}</td><td>{percent(c.probability)}</td>'
        f'<td class="pg-cand-bar"><span class="pg-bar-track"><span class="pg-bar" '
        f'style="width:{max(1.0, 100 * c.tempered_probability):.1f}%"></span></span>'
        f"<span>{percent(c.tempered_probability)}</span></td>"
        f"<td>{'cut' if c.cut else percent(c.sampling_probability)}</td></tr>"
    )
