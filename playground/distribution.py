"""What a model would write next: its most likely next tokens, and what sampling settings do to them.

A model does not output a word; it outputs a probability for every token in its vocabulary.
Decoding then picks one: greedy takes the most likely, sampling draws from the distribution after
temperature (divide the logits by T: below 1 sharpens, above 1 flattens), top-k (keep the k most
likely) and top-p (keep the smallest set of most likely tokens whose probability adds up to p).
The cuts are computed by ``generation.filter_logits``, the function sampling itself uses, so a token
shown as cut is one that sampling with these settings can never pick.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch

from playground.errors import PlaygroundError
from playground.generation import GenerationSettings, filter_logits
from playground.kinds import Kind
from playground.models import LoadedModel

MAX_CANDIDATES = 100


@dataclass(frozen=True)
class Candidate:
    """One possible next token and its chances."""

    token_id: int
    token: str  # as the tokenizer spells it: "Ġ" (byte-level BPE) or "▁" (SentencePiece) marks a space
    text: str  # decoded; a lone byte of a longer character decodes to "\ufffd"
    probability: float  # softmax of the logits: the model's own belief (temperature 1)
    tempered_probability: float  # softmax(logits / temperature), before top-k and top-p
    sampling_probability: float  # after temperature, top-k and top-p, renormalised: the chance sampling picks it
    cut: bool  # removed by top-k or top-p: sampling with these settings never picks it


@dataclass(frozen=True)
class Distribution:
    """The top candidates for the next token after ``prefix``, under the given sampling settings."""

    model: str
    prefix: str  # the text read: the decoder's text, or the target written so far by an encoder-decoder
    context_tokens: int  # tokens the model read, document-start token included
    document_start: str | None
    temperature: float
    top_k: int
    top_p: float
    candidates: tuple[Candidate, ...]  # most likely first (temperature keeps the order)
    cut_probability: float  # tempered probability mass that top-k and top-p cut away, 0-1
    kept_tokens: int  # vocabulary entries sampling can still pick
    entropy_bits: float  # -sum p log2 p over the vocabulary at temperature 1
    note: str | None = None

    @property
    def effective_choices(self) -> float:
        """2 ** entropy: how many equally likely tokens would be as uncertain (1: the model is sure)."""
        return 2.0**self.entropy_bits


@torch.inference_mode()
def next_token_distribution(
    lm: LoadedModel,
    text: str,
    position: int | None = None,
    k: int = 10,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    target: str | None = None,
) -> Distribution:
    """The ``k`` most likely next tokens after ``text[:position]`` (a character position; default the end).

    Decoders read the prefix as a document: the document-start token first, as scoring does.
    Encoder-decoders read ``text`` whole as the source and give the first target token, or the
    one after ``target[:position]`` when a partial target is given.
    """
    GenerationSettings(do_sample=True, temperature=temperature, top_p=top_p, top_k=top_k).check()
    if not 1 <= k <= MAX_CANDIDATES:
        raise PlaygroundError(f"Show between 1 and {MAX_CANDIDATES} candidate tokens (got {k}).")
    if lm.kind is Kind.DECODER:
        prefix, ids, note = _decoder_input(lm, text, position)
        logits = _last_logits(lm.model, torch.tensor([ids], device=lm.device))
        start = lm.facts.document_start
    elif lm.kind is Kind.ENCODER_DECODER:
        if not text.strip():
            raise PlaygroundError("The source text is empty: type the input the model should answer.")
        prefix = _cut(target or "", position)
        source = torch.tensor([lm.tokenizer(text)["input_ids"]], device=lm.device)
        first = lm.model.generation_config.decoder_start_token_id
        first = first if first is not None else lm.tokenizer.pad_token_id
        ids = [first, *lm.tokenizer(prefix, add_special_tokens=False)["input_ids"]]
        decoder = torch.tensor([ids], device=lm.device)
        logits = lm.model(input_ids=source, decoder_input_ids=decoder).logits[0, -1].float()
        start, note = lm.tokenizer.convert_ids_to_tokens(first), None
    else:
        raise PlaygroundError(
            f"{lm.label} is an {lm.kind.value}: a next-token distribution needs a model that writes text "
            "(a decoder or an encoder-decoder)."
        )
    probability = logits.softmax(-1)
    tempered = (logits / temperature).softmax(-1)
    filtered = filter_logits(logits, temperature, top_k, top_p)
    kept = torch.isfinite(filtered)
    sampling = filtered.softmax(-1)
    top = torch.topk(probability, k)
    candidates = tuple(
        Candidate(
            i,
            lm.tokenizer.convert_ids_to_tokens(i) or "",
            lm.tokenizer.decode([i]),
            float(probability[i]),
            float(tempered[i]),
            float(sampling[i]),
            not bool(kept[i]),
        )
        for i in top.indices.tolist()
    )
    log_p = probability.clamp_min(1e-30).log2()
    return Distribution(
        lm.label,
        prefix,
        len(ids),
        start,
        temperature,
        top_k,
        top_p,
        candidates,
        float(tempered[~kept].sum()),
        int(kept.sum()),
        -float((probability * log_p).sum()),
        note,
    )


def _cut(text: str, position: int | None) -> str:
    position = len(text) if position is None else position
    if not 0 <= position <= len(text):
        raise PlaygroundError(f"Position {position} is outside the text (0 to {len(text)} characters).")
    return text[:position]


def _decoder_input(lm: LoadedModel, text: str, position: int | None) -> tuple[str, list[int], str | None]:
    prefix = _cut(text, position)
    ids = lm.tokenizer(prefix, add_special_tokens=False)["input_ids"] if prefix else []
    if lm.document_start_id is not None:
        ids = [lm.document_start_id, *ids]
    if not ids:
        raise PlaygroundError(f"{lm.label} has no document-start token: type at least a word to continue from.")
    notes = []
    context = lm.facts.context_length
    if context and len(ids) > context:
        ids = ids[-context:]
        notes.append(f"Only the last {context:,} tokens were read: the model's context holds no more.")
    if prefix.endswith(" "):
        # Most tokenizers attach a space to the word after it (" Paris"), so a text ending in a space
        # is a rare sequence in training, and the guesses that follow are poor.
        notes.append("The text ends with a space; most tokenizers put the space inside the next word's token.")
    return prefix, ids, " ".join(notes) or None


def _last_logits(model, ids: torch.Tensor) -> torch.Tensor:
    """Logits at the last position only; models that cannot skip the others compute them all."""
    if "logits_to_keep" in inspect.signature(model.forward).parameters:
        return model(input_ids=ids, logits_to_keep=1).logits[0, -1].float()
    return model(input_ids=ids).logits[0, -1].float()
