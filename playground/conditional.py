"""Scores for models that are not left-to-right decoders, each labelled with what it means.

- Encoder-decoder: perplexity of a target *given* a source (conditional). It measures how well
  the model writes this answer for this input, not how likely the text is on its own.
- Masked LM: pseudo-perplexity, masking each token in turn and predicting it from both sides.
  The model sees the right-hand context too, so the number is much lower than a causal
  perplexity and is not comparable with it (Salazar et al., 2020).

Both grow with the text, so both work in pieces and check the request's deadline between them
(``playground.limits.checkpoint``), and both keep the float32 logits of one piece under
``LOGITS_BUDGET_BYTES``: a 250k-token vocabulary makes 1 MB of logits per position.
"""

from __future__ import annotations

import torch

from playground import metrics
from playground.errors import PlaygroundError
from playground.kinds import Kind
from playground.limits import checkpoint
from playground.models import LoadedModel
from playground.scoring import Score, TokenScore, token_spans

MASKED_BATCH = 32
"""Most masked copies of the text run through the model at once (fewer when the budgets below say so)."""

MASKED_TOKENS = 8192
"""Most token positions in one batch of masked copies (copies x text tokens): one batch is work
that cannot be interrupted, so this keeps the deadline's checks a few seconds apart at most."""

LOGITS_BUDGET_BYTES = 128 * 2**20
"""float32 logits of one piece of work: positions x vocabulary x 4 bytes."""


def vocabulary(lm: LoadedModel) -> int:
    """Rows of the model's output layer (its vocabulary, padding included)."""
    weight = getattr(lm.model.get_output_embeddings(), "weight", None)
    return int(weight.shape[0]) if isinstance(weight, torch.Tensor) else int(lm.facts.vocab_size or 50_000)


