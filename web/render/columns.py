"""The page's own parts as HTML: the preset picker's entries and notes, the two text boxes' labels,
what each loaded model does with them, and one card per model.

Every function takes engine results (``compare.Result``, ``facts.ModelFacts``, presets) and
returns a string, so the page can be checked in a test or a notebook without a browser. Text
that comes from visitors or models goes through ``web.escape.esc``. The models are a list: every
view handles two or three of them the same way. The other views live by area in ``web.render``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from playground.compare import Result
from playground.facts import ModelFacts
from playground.kinds import Kind
from playground.presets import Preset
from playground.text2text import Text2TextResult
from web.escape import esc
from web.render.common import colour, human_count, short_label
from web.render.tasks import task_view
from web.render.teaching import kind_note

STATUS_TEXT = {
    "idle": "idle",
    "loading": "loading",
    "running": "running",
    "done": "done",
    "stopped": "stopped",
    "error": "error",
}
# --- presets -------------------------------------------------------------------------------


def preset_choices(presets: dict[str, Preset], unavailable: set[str] = frozenset()) -> list[tuple[str, str]]:
    """Dropdown entries: (title — purpose, preset name); a preset whose models need the unreachable
    Hub says so in its entry."""
    return [
        (f"{p.title} — {p.purpose}" + (" [needs the Hub: not available here]" if name in unavailable else ""), name)
        for name, p in presets.items()
    ]


def preset_slots(preset: Preset, slots: int = 3) -> list[str]:
    ids = [m.id for m in preset.models]
    return ids + [""] * (slots - len(ids))


def preset_info(preset: Preset, hub_needed: bool = False) -> str:
    """The preset's purpose and its models, each with its chat-template choice and note."""
    items = []
    for model in preset.models:
        line = f"<code>{esc(model.id)}</code>"
        if model.use_chat_template is not None:
            line += f" ({'with' if model.use_chat_template else 'without'} its chat template)"
        if model.note:
            line += f" — {esc(model.note)}"
        items.append(f"<li>{line}</li>")
    offline = ""
    if hub_needed:
        unreachable = "Needs the Hugging Face Hub, which this server cannot reach."
        offline = f'<p class="pg-warn">{unreachable} {esc(preset.offline_alternative)}</p>'
    elif not preset.offline and preset.offline_alternative:
        offline = f'<p class="pg-legend-line">Needs the Hugging Face Hub. {esc(preset.offline_alternative)}</p>'
    return f'<div class="pg-preset-info"><b>{esc(preset.purpose)}</b><ol>{"".join(items)}</ol>{offline}</div>'


# --- the two text boxes --------------------------------------------------------------------


@dataclass(frozen=True)
class BoxLabels:
    """What the prompt box and the second box hold, for the models in the slots."""

    prompt: str
    prompt_info: str
    second: str
    second_info: str


def box_labels(kinds: Sequence[str], task: str = "") -> BoxLabels:
    """Name the two boxes by what the models do with them: a context and a question for question
    answering, a source and a reference output for an encoder-decoder, a prompt otherwise."""
    if Kind.QUESTION_ANSWERING in kinds or task == "generative_qa":
        return BoxLabels(
            "Context",
            "The text the answer is taken from (extractive) or read before answering (generative).",
            "Question",
            "Asked about the context.",
        )
    if task:
        return BoxLabels(
            f"Source text ({task.replace('_', ' ')})",
            "Encoder-decoders get it in their family's task format; decoders continue it.",
            "Target / second sentence",
            "Not used by a task; a decoder ignores it.",
        )
    if kinds and all(k == Kind.ENCODER_DECODER for k in kinds):
        return BoxLabels(
            "Source text",
            "The encoder reads it whole; the decoder writes an output.",
            "Reference output",
            "Scored given the source: its conditional perplexity.",
        )
    return BoxLabels(
        "Prompt",
        "Decoders continue or answer it; a masked LM fills its [MASK]; an embedding model compares its "
        "lines or sentences; classifiers and taggers label it.",
        "Target / second sentence",
        "An encoder-decoder's reference output (scored given the prompt), or a second sentence for an embedding model.",
    )


