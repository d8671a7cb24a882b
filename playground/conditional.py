"""Scores for models that are not left-to-right decoders, each labelled with what it means.

- Encoder-decoder: perplexity of a target *given* a source (conditional). It measures how well
  the model writes this answer for this input, not how likely the text is on its own.
- Masked LM: pseudo-perplexity, masking each token in turn and predicting it from both sides.
  The model sees the right-hand context too, so the number is much lower than a causal
  perplexity and is not comparable with it (Salazar et al., 2020).
"""

from __future__ import annotations

import torch

from playground import metrics
from playground.errors import PlaygroundError
from playground.kinds import Kind
from playground.models import LoadedModel
from playground.scoring import Score, TokenScore, token_spans

MASKED_BATCH = 32


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
    logits = lm.model(input_ids=source_ids, labels=labels_t).logits.float()[0]
    log_probs = logits.log_softmax(-1)
    true = log_probs.gather(-1, labels_t[0][:, None]).squeeze(-1)
    ranks = (log_probs > true[:, None]).sum(-1) + 1
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
    in turn. Uses one forward pass per token (batched); not comparable with causal perplexity."""
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
    for i in range(0, len(positions), MASKED_BATCH):
        chunk = positions[i : i + MASKED_BATCH]
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
