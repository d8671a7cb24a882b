"""Extractive question answering: the best answer span in a context, over overlapping windows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from playground.errors import PlaygroundError
from playground.heads import DEFAULT_WINDOW, model_window, require_fast, require_text, run_windows, softmax

DOC_STRIDE = 128
"""Most context tokens two neighbouring QA windows share (the pipeline's old default)."""

MIN_CONTEXT_TOKENS = 8
"""Fewest context tokens a QA window must leave room for next to the question."""


@dataclass(frozen=True)
class QAWindow:
    """One window of ``[question, context]`` tokens and the logits the QA head gave them.

    ``sequence_ids`` marks question tokens 0, context tokens 1 and special/padding ``None``;
    ``offsets`` are character spans into the context; ``null_index`` is the token (CLS) whose
    start-and-end pair means "no answer", or ``None`` if the input has none.
    """

    start_logits: Sequence[float]
    end_logits: Sequence[float]
    offsets: Sequence[tuple[int, int]]
    sequence_ids: Sequence[int | None]
    null_index: int | None = 0


@dataclass(frozen=True)
class AnswerSpan:
    """The best span across windows: tokens ``start_token..end_token`` of window ``window``.

    ``score = p_start[start_token] * p_end[end_token]``, each a softmax over the window's
    context tokens plus its null token. ``null_score`` is the smallest null-answer score of
    any window: one window that finds an answer is enough. Scores from different windows are
    normalised separately, so comparing them is a heuristic, as in the old pipeline.
    """

    window: int
    start_token: int
    end_token: int
    start: int
    end: int
    score: float
    null_score: float


def find_answer_span(windows: Sequence[QAWindow], max_answer_tokens: int = 30) -> AnswerSpan:
    """The best answer span over all windows.

    Candidates are context-token pairs with ``start <= end < start + max_answer_tokens`` and
    a non-empty character span; see :class:`AnswerSpan` for the scores.
    """
    best: tuple[float, int, int, int] | None = None  # score, window, start token, end token
    null_scores = []
    for w, window in enumerate(windows):
        context = np.array([seq == 1 for seq in window.sequence_ids])
        allowed = context.copy()
        if window.null_index is not None:
            allowed[window.null_index] = True
        p_start = softmax(np.asarray(window.start_logits, dtype=float), allowed)
        p_end = softmax(np.asarray(window.end_logits, dtype=float), allowed)
        if window.null_index is not None:
            null_scores.append(float(p_start[window.null_index] * p_end[window.null_index]))

        spans = np.asarray(window.offsets).reshape(-1, 2)
        usable = context & (spans[:, 1] > spans[:, 0])
        # The band between two diagonals holds start <= end < start + max_answer_tokens.
        band = np.tril(np.triu(np.ones((len(usable), len(usable)), dtype=bool)), max_answer_tokens - 1)
        scores = np.where(band & np.outer(usable, usable), np.outer(p_start, p_end), -1.0)
        s, e = np.unravel_index(int(np.argmax(scores)), scores.shape)
        if scores[s, e] >= 0 and (best is None or scores[s, e] > best[0]):
            best = (float(scores[s, e]), w, int(s), int(e))
    if best is None:
        raise PlaygroundError("The context has no tokens an answer could span; give a longer context.")
    score, w, s, e = best
    return AnswerSpan(
        window=w,
        start_token=s,
        end_token=e,
        start=int(windows[w].offsets[s][0]),
        end=int(windows[w].offsets[e][1]),
        score=score,
        null_score=min(null_scores, default=0.0),
    )


@dataclass(frozen=True)
class Answer:
    """The answer span found in the context, or the best candidate when there is none.

    ``found`` is False when the null answer (start and end on CLS) outscored every span;
    ``text``/``start``/``end``/``score`` then still describe the best candidate, for display.
    """

    text: str
    start: int
    end: int
    score: float
    null_score: float
    found: bool
    windows: int
    notes: tuple[str, ...] = ()


def answer_question(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, question: str, context: str, max_answer_tokens: int = 30
) -> Answer:
    """Extract the answer to ``question`` from ``context`` (``AutoModelForQuestionAnswering``).

    A context longer than the window is read in windows that overlap by up to ``DOC_STRIDE``
    tokens, each holding the whole question; the best span of any window wins.
    """
    require_text(question, "question")
    require_text(context, "context")
    require_fast(tokenizer, "question answering")
    if max_answer_tokens < 1:
        raise PlaygroundError(f"max_answer_tokens must be at least 1 (got {max_answer_tokens}).")
    window = model_window(model, tokenizer) or DEFAULT_WINDOW
    question_tokens = len(tokenizer(question, add_special_tokens=False)["input_ids"])
    room = window - question_tokens - tokenizer.num_special_tokens_to_add(pair=True)
    if room < MIN_CONTEXT_TOKENS:
        raise PlaygroundError(
            f"The question is {question_tokens} tokens, which leaves {max(room, 0)} of the model's "
            f"{window}-token window for the context; shorten the question."
        )
    encoding = tokenizer(
        question,
        context,
        truncation="only_second",
        max_length=window,
        stride=min(DOC_STRIDE, room // 2),
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=True,
        return_tensors="pt",
    )
    logits = run_windows(model, tokenizer, encoding, ("start_logits", "end_logits"))
    windows = [
        QAWindow(
            start_logits=logits["start_logits"][w],
            end_logits=logits["end_logits"][w],
            offsets=encoding["offset_mapping"][w].tolist(),
            sequence_ids=encoding.sequence_ids(w),
            null_index=_null_index(encoding["input_ids"][w].tolist(), tokenizer),
        )
        for w in range(len(encoding["input_ids"]))
    ]
    span = find_answer_span(windows, max_answer_tokens)
    found = span.score >= span.null_score
    notes = []
    if not found:
        notes.append(
            f"No answer found: the null answer scores {span.null_score:.3f}, more than "
            f"the best span ({span.score:.3f}); the context may not contain the answer."
        )
    return Answer(
        text=context[span.start : span.end],
        start=span.start,
        end=span.end,
        score=span.score,
        null_score=span.null_score,
        found=found,
        windows=len(windows),
        notes=tuple(notes),
    )


def _null_index(input_ids: list[int], tokenizer: PreTrainedTokenizerBase) -> int | None:
    """Position of the CLS token, whose start/end logits score the null answer."""
    cls_id = tokenizer.cls_token_id
    return input_ids.index(cls_id) if cls_id is not None and cls_id in input_ids else None