def input_guide(
    labels: Sequence[str],
    facts: Sequence[ModelFacts | None],
    task: str = "",
    templates: Sequence[bool | None] | None = None,
) -> str:
    """What each loaded model does with the two text boxes, by its kind (HTML, one line per model).

    ``templates`` says per model whether a chat template wrapped the prompt (None: not known yet,
    an instruct model is assumed to use its own).
    """
    does = {
        Kind.DECODER: "continues the prompt; perplexity is of the prompt text",
        Kind.ENCODER_DECODER: (
            f"runs {task.replace('_', ' ')} in its family's prompt format"
            if task
            else "reads the prompt as a source and writes an output; a reference output in the second box "
            "gets its conditional perplexity"
        ),
        Kind.MASKED_LM: "fills each [MASK] in the prompt; pseudo-perplexity of the sentence",
        Kind.ENCODER: "turns each sentence of both boxes into a vector and shows their cosine similarity",
        Kind.CLASSIFIER: "labels the whole prompt",
        Kind.TOKEN_CLASSIFIER: "marks the named entities in the prompt",
        Kind.QUESTION_ANSWERING: "answers the question in the second box with a span of the prompt (the context)",
    }
    lines = []
    templates = templates or [None] * len(labels)
    for label, f, template in zip(labels, facts, templates, strict=True):
        if f is None:
            continue
        how = does.get(f.kind, "not a text model; the playground shows its facts only")
        if f.kind == Kind.DECODER and (f.instruct if template is None else template):
            how = "answers the prompt wrapped in its chat template; perplexity is of the prompt text"
        lines.append(f"<li><b>{esc(short_label(label))}</b> ({esc(f.kind)}): {esc(how)}.</li>")
    return f'<ul class="pg-guide">{"".join(lines)}</ul>' if lines else ""


# --- one column per model ------------------------------------------------------------------


UNUSED = '<div class="pg-col-unused"></div>'
"""An empty slot's column: the style sheet hides its block. (Its content says so, not a visibility
flag: a run's updates then never race another event's over the component's visibility.)"""


def idle_column(index: int, label: str = "") -> str:
    title = esc(short_label(label)) if label else f"Model {index + 1}"
    return (
        f'<div class="pg-col" data-status="idle" style="--pg-accent:{colour(index)}">'
        f'<div class="pg-col-head"><span class="pg-dot"></span><span class="pg-model">{title}</span>'
        f"{badge('idle')}</div>"
        '<div class="pg-placeholder">Press Run to see this model\'s output here.</div></div>'
    )


def badge(status: str) -> str:
    return f'<span class="pg-badge pg-badge-{esc(status)}" data-status="{esc(status)}">{STATUS_TEXT[status]}</span>'


def column(
    index: int,
    result: Result,
    progress: str | None = None,
    text: str = "",
    second: str = "",
    show_kind: bool = False,
) -> str:
    """One model's card: status, the prompt it read (open when a chat template wrapped it), its
    output or task result, notes and errors; with ``show_kind`` (the columns' kinds differ) also
    what its architecture sees and which tasks suit it.

    ``text`` and ``second`` are the two boxes, for task views that mark the text (entities, answers).
    """
    parts = [
        f'<div class="pg-col-head"><span class="pg-dot"></span>'
        f'<span class="pg-model" title="{esc(result.model)}">{esc(short_label(result.model))}</span>'
        f"{badge(result.status)}</div>"
    ]
    if result.facts:
        parts.append(
            f'<div class="pg-kind">{esc(result.facts.kind)} · {esc(human_count(result.facts.parameters))}'
            f" parameters · {esc(result.facts.dtype)}</div>{kind_note(result.facts.kind) if show_kind else ''}"
        )
    if result.status == "loading":
        parts.append(f'<div class="pg-progress">{esc(progress or "loading the model…")}</div>')
    if result.error and result.status == "stopped":  # not a failure: the text so far is kept below
        parts.append(f'<div class="pg-stopped">{esc(result.error)}</div>')
    elif result.error:
        parts.append(f'<div class="pg-error" role="alert">{esc(result.error)}</div>')
    parts += _prompt_seen(result)
    # A task head's output is a one-line summary of what its task view shows in full.
    writes = result.task_result is None or isinstance(result.task_result, Text2TextResult)
    if result.output and writes:
        cursor = '<span class="pg-cursor">▍</span>' if result.status == "running" else ""
        parts.append(f'<div class="pg-output">{esc(result.output)}{cursor}</div>')
    elif result.status == "running":
        parts.append('<div class="pg-placeholder">waiting for the first token…</div>')
    parts.append(task_view(result.task, result.task_result, text, second))
    parts += _kind_details(result)
    parts += _generation_details(result)
    return (
        f'<div class="pg-col" data-status="{esc(result.status)}" style="--pg-accent:{colour(index)}">'
        f"{''.join(parts)}</div>"
    )


