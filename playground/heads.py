"""Encoder task heads run directly on loaded models: classification, entities, extractive QA.

transformers 5 removed the question-answering pipeline, so all three heads are decoded here
from the raw logits of the Auto model classes. Each function takes a model and tokenizer the
caller already loaded with ``from_pretrained`` and returns a frozen dataclass. The decoding
steps (entity grouping, answer-span search) are pure functions over arrays so they can be
checked exactly on hand-made logits.

The lecture's model table (``LECTURE_TABLE``) and the families transformers 5 dropped
(``REMOVED_FAMILIES``) live at the end: they say which family runs which of these tasks,
and which run text-to-text (``playground.text2text``) or plain generation instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import BatchEncoding, PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase

from playground.errors import PlaygroundError

DOC_STRIDE = 128
"""Most context tokens two neighbouring QA windows share (the pipeline's old default)."""

MIN_CONTEXT_TOKENS = 8
"""Fewest context tokens a QA window must leave room for next to the question."""

DEFAULT_WINDOW = 512
"""Window assumed when neither the tokenizer nor the config states one."""

WINDOW_BATCH = 8
"""Windows run through the model at once, which bounds memory on long texts."""

_UNLIMITED = 1_000_000
"""Tokenizers without a stated limit report a huge ``model_max_length`` (about 1e30)."""

_PADDING_OFFSET_POSITIONS = {"roberta", "xlm-roberta", "camembert"}
"""Families whose position ids start after the padding index, as in RoBERTa."""


def model_window(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> int | None:
    """Most tokens (special tokens included) one forward pass can hold.

    The smaller of the tokenizer's ``model_max_length`` and the config's position table;
    ``None`` when neither sets a limit (T5's relative positions have no table).
    """
    limits = []
    if tokenizer.model_max_length < _UNLIMITED:
        limits.append(int(tokenizer.model_max_length))
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions:
        if model.config.model_type in _PADDING_OFFSET_POSITIONS:
            # RoBERTa numbers positions from pad_token_id + 1: the rows below are never used.
            positions -= (model.config.pad_token_id or 0) + 1
        limits.append(int(positions))
    return min(limits) if limits else None


def label_names(config: PretrainedConfig, count: int) -> tuple[tuple[str, ...], bool]:
    """The ``count`` label names from ``config.id2label`` and whether they are real names.

    False means the map is missing or the generic ``LABEL_0, LABEL_1, ...`` that transformers
    fills in when a config names no labels.
    """
    id2label = config.id2label or {}
    names = tuple(str(id2label.get(i, f"LABEL_{i}")) for i in range(count))
    return names, any(name != f"LABEL_{i}" for i, name in enumerate(names))


NO_LABEL_NAMES = (
    "The model config has no label names (id2label is missing or the default LABEL_0, "
    "LABEL_1, ...), so labels show as LABEL_n; the model card may say what each number means."
)


def require_text(value: str, what: str) -> None:
    if not value or not value.strip():
        raise PlaygroundError(f"The {what} is empty; type some text.")


def require_fast(tokenizer: PreTrainedTokenizerBase, task: str) -> None:
    """Offsets back into the text come only from tokenizers backed by the Rust library."""
    if not tokenizer.is_fast:
        raise PlaygroundError(
            f"{task} needs character offsets, which {type(tokenizer).__name__} (a slow Python "
            "tokenizer) cannot give; load a checkpoint that ships a tokenizer.json."
        )


def run_windows(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, encoding: BatchEncoding, keys: Sequence[str]
) -> dict[str, np.ndarray]:
    """Run the model over every window of ``encoding``; the named outputs as float arrays."""
    names = [name for name in tokenizer.model_input_names if name in encoding]
    outputs: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    with torch.inference_mode():
        for first in range(0, len(encoding["input_ids"]), WINDOW_BATCH):
            batch = {n: encoding[n][first : first + WINDOW_BATCH].to(model.device) for n in names}
            result = model(**batch)
            for key in keys:
                outputs[key].append(result[key].float().cpu().numpy())
    return {key: np.concatenate(parts) for key, parts in outputs.items()}


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float


@dataclass(frozen=True)
class Classification:
    """Labels for one text, most probable first.

    ``activation`` is ``"softmax"`` for single-label heads (scores sum to 1) or ``"sigmoid"`` for
    multi-label heads (each score is an independent yes/no probability; they need not sum to 1).
    ``tokens_read`` of ``tokens_total`` tokens (special tokens included) reached the model.
    """

    labels: tuple[LabelScore, ...]
    activation: str
    tokens_read: int
    tokens_total: int
    notes: tuple[str, ...] = ()


def classify(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, text: str, top_k: int | None = None
) -> Classification:
    """Score ``text`` with a sequence-classification head (``AutoModelForSequenceClassification``).

    Text longer than the model window is cut to its first window of tokens; a note says so.
    """
    require_text(text, "text to classify")
    if top_k is not None and top_k < 1:
        raise PlaygroundError(f"top_k must be at least 1 (got {top_k}); use None for all labels.")
    window = model_window(model, tokenizer) or DEFAULT_WINDOW
    tokens_total = len(tokenizer(text, verbose=False)["input_ids"])
    inputs = tokenizer(text, truncation=True, max_length=window, return_tensors="pt")
    logits = run_windows(model, tokenizer, inputs, ("logits",))["logits"][0]

    multi_label = model.config.problem_type == "multi_label_classification"
    scores = 1 / (1 + np.exp(-logits)) if multi_label else _softmax(logits)
    names, named = label_names(model.config, len(scores))
    ranked = sorted(zip(names, scores.tolist(), strict=True), key=lambda pair: pair[1], reverse=True)

    notes = [] if named else [NO_LABEL_NAMES]
    tokens_read = int(inputs["input_ids"].shape[1])
    if tokens_total > tokens_read:
        notes.append(
            f"The text is {tokens_total} tokens but the model reads at most {window}: only the "
            f"first {tokens_read} tokens were classified (special tokens included)."
        )
    return Classification(
        labels=tuple(LabelScore(name, score) for name, score in ranked[:top_k]),
        activation="sigmoid" if multi_label else "softmax",
        tokens_read=tokens_read,
        tokens_total=tokens_total,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class Entity:
    """A named entity: ``text == source[start:end]`` (character offsets into the input).

    ``score`` is the mean, over the entity's tokens, of each token's highest label probability.
    """

    type: str
    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class Entities:
    """Entities found in one text, in reading order; ``windows`` model passes covered it."""

    entities: tuple[Entity, ...]
    windows: int
    notes: tuple[str, ...] = ()


def _split_tag(label: str) -> tuple[str, str | None]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", None)``; a bare ``"PER"`` continues."""
    if label == "O":
        return "O", None
    prefix, _, entity_type = label.partition("-")
    if entity_type and prefix in {"B", "I", "E", "S"}:
        return prefix, entity_type
    return "I", label


def aggregate_entities(
    text: str,
    offsets: Sequence[tuple[int, int]],
    probabilities: np.ndarray,
    id2label: Mapping[int, str],
    word_ids: Sequence[int | None],
) -> tuple[Entity, ...]:
    """Group per-token label probabilities into word-level entities ("first" strategy).

    A word (tokens sharing a word id; ``None`` marks special tokens, skipped) takes the label
    of its first sub-token. Consecutive words of the same type join one entity unless the
    later word is tagged ``B-``/``S-`` (a new entity starts); ``O`` ends the current entity.
    """
    words: list[list[int]] = []
    for index, word in enumerate(word_ids):
        if word is None:
            continue
        if words and word_ids[words[-1][-1]] == word:
            words[-1].append(index)
        else:
            words.append([index])

    groups: list[tuple[str, list[int]]] = []
    for tokens in words:
        prefix, entity_type = _split_tag(id2label[int(np.argmax(probabilities[tokens[0]]))])
        if entity_type is None:
            groups.append(("O", []))
        elif groups and groups[-1][0] == entity_type and prefix in {"I", "E"}:
            groups[-1][1].extend(tokens)
        else:
            groups.append((entity_type, list(tokens)))

    entities = []
    for entity_type, tokens in groups:
        if not tokens:
            continue
        start, end = offsets[tokens[0]][0], offsets[tokens[-1]][1]
        # Byte-level BPE can give a leading space its own token; keep the span on the word.
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end:
            continue
        score = float(np.mean([np.max(probabilities[t]) for t in tokens]))
        entities.append(Entity(entity_type, start, end, text[start:end], score))
    return tuple(entities)


def recognise_entities(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, text: str) -> Entities:
    """Find named entities with a token-classification head (``AutoModelForTokenClassification``).

    Text longer than the model window is read in windows overlapping by a quarter window; a
    token seen by several windows takes its labels from the one where it has most context
    on both sides, so every token gets a label.
    """
    require_text(text, "text to tag")
    require_fast(tokenizer, "entity recognition")
    whole = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    offsets = [tuple(pair) for pair in whole["offset_mapping"]]
    window = model_window(model, tokenizer) or DEFAULT_WINDOW
    room = window - tokenizer.num_special_tokens_to_add(pair=False)
    overlap = room // 4 if len(offsets) > room else 0
    encoding = tokenizer(
        text,
        truncation=True,
        max_length=window,
        stride=overlap,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=True,
        return_tensors="pt",
    )
    logits = run_windows(model, tokenizer, encoding, ("logits",))["logits"]
    window_probabilities = _softmax(logits)

    probabilities = np.zeros((len(offsets), logits.shape[-1]))
    context = np.full(len(offsets), -1)
    first = 0
    for w in range(len(logits)):
        positions = [i for i, seq in enumerate(encoding.sequence_ids(w)) if seq == 0]
        spans = [tuple(encoding["offset_mapping"][w][i].tolist()) for i in positions]
        assert spans == offsets[first : first + len(spans)], "windows out of step"
        for k, position in enumerate(positions):
            token_context = min(k, len(positions) - 1 - k)
            if token_context > context[first + k]:
                context[first + k] = token_context
                probabilities[first + k] = window_probabilities[w, position]
        # Each overflow window repeats the last `overlap` tokens of the one before it.
        first += len(positions) - overlap
    assert (context >= 0).all(), "a token no window covered"

    names, named = label_names(model.config, logits.shape[-1])
    entities = aggregate_entities(text, offsets, probabilities, dict(enumerate(names)), whole.word_ids())
    return Entities(entities, windows=len(logits), notes=() if named else (NO_LABEL_NAMES,))


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
        p_start = _softmax(np.asarray(window.start_logits, dtype=float), allowed)
        p_end = _softmax(np.asarray(window.end_logits, dtype=float), allowed)
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


def _softmax(logits: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """Softmax over the last axis; positions where ``allowed`` is False get probability 0."""
    if allowed is not None:
        logits = np.where(allowed, logits, -np.inf)
    shifted = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


CLASSIFICATION = "classification"
NER = "ner"
EXTRACTIVE_QA = "extractive_qa"
GENERATION = "generation"
SUMMARIZATION = "summarization"
TRANSLATION = "translation"
GENERATIVE_QA = "generative_qa"

ENCODER_TASKS = (CLASSIFICATION, NER, EXTRACTIVE_QA)
TEXT2TEXT_TASKS = (SUMMARIZATION, TRANSLATION, GENERATIVE_QA)

REMOVED_FAMILIES: dict[str, str] = {
    "transfo-xl": (
        "Transformer-XL (model_type 'transfo-xl') was removed from transformers: it was "
        "deprecated in v4.35 and dropped since, so transformers 5 cannot load it. Use GPT-2 "
        "('gpt2') or a modern decoder such as SmolLM2 ('HuggingFaceTB/SmolLM2-135M') instead."
    )
}
"""model_type -> why the playground cannot load it and what to use instead."""


@dataclass(frozen=True)
class LectureFamily:
    """One row of the lecture's model table.

    ``architecture`` is ``"encoder"``, ``"decoder"`` or ``"encoder-decoder"``; ``model_type``
    is the config's; ``tasks`` are what the playground runs on the family; ``removed`` marks a
    family transformers 5 can no longer load.
    """

    architecture: str
    model_type: str
    tasks: tuple[str, ...]
    note: str = ""
    removed: bool = False


LECTURE_TABLE: dict[str, LectureFamily] = {
    "ALBERT": LectureFamily("encoder", "albert", ENCODER_TASKS),
    "BERT": LectureFamily("encoder", "bert", ENCODER_TASKS),
    "DistilBERT": LectureFamily(
        "encoder", "distilbert", ENCODER_TASKS, "No token type ids: [SEP] alone marks the context."
    ),
    "ELECTRA": LectureFamily("encoder", "electra", ENCODER_TASKS, "Heads are fine-tuned on the discriminator."),
    "RoBERTa": LectureFamily("encoder", "roberta", ENCODER_TASKS),
    "CTRL": LectureFamily("decoder", "ctrl", (GENERATION,), "Start the prompt with a control code, e.g. 'Wikipedia'."),
    "GPT": LectureFamily("decoder", "openai-gpt", (GENERATION,)),
    "GPT-2": LectureFamily("decoder", "gpt2", (GENERATION,)),
    "Transformer-XL": LectureFamily(
        "decoder", "transfo-xl", (GENERATION,), REMOVED_FAMILIES["transfo-xl"], removed=True
    ),
    "BART": LectureFamily(
        "encoder-decoder",
        "bart",
        TEXT2TEXT_TASKS,
        "English only: translation and QA need a checkpoint fine-tuned for them.",
    ),
    "T5": LectureFamily("encoder-decoder", "t5", TEXT2TEXT_TASKS, "The task is a text prefix, e.g. 'summarize: '."),
    "Marian": LectureFamily(
        "encoder-decoder",
        "marian",
        (TRANSLATION,),
        "Only translation makes sense: each checkpoint (opus-mt-SRC-TGT) is trained for one fixed language pair.",
    ),
    "mBART": LectureFamily("encoder-decoder", "mbart", TEXT2TEXT_TASKS, "Languages are codes such as en_XX and ro_RO."),
}
"""Family name as the lecture writes it -> its row."""


def check_family_supported(model_type: str) -> None:
    """Raise PlaygroundError if transformers 5 cannot load this model_type (or lecture family)."""
    by_family = {name.lower(): row.model_type for name, row in LECTURE_TABLE.items()}
    key = model_type.strip().lower()
    key = by_family.get(key, key).replace("_", "-")
    if key in REMOVED_FAMILIES:
        raise PlaygroundError(REMOVED_FAMILIES[key])
