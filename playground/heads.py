"""Encoder task heads run directly on loaded models: the shared window helpers and classification.

transformers 5 removed the question-answering pipeline, so the heads are decoded from the raw
logits of the Auto model classes: classification here, entities in ``playground.entities``,
extractive QA in ``playground.extractive_qa``. Each function takes a model and tokenizer the
caller already loaded with ``from_pretrained`` and returns a frozen dataclass. The lecture's
model table lives in ``playground.lecture``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import BatchEncoding, PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase

from playground.errors import PlaygroundError
from playground.limits import checkpoint

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
    """Run the model over every window of ``encoding``; the named outputs as float arrays.

    ``WINDOW_BATCH`` windows at a time, checking the request's deadline between batches.
    """
    names = [name for name in tokenizer.model_input_names if name in encoding]
    outputs: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    with torch.inference_mode():
        for first in range(0, len(encoding["input_ids"]), WINDOW_BATCH):
            checkpoint("reading the text in windows")
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
    scores = 1 / (1 + np.exp(-logits)) if multi_label else softmax(logits)
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


def softmax(logits: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """Softmax over the last axis; positions where ``allowed`` is False get probability 0."""
    if allowed is not None:
        logits = np.where(allowed, logits, -np.inf)
    shifted = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