def _prompt_seen(result: Result) -> list[str]:
    """The prompt as the model read it, above its output: open when a chat template wrapped it, so
    the turns the instruct model answers in sit next to its answer."""
    gen = result.generation
    if gen is None:
        return []
    how = "with its chat template" if gen.prompt.chat_template else "plain text after the document-start token"
    opened = " open" if gen.prompt.chat_template else ""
    return [
        f'<details class="pg-prompt"{opened}><summary>Prompt as the model sees it ({len(gen.prompt.ids)} tokens, '
        f"{how})</summary><pre>{esc(gen.prompt.rendered)}</pre></details>"
    ]


def _generation_details(result: Result) -> list[str]:
    gen = result.generation
    if gen is None:
        return []
    parts = []
    if gen.note:
        parts.append(f'<div class="pg-note">{esc(gen.note)}</div>')
    if result.status == "done" and not gen.text and not gen.note:
        parts.append('<div class="pg-note">The model produced no visible text (only special tokens).</div>')
    stats = [f"{gen.new_tokens} new tokens", f"stopped: {gen.stop_reason}"]
    stats.append(f"first token {gen.time_to_first_token_s:.2f} s")
    if gen.new_tokens > 1:
        stats.append(f"{gen.decode_tokens_per_s:.1f} tokens/s")
    if gen.first_call:
        stats.append("first call after loading (includes warm-up)")
    parts.append(f'<div class="pg-stats">{esc(" · ".join(stats))}</div>')
    return parts


def _kind_details(result: Result) -> list[str]:
    parts = []
    if result.fill_mask:
        for n, blank in enumerate(result.fill_mask.blanks, start=1):
            rows = "".join(f"<tr><td>{esc(c.token)}</td><td>{c.probability:.1%}</td></tr>" for c in blank)
            parts.append(f'<table class="pg-small"><caption>blank {n}</caption>{rows}</table>')
    if result.embeddings and len(result.embeddings.sentences) > 1:
        emb = result.embeddings
        names = [f"S{i + 1}" for i in range(len(emb.sentences))]
        head = "".join(f"<th>{n}</th>" for n in names)
        rows = "".join(
            f'<tr><th title="{esc(s)}">{names[i]}</th>'
            + "".join(f"<td>{v:.3f}</td>" for v in emb.similarity[i])
            + "</tr>"
            for i, s in enumerate(emb.sentences)
        )
        legend = "".join(f"<li>{names[i]}: {esc(s)}</li>" for i, s in enumerate(emb.sentences))
        parts.append(
            f'<table class="pg-small"><caption>cosine similarity ({emb.dimension} dimensions)</caption>'
            f'<tr><th></th>{head}</tr>{rows}</table><ul class="pg-sentences">{legend}</ul>'
        )
    if result.score and result.score.note:
        parts.append(f'<div class="pg-note">{esc(result.score.note)}</div>')
    return parts
