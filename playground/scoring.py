"""How well each model predicts a text: perplexity, bits per byte and per-token surprisal.

Every text is scored as the start of a document: the model's real document-start token is put in
front (see ``models.document_start_id``), so the first word is predicted too and perplexities
are the ones the model's authors would report. Texts longer than the window are scored with a
strided sliding window::

    tokens:   S t1 t2 t3 t4 t5 t6 t7 t8 t9            window W=6, stride 3
    window 1: S t1 t2 t3 t4 t5                        scores t1..t5 (S = document start)
    window 2:          t3 t4 t5 t6 t7 t8             scores t6..t8, with >= W-stride tokens of context
    window 3:                   t6 t7 t8 t9          scores t9

Each token is scored exactly once, with as much left context as the window allows, and the
perplexity is token-weighted over all of them (not a mean of window means).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch

from playground import metrics
from playground.errors import PlaygroundError
from playground.kinds import Kind
from playground.models import LoadedModel

# Logits of a batch of windows are window x vocabulary floats: keep a batch under ~256 MB.
LOGITS_BUDGET_BYTES = 256 * 2**20
DEFAULT_MAX_WINDOW = 1024


@dataclass(frozen=True)
class TokenScore:
    """One scored token: its text, character span, surprisal in bits, rank of the true token (1 = the
    model's top guess) and its probability."""

    token: str
    start: int
    end: int
    surprisal_bits: float
    rank: int
    probability: float


@dataclass(frozen=True)
class Score:
    """Perplexity and bits per byte of one text under one model, with the per-token detail."""

    kind: str  # "causal" | "conditional" | "pseudo"
    perplexity: float
    bits_per_byte: float
    total_nll_nats: float
    scored_tokens: int
    scored_bytes: int
    tokens: list[TokenScore]
    document_start: str | None
    window: int
    stride: int
    windows: int
    dtype: str
    note: str | None = None


def token_spans(tokenizer, text: str, ids: list[int] | None = None) -> tuple[list[int], list[tuple[int, int]]]:
    """Token ids of a text (no special tokens) and each token's character span, made monotonic.

    Byte-level tokenizers split one emoji over several tokens that all report the character's
    span; the later pieces get an empty span at its end, so spans never overlap and stay in order.
    """
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = list(encoding["input_ids"]), encoding["offset_mapping"]
    spans, end = [], 0
    for start, stop in offsets:
        start = max(start, end)
        stop = max(stop, start)
        spans.append((start, stop))
        end = stop
    return ids, spans


def window_plan(length: int, window: int, stride: int, first_target: int = 1) -> list[tuple[int, int, int]]:
    """(begin, end, first scored position) per window over a sequence of ``length`` positions.

    Position p is predicted from positions < p; positions from ``first_target`` on are scored,
    each in exactly one window.
    """
    if not 0 < stride <= window:
        raise ValueError("stride must be between 1 and the window")
    plan, begin, scored_to = [], 0, first_target
    while scored_to < length:
        end = min(begin + window, length)
        plan.append((begin, end, scored_to))
        # the next window must hold the position before its first scored one, its context
        scored_to, begin = end, min(begin + stride, end - 1)
    return plan


@torch.inference_mode()
def score_causal(lm: LoadedModel, text: str, window: int | None = None, stride: int | None = None) -> Score:
    """Score ``text`` as a document under a decoder. Perplexity is exp(mean NLL per scored token)."""
    if lm.kind is not Kind.DECODER:
        raise PlaygroundError(f"{lm.label} is an {lm.kind.value}: causal perplexity needs a decoder.")
    if not text.strip():
        raise PlaygroundError("The text to score is empty: type a sentence or a paragraph.")
    ids, spans = token_spans(lm.tokenizer, text)
    start = lm.document_start_id
    sequence = ([start] if start is not None else []) + ids
    offset = 1 if start is not None else 0  # sequence position of ids[0]
    context = lm.facts.context_length or DEFAULT_MAX_WINDOW
    window = max(2, min(window or DEFAULT_MAX_WINDOW, context))
    stride = min(stride or max(1, window // 2), window)
    if len(sequence) < 2:
        raise PlaygroundError(f"{lm.label}: the text is one token and there is no start token to predict it from.")
    plan = window_plan(len(sequence), window, stride)
    nll = torch.zeros(len(sequence))
    rank = torch.zeros(len(sequence), dtype=torch.long)
    vocab = _vocab_size(lm.model)
    batch_size = max(1, LOGITS_BUDGET_BYTES // (window * vocab * 4))
    for i in range(0, len(plan), batch_size):
        _score_windows(lm, sequence, plan[i : i + batch_size], nll, rank)
    first = 1
    total = float(nll[first:].sum())
    scored_text = text[spans[first - offset][0] :] if offset == 0 else text
    n_bytes = len(scored_text.encode("utf-8"))
    pieces = lm.tokenizer.convert_ids_to_tokens(ids)
    tokens = [
        TokenScore(
            pieces[j],
            spans[j][0],
            spans[j][1],
            metrics.surprisal_bits(float(nll[j + offset])),
            int(rank[j + offset]),
            float(torch.exp(-nll[j + offset])),
        )
        for j in range(len(ids))
        if j + offset >= first
    ]
    note = None if start is not None else "This tokenizer has no document-start token: the first token is not scored."
    return Score(
        "causal",
        metrics.perplexity(total, len(sequence) - first),
        metrics.bits_per_byte(total, n_bytes),
        total,
        len(sequence) - first,
        n_bytes,
        tokens,
        lm.facts.document_start,
        window,
        stride,
        len(plan),
        lm.facts.dtype,
        note,
    )


def _vocab_size(model) -> int:
    """Rows of the output layer (a quantized layer's weight is a method, not a tensor), else the config's."""
    weight = getattr(model.get_output_embeddings(), "weight", None)
    if isinstance(weight, torch.Tensor):
        return weight.shape[0]
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    return getattr(config, "vocab_size", None) or 50_000


def _logits(model, batch: torch.Tensor, keep: int) -> torch.Tensor:
    """Logits of the last ``keep`` positions; models that cannot skip the others return them all."""
    if "logits_to_keep" in inspect.signature(model.forward).parameters:
        return model(input_ids=batch, logits_to_keep=keep).logits.float()
    return model(input_ids=batch).logits.float()


def _score_windows(lm: LoadedModel, sequence: list[int], plan, nll: torch.Tensor, rank: torch.Tensor) -> None:
    """Run windows of equal length as one batch (a shorter last window runs on its own)."""
    groups: dict[int, list[tuple[int, int, int]]] = {}
    for item in plan:
        groups.setdefault(item[1] - item[0], []).append(item)
    for length, items in groups.items():
        batch = torch.tensor([sequence[b:e] for b, e, _ in items], device=lm.device)
        keep = max(e - s for b, e, s in items) + 1  # logits for the scored positions (and the one before)
        logits = _logits(lm.model, batch, min(keep, length))
        for row, (b, e, s) in enumerate(items):
            # logits[k] at window position p predicts sequence position b + p + 1
            kept = logits.shape[1]
            positions = torch.arange(s, e)
            rows = positions - 1 - b - (length - kept)
            log_probs = logits[row, rows].log_softmax(-1)
            target = torch.tensor(sequence[s:e], device=log_probs.device)
            true = log_probs.gather(-1, target[:, None]).squeeze(-1)
            nll[s:e] = -true.cpu()
            rank[s:e] = ((log_probs > true[:, None]).sum(-1) + 1).cpu()
