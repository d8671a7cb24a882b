"""The lecture-table tasks in a model's column: labels with bars, entities over the text, the answer span
in its context, and an encoder-decoder's output next to the exact input it read.

Each function takes the engine's result (``heads.Classification``, ``entities.Entities``,
``extractive_qa.Answer``, ``text2text.Text2TextResult``) and the text the model was given.
"""

from __future__ import annotations

from playground.entities import Entities
from playground.extractive_qa import Answer
from playground.heads import Classification
from playground.text2text import Text2TextResult
from web.escape import esc
from web.render.common import percent

# Entity types keep one colour wherever they appear; unknown types take the next free one.
ENTITY_COLOURS = {"PER": "#fde68a", "ORG": "#bfdbfe", "LOC": "#bbf7d0", "MISC": "#fbcfe8"}
SPARE_COLOURS = ("#ddd6fe", "#fed7aa", "#a5f3fc", "#e5e7eb")
TASK_NAMES = {
    "classification": "sequence classification",
    "ner": "named entities (token classification)",
    "extractive_qa": "extractive question answering",
    "summarization": "summarization",
    "translation": "translation",
    "generative_qa": "generative question answering",
}


def task_view(task: str | None, result: object, text: str, question: str = "") -> str:
    """The task's result as HTML, or "" when the column ran no lecture-table task."""
    if isinstance(result, Classification):
        return classification_view(result)
    if isinstance(result, Entities):
        return entities_view(result, text)
    if isinstance(result, Answer):
        return answer_view(result, text, question)
    if isinstance(result, Text2TextResult):
        return text2text_view(task or "", result)
    return ""


def _notes(notes: tuple[str, ...]) -> str:
    return "".join(f'<div class="pg-note">{esc(n)}</div>' for n in notes)


def classification_view(result: Classification) -> str:
    """Each label with a bar as long as its probability."""
    rows = "".join(
        f'<div class="pg-label-row"><span class="pg-label-name">{esc(s.label)}</span>'
        f'<span class="pg-bar-track"><span class="pg-bar" style="width:{max(1.0, 100 * s.score):.1f}%"></span></span>'
        f'<span class="pg-bar-value">{percent(s.score)}</span></div>'
        for s in result.labels
    )
    how = (
        "one label per text: the probabilities add up to 100 %"
        if result.activation == "softmax"
        else "each label is its own yes/no probability (multi-label)"
    )
    return (
        f'<div class="pg-task" data-task="classification"><div class="pg-task-title">Labels · {esc(how)}</div>'
        f"{rows}{_notes(result.notes)}</div>"
    )


def entity_colour(kind: str, seen: dict[str, str]) -> str:
    if kind not in seen:
        seen[kind] = ENTITY_COLOURS.get(kind.upper(), SPARE_COLOURS[len(seen) % len(SPARE_COLOURS)])
    return seen[kind]


def entities_view(result: Entities, text: str) -> str:
    """The text with each entity marked, its type and score beside it (like a highlighted-text widget)."""
    colours: dict[str, str] = {}
    parts, pos = [], 0
    for e in sorted(result.entities, key=lambda e: e.start):
        if e.start < pos:
            continue  # overlapping spans do not occur in BIO tags; keep the first if they ever do
        parts.append(esc(text[pos : e.start]))
        parts.append(
            f'<mark class="pg-ent" style="background:{entity_colour(e.type, colours)}" '
            f'title="{esc(e.type)} · {percent(e.score)}">{esc(text[e.start : e.end])}'
            f'<span class="pg-ent-type">{esc(e.type)} {percent(e.score)}</span></mark>'
        )
        pos = e.end
    parts.append(esc(text[pos:]))
    found = f"{len(result.entities)} entities" if result.entities else "no entities found"
    return (
        f'<div class="pg-task" data-task="ner"><div class="pg-task-title">Named entities · {found}</div>'
        f'<div class="pg-marked">{"".join(parts)}</div>{_notes(result.notes)}</div>'
    )


def answer_view(result: Answer, context: str, question: str = "") -> str:
    """The answer span highlighted in the context with its score, or "no answer" and the best guess."""
    kind = "pg-answer" if result.found else "pg-guess"
    span = (
        f'{esc(context[: result.start])}<mark class="{kind}">{esc(context[result.start : result.end])}</mark>'
        f"{esc(context[result.end :])}"
    )
    if result.found:
        verdict = f"Answer: <b>{esc(result.text)}</b> · score {percent(result.score)}"
    else:
        verdict = (
            f"No answer in the context (the “no answer” score {percent(result.null_score)} beat every span); "
            f"best guess: <b>{esc(result.text)}</b> · {percent(result.score)}"
        )
    asked = f'<div class="pg-question">Q: {esc(question)}</div>' if question else ""
    return (
        f'<div class="pg-task" data-task="extractive_qa" data-found="{str(result.found).lower()}">'
        f'<div class="pg-task-title">Extractive QA · copies a span of the context</div>{asked}'
        f'<div class="pg-verdict">{verdict}</div><div class="pg-marked">{span}</div>{_notes(result.notes)}</div>'
    )


def text2text_view(task: str, result: Text2TextResult) -> str:
    """The exact input the encoder read (task prefix, language pair or codes, special tokens shown)."""
    empty = (
        ""
        if result.output.strip()
        else '<div class="pg-note">The model wrote no visible text (only special tokens).</div>'
    )
    return empty + (
        f'<div class="pg-task" data-task="{esc(task)}"><div class="pg-task-title">{esc(TASK_NAMES.get(task, task))} · '
        f"the exact model input ({result.input_tokens} tokens) → {result.output_tokens} tokens out</div>"
        f'<pre class="pg-model-input">{esc(result.model_input)}</pre>{_notes(result.notes)}</div>'
    )
