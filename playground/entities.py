"""Named entities from a token-classification head, with sub-word tokens grouped into words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from playground.heads import (
    DEFAULT_WINDOW,
    NO_LABEL_NAMES,
    label_names,
    model_window,
    require_fast,
    require_text,
    run_windows,
    softmax,
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
    window_probabilities = softmax(logits)

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