def positions_per_piece(lm: LoadedModel, cap: int) -> int:
    """Positions whose float32 logits fit in ``LOGITS_BUDGET_BYTES``, between 1 and ``cap``."""
    return max(1, min(cap, LOGITS_BUDGET_BYTES // (vocabulary(lm) * 4)))


@torch.inference_mode()
def score_conditional(lm: LoadedModel, source: str, target: str) -> Score:
    """Perplexity and bits per byte of ``target`` given ``source`` under an encoder-decoder.

    The target's end-of-sequence token is scored too (the model must also know when to stop),
    and its bytes are not counted, since it has none.
    """
    if lm.kind is not Kind.ENCODER_DECODER:
        raise PlaygroundError(f"{lm.label} is an {lm.kind.value}: conditional perplexity needs an encoder-decoder.")
    if not source.strip() or not target.strip():
        raise PlaygroundError("Conditional perplexity needs a source text and a target text: fill in both.")
    tokenizer = lm.tokenizer
    source_ids = tokenizer(source, truncation=True, return_tensors="pt")["input_ids"].to(lm.device)
    target_ids, spans = token_spans(tokenizer, target)
    labels = tokenizer(text_target=target)["input_ids"]
    extra = labels[len(target_ids) :] if labels[: len(target_ids)] == target_ids else []
    labels_t = torch.tensor([target_ids + extra], device=lm.device)
    true, ranks = _teacher_forced(lm, source_ids, labels_t)
    pieces = tokenizer.convert_ids_to_tokens(target_ids + extra)
    spans = spans + [(len(target), len(target))] * len(extra)
    tokens = [
        TokenScore(
            pieces[i],
            *spans[i],
            metrics.surprisal_bits(-float(true[i])),
            int(ranks[i]),
            float(true[i].exp()),
        )
        for i in range(len(pieces))
    ]
    total = -float(true.sum())
    n_bytes = len(target.encode("utf-8"))
    return Score(
        "conditional",
        metrics.perplexity(total, len(tokens)),
        metrics.bits_per_byte(total, n_bytes),
        total,
        len(tokens),
        n_bytes,
        tokens,
        None,
        labels_t.shape[1],
        labels_t.shape[1],
        1,
        lm.facts.dtype,
        "Conditional perplexity of the target given the source: not comparable with a decoder's perplexity of a text.",
    )


@torch.inference_mode()
def score_pseudo(lm: LoadedModel, text: str) -> Score:
    """Pseudo-perplexity: exp(mean over tokens of -log p(token | all other tokens)), each token masked
    in turn. Uses one forward pass per token, in batches whose logits stay within the budget;
    not comparable with causal perplexity."""
    if lm.kind is not Kind.MASKED_LM:
        raise PlaygroundError(f"{lm.label} is an {lm.kind.value}: pseudo-perplexity needs a masked-LM encoder.")
    if not text.strip():
        raise PlaygroundError("The text to score is empty: type a sentence.")
    tokenizer = lm.tokenizer
    ids, spans = token_spans(tokenizer, text)
    context = lm.facts.context_length or 512
    encoding = tokenizer(text, return_special_tokens_mask=True)
    full = encoding["input_ids"]
    if len(full) > context:
        raise PlaygroundError(
            f"{lm.label} reads at most {context} tokens; this text has {len(full)}. Shorten it for pseudo-perplexity."
        )
    positions = [i for i, special in enumerate(encoding["special_tokens_mask"]) if not special]
    if len(positions) != len(ids):
        raise PlaygroundError(f"{lm.label}: could not tell the text's tokens from its special tokens.")
    base = torch.tensor(full, device=lm.device)
    nll, ranks = [], []
    batch_size = max(1, min(positions_per_piece(lm, MASKED_BATCH * len(full)), MASKED_TOKENS) // len(full))
    for i in range(0, len(positions), batch_size):
        checkpoint("scoring the text (pseudo-perplexity)")
        chunk = positions[i : i + batch_size]
        batch = base.repeat(len(chunk), 1)
        batch[torch.arange(len(chunk)), chunk] = tokenizer.mask_token_id
        log_probs = lm.model(input_ids=batch).logits.float()[torch.arange(len(chunk)), chunk].log_softmax(-1)
        true = log_probs.gather(-1, base[chunk][:, None]).squeeze(-1)
        nll += (-true).tolist()
        ranks += ((log_probs > true[:, None]).sum(-1) + 1).tolist()
    pieces = tokenizer.convert_ids_to_tokens(ids)
    tokens = [
        TokenScore(
            pieces[i],
            *spans[i],
            metrics.surprisal_bits(nll[i]),
            ranks[i],
            float(torch.tensor(-nll[i]).exp()),
        )
        for i in range(len(ids))
    ]
    total, n_bytes = sum(nll), len(text.encode("utf-8"))
    return Score(
        "pseudo",
        metrics.perplexity(total, len(ids)),
        metrics.bits_per_byte(total, n_bytes),
        total,
        len(ids),
        n_bytes,
        tokens,
        None,
        len(full),
        1,
        len(ids),
        lm.facts.dtype,
        "Pseudo-perplexity: each token predicted from both sides. Not comparable with a decoder's perplexity.",
    )


def _teacher_forced(
    lm: LoadedModel, source_ids: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """log p(label | source, labels before it) and the rank of each label (1 = the model's top guess).

    The encoder reads the source once; the decoder reads the shifted labels in pieces, each
    continuing from the key/value cache of the pieces before, so only one piece's logits exist at
    a time and the deadline is checked between pieces. Same numbers as one pass over all labels.
    """
    encoder_outputs = lm.model.get_encoder()(input_ids=source_ids)
    decoder_ids = lm.model.prepare_decoder_input_ids_from_labels(labels=labels)
    piece = positions_per_piece(lm, 512)
    cache, true, ranks = None, [], []
    for begin in range(0, labels.shape[1], piece):
        checkpoint("scoring the target")
        out = lm.model(
            encoder_outputs=encoder_outputs,
            decoder_input_ids=decoder_ids[:, begin : begin + piece],
            cache=cache,
            use_cache=True,
        )
        cache = out.cache
        log_probs = out.logits[0].float().log_softmax(-1)
        piece_true = log_probs.gather(-1, labels[0, begin : begin + piece, None]).squeeze(-1)
        true.append(piece_true)
        ranks.append((log_probs > piece_true[:, None]).sum(-1) + 1)
    return torch.cat(true), torch.cat(ranks)
