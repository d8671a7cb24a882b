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

import math
from dataclasses import dataclass

import torch

from playground import metrics
from playground.errors import PlaygroundError
from playground.fast import keeps_logits
from playground.kinds import Kind
from playground.limits import checkpoint
from playground.models import LoadedModel

# Float32 logits of the positions scored at once on a CPU (a batch of windows, or one window).
LOGITS_BUDGET_BYTES = 512 * 2**20
BATCH_BYTES_CPU = 32 * 2**20
SLICE_BYTES = 64 * 2**20  # float32 logits of the positions whose sums are taken at once
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
    """Score ``text`` as a document under a decoder. Perplexity is exp(mean NLL per scored token).

    The window is at most ``DEFAULT_MAX_WINDOW`` tokens, the model's context, and what keeps one
    window's logits within ``logits_budget`` (a 262k-token vocabulary: 512 tokens on a CPU).
    """
    if lm.kind is not Kind.DECODER:
        raise PlaygroundError(f"{lm.label} is an {lm.kind.value}: causal perplexity needs a decoder.")
    if not text.strip():
        raise PlaygroundError("The text to score is empty: type a sentence or a paragraph.")
    checkpoint("reading the text's tokens")
    ids, spans = token_spans(lm.tokenizer, text)
    start = lm.document_start_id
    sequence = ([start] if start is not None else []) + ids
    offset = 1 if start is not None else 0  # sequence position of ids[0]
    vocab = _vocab_size(lm.model)
    budget = logits_budget(lm.device)
    largest = max(64, budget // (vocab * _LOGIT_BYTES))
    context = lm.facts.context_length or DEFAULT_MAX_WINDOW
    window = max(2, min(window or DEFAULT_MAX_WINDOW, context, largest))
    stride = min(stride or max(1, window // 2), window)
    if len(sequence) < 2:
        raise PlaygroundError(f"{lm.label}: the text is one token and there is no start token to predict it from.")
    plan = window_plan(len(sequence), window, stride)
    nll = torch.zeros(len(sequence), device=lm.device)
    rank = torch.zeros(len(sequence), dtype=torch.long, device=lm.device)
    _score_windows(lm, sequence, plan, nll, rank, batch_budget(lm.device) // (vocab * _LOGIT_BYTES))
    first = 1
    nll_list, rank_list = nll.tolist(), rank.tolist()  # one transfer for the whole text
    total = math.fsum(nll_list[first:])
    scored_text = text[spans[first - offset][0] :] if offset == 0 else text
    n_bytes = len(scored_text.encode("utf-8"))
    pieces = lm.tokenizer.convert_ids_to_tokens(ids)
    tokens = [
        TokenScore(
            pieces[j],
            spans[j][0],
            spans[j][1],
            metrics.surprisal_bits(nll_list[j + offset]),
            rank_list[j + offset],
            math.exp(-nll_list[j + offset]),
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


_LOGIT_BYTES = 4  # the scored positions' logits are taken to float32


def logits_budget(device: torch.device) -> int:
    """Bytes the scored positions' float32 logits may take at once: the windows of a batch, and
    the window itself for a large vocabulary. On a GPU a larger batch of windows is what makes
    scoring fast (one launch for many windows); on a CPU the budget bounds the process's memory."""
    if device.type == "cuda":
        return min(2 * 2**30, torch.cuda.get_device_properties(device).total_memory // 20)
    return LOGITS_BUDGET_BYTES


def batch_budget(device: torch.device) -> int:
    """Bytes of float32 logits scored in one batch of windows: on a GPU the whole logits budget
    (one launch for many windows is what makes it fast there); on a CPU a few tens of MB, which
    stay in cache better than one large batch (a 2-layer GPT-2 scored faster window by window)."""
    return logits_budget(device) if device.type == "cuda" else BATCH_BYTES_CPU


def _vocab_size(model) -> int:
    """Rows of the output layer (a quantized layer's weight is a method, not a tensor), else the config's."""
    weight = getattr(model.get_output_embeddings(), "weight", None)
    if isinstance(weight, torch.Tensor):
        return weight.shape[0]
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    return getattr(config, "vocab_size", None) or 50_000


def _score_windows(lm: LoadedModel, sequence: list[int], plan, nll: torch.Tensor, rank: torch.Tensor, positions: int):
    """NLL (nats) and rank of every scored position, into ``nll`` and ``rank`` on the device.

    Windows of equal length run as one batch of at most ``positions`` scored positions (a shorter
    last window runs on its own); nothing is read back to the host here.
    """
    keeps = keeps_logits(lm.model)
    groups: dict[int, list[tuple[int, int, int]]] = {}
    for item in plan:
        groups.setdefault(item[1] - item[0], []).append(item)
    for length, items in groups.items():
        per_window = max(e - s for _, e, s in items) + 1  # logits kept: the scored positions and the one before
        size = max(1, positions // per_window)
        for i in range(0, len(items), size):
            checkpoint("scoring the text")
            batch = items[i : i + size]
            inputs = torch.tensor([sequence[b:e] for b, e, _ in batch], device=lm.device)
            keep = min(per_window, length)
            logits = (lm.model(input_ids=inputs, logits_to_keep=keep) if keeps else lm.model(input_ids=inputs)).logits
            kept = logits.shape[1]
            for row, (b, e, s) in enumerate(batch):
                # logits[k] at window position p predicts sequence position b + p + 1; the scored
                # positions of a window are consecutive, so their logits are a view, not a copy
                first = s - 1 - b - (length - kept)
                targets = torch.tensor(sequence[s:e], device=lm.device)
                # in slices of positions: log-sum-exp and the rank count make temporaries as large
                # as what they read
                step = max(1, SLICE_BYTES // (logits.shape[-1] * _LOGIT_BYTES))
                for p in range(0, e - s, step):
                    chosen = logits[row, first + p : first + min(p + step, e - s)].float()
                    true = chosen.gather(-1, targets[p : p + step, None])
                    nll[s + p : s + p + len(chosen)] = chosen.logsumexp(-1) - true[:, 0]
                    rank[s + p : s + p + len(chosen)] = (chosen > true).sum(-1) + 1
            del logits, chosen  # before the next batch's forward: two windows' logits never coexist
