"""The lecture-table tasks inside a comparison: encoder heads and text-to-text with a task prompt.

A comparison sends one input to every model. Encoders with task heads read it as follows:
a sentence classifier labels the text; a token classifier marks entities in it; an extractive
QA model treats the text as the context and the second box (``Request.target``) as the question.
An encoder-decoder given a task (summarization, translation, generative QA) gets the prompt
format of its family (T5 prefixes, Marian language pairs, mBART language codes).
"""

from __future__ import annotations

import time

from playground.entities import recognise_entities
from playground.errors import PlaygroundError
from playground.extractive_qa import answer_question
from playground.heads import classify
from playground.kinds import Kind
from playground.lecture import EXTRACTIVE_QA, TEXT2TEXT_TASKS
from playground.models import LoadedModel
from playground.text2text import text_to_text

HEAD_KINDS = (Kind.CLASSIFIER, Kind.TOKEN_CLASSIFIER, Kind.QUESTION_ANSWERING)


def run_head(lm: LoadedModel, text: str, second: str | None) -> tuple[str, object]:
    """Run an encoder's task head on the text; return a one-line summary and the full result."""
    if lm.kind is Kind.CLASSIFIER:
        result = classify(lm.model, lm.tokenizer, text, top_k=5)
        return ", ".join(f"{s.label} {s.score:.0%}" for s in result.labels[:3]), result
    if lm.kind is Kind.TOKEN_CLASSIFIER:
        result = recognise_entities(lm.model, lm.tokenizer, text)
        found = ", ".join(f"{e.text} ({e.type} {e.score:.0%})" for e in result.entities)
        return (f"Entities: {found}" if found else "No entities found."), result
    if lm.kind is Kind.QUESTION_ANSWERING:
        if not second or not second.strip():
            raise PlaygroundError(
                f"{lm.label} answers a question from the text: put the question in the second box "
                "(the prompt box holds the context)."
            )
        result = answer_question(lm.model, lm.tokenizer, second, text)
        if result.found:
            return f"Answer: {result.text} ({result.score:.0%})", result
        return f"No answer in the context (best guess: {result.text!r}, {result.score:.0%}).", result
    raise PlaygroundError(f"{lm.label} is an {lm.kind.value}: it has no task head.")


def run_text2text(lm: LoadedModel, request) -> tuple[str, object, float]:
    """Run an encoder-decoder on the request's task with its family's prompt format; seconds taken."""
    if request.task not in TEXT2TEXT_TASKS:
        choices = ", ".join(TEXT2TEXT_TASKS)
        raise PlaygroundError(f"Unknown task '{request.task}' for {lm.label}: use one of {choices}.")
    start = time.perf_counter()
    result = text_to_text(
        lm.model,
        lm.tokenizer,
        request.task,
        request.text,
        source_lang=request.source_lang,
        target_lang=request.target_lang,
        question=request.target if request.task != EXTRACTIVE_QA else None,
        max_new_tokens=request.generation.max_new_tokens,
    )
    return result.output, result, time.perf_counter() - start
