"""What encoders do: fill a blank (masked-LM head) or turn sentences into vectors (no head)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from playground.errors import PlaygroundError
from playground.kinds import Kind
from playground.limits import checkpoint
from playground.models import LoadedModel

# Users type the blank in whichever spelling they know; each model gets its own mask token.
MASK_SPELLINGS = re.compile(r"\[MASK\]|<mask>|___")

EMBED_BATCH = 8
"""Sentences embedded at once: the attention of a batch grows with sentences x tokens squared, so a
batch of eight 512-token sentences stays near 100 MB; the deadline is checked between batches."""


@dataclass(frozen=True)
class Candidate:
    token: str
    probability: float


@dataclass(frozen=True)
class FillMask:
    """Top candidates for each blank in the sentence, in order of the blanks."""

    text: str  # the sentence with the model's own mask token
    blanks: list[list[Candidate]]


@dataclass(frozen=True)
class Embeddings:
    """One unit-length vector per sentence (mean of token vectors) and their cosine similarities."""

    sentences: list[str]
    dimension: int
    similarity: list[list[float]]


def split_sentences(text: str) -> list[str]:
    """Lines, or sentences within one line, as the units to compare."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        return lines
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+", text.strip()) if p.strip()]
    return parts or [text.strip()]


@torch.inference_mode()
def fill_mask(lm: LoadedModel, text: str, top_k: int = 5) -> FillMask:
    """Predict the token at each blank ([MASK], <mask> or ___), using context on both sides."""
    if lm.kind is not Kind.MASKED_LM:
        raise PlaygroundError(f"{lm.label} is an {lm.kind.value}: fill-mask needs a masked-LM head.")
    mask = lm.tokenizer.mask_token
    if not MASK_SPELLINGS.search(text or ""):
        raise PlaygroundError(
            f"Put a blank in the sentence for {lm.label}: write [MASK], <mask> or ___ where a word is missing."
        )
    masked = MASK_SPELLINGS.sub(mask, text)
    encoding = lm.tokenizer(masked, return_tensors="pt", truncation=True).to(lm.device)
    logits = lm.model(**encoding).logits[0].float()
    where = (encoding["input_ids"][0] == lm.tokenizer.mask_token_id).nonzero().flatten()
    if len(where) == 0:
        raise PlaygroundError(
            f"The blank fell beyond what {lm.label} reads ({lm.facts.context_length} tokens): shorten the text."
        )
    blanks = []
    for position in where.tolist():
        probs = logits[position].softmax(-1)
        top = probs.topk(top_k)
        blanks.append(
            [
                Candidate(lm.tokenizer.decode([i]).strip(), float(p))
                for p, i in zip(top.values, top.indices, strict=True)
            ]
        )
    return FillMask(masked, blanks)


@torch.inference_mode()
def embed(lm: LoadedModel, sentences: list[str]) -> torch.Tensor:
    """Mean-pooled, L2-normalised sentence vectors (the all-MiniLM-L6-v2 recipe), ``EMBED_BATCH``
    sentences at a time; each sentence is cut to the model's window."""
    if lm.kind not in (Kind.ENCODER, Kind.MASKED_LM):
        raise PlaygroundError(f"{lm.label} is an {lm.kind.value}: sentence embeddings need an encoder.")
    if not sentences or not all(s.strip() for s in sentences):
        raise PlaygroundError("Give at least one non-empty sentence to embed.")
    backbone = lm.model.base_model if lm.kind is Kind.MASKED_LM else lm.model
    vectors = []
    for first in range(0, len(sentences), EMBED_BATCH):
        checkpoint("embedding the sentences")
        batch = sentences[first : first + EMBED_BATCH]
        encoding = lm.tokenizer(batch, padding=True, truncation=True, return_tensors="pt").to(lm.device)
        hidden = backbone(**encoding).last_hidden_state.float()
        weights = encoding["attention_mask"].unsqueeze(-1).float()
        vectors.append((hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0))
    return torch.nn.functional.normalize(torch.cat(vectors), dim=-1)


def similarity(lm: LoadedModel, sentences: list[str]) -> Embeddings:
    """Cosine similarity between every pair of sentences (1 = same direction, 0 = unrelated)."""
    vectors = embed(lm, sentences)
    matrix = (vectors @ vectors.T).clamp(-1.0, 1.0)
    return Embeddings(
        list(sentences),
        vectors.shape[-1],
        [[round(float(x), 4) for x in row] for row in matrix],
    )
