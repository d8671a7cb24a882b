"""What a model would write next: its most likely next tokens, and what sampling settings do to them.

A model does not output a word; it outputs a probability for every token in its vocabulary.
Decoding then picks one: greedy takes the most likely, sampling draws from the distribution after
temperature (divide the logits by T: below 1 sharpens, above 1 flattens), top-k (keep the k most
likely) and top-p (keep the smallest set of most likely tokens whose probability adds up to p).
The cuts are computed by ``generation.filter_logits``, the function sampling itself uses, so a token
shown as cut is one that sampling with these settings can never pick.

A decoder reads exactly what its output column read: the prompt as ``generation.build_prompt``
renders it, with the chat template or without it as the column chose (an instruct model asked in
plain text predicts the end of its turn first; inside its template, the first word of an answer).
The view's defaults, temperature 0.8 and top-p 0.9, cut something on the lecture prompts, so the
shaded part is there before anyone moves a slider.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch

from playground.errors import PlaygroundError
from playground.generation import GenerationSettings, build_prompt, filter_logits
from playground.kinds import Kind
from playground.limits import checkpoint
from playground.models import LoadedModel

MAX_CANDIDATES = 100
DEFAULT_TEMPERATURE = 0.8
DEFAULT_TOP_P = 0.9
READING = "reading the prompt for the next-token view"


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
    context_tokens: int  # tokens the model read, document-start token and chat template included
    document_start: str | None
    temperature: float
    top_k: int
    top_p: float
    candidates: tuple[Candidate, ...]  # most likely first (temperature keeps the order)
    cut_probability: float  # tempered probability mass that top-k and top-p cut away, 0-1
    kept_tokens: int  # vocabulary entries sampling can still pick
    entropy_bits: float  # -sum p log2 p over the vocabulary at temperature 1
    note: str | None = None
    rendered_prompt: str = ""  # everything the model read, special tokens written out
    chat_template: bool = False  # the prompt was wrapped in the model's chat template
    first_cut: Candidate | None = None  # the most likely token the settings cut: where the shading starts

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
    temperature: float = DEFAULT_TEMPERATURE,
    top_p: float = DEFAULT_TOP_P,
    top_k: int = 0,
    target: str | None = None,
    *,
    use_chat_template: bool | None = None,
) -> Distribution:
    """The ``k`` most likely next tokens after ``text[:position]`` (a character position; default the end).

    Decoders read the prompt as generation does (``build_prompt``): ``use_chat_template`` is the
    column's choice, None the model's default (instruct models use theirs). At the end of the
    text that is the whole prompt, and the candidates are the first token the column could
    write; at an earlier position, the prompt up to that character of the text. Without a
    template the document-start token comes first, as in scoring. Encoder-decoders read
    ``text`` whole as the source and give the first target token, or the one after
    ``target[:position]`` when a partial target is given.
    """
    GenerationSettings(do_sample=True, temperature=temperature, top_p=top_p, top_k=top_k).check()
    if not 1 <= k <= MAX_CANDIDATES:
        raise PlaygroundError(f"Show between 1 and {MAX_CANDIDATES} candidate tokens (got {k}).")
    if lm.kind is Kind.DECODER:
        prefix, ids, templated, note = _decoder_input(lm, text, position, use_chat_template)
        checkpoint(READING)
        logits = _last_logits(lm.model, torch.tensor([ids], device=lm.device))
        start = None if templated else lm.facts.document_start
    elif lm.kind is Kind.ENCODER_DECODER:
        if not text.strip():
            raise PlaygroundError("The source text is empty: type the input the model should answer.")
        prefix = _cut(target or "", position)
        source = torch.tensor([lm.tokenizer(text)["input_ids"]], device=lm.device)
        first = lm.model.generation_config.decoder_start_token_id
        first = first if first is not None else lm.tokenizer.pad_token_id
        ids = [first, *lm.tokenizer(prefix, add_special_tokens=False)["input_ids"]]
        decoder = torch.tensor([ids], device=lm.device)
        checkpoint(READING)
        logits = lm.model(input_ids=source, decoder_input_ids=decoder).logits[0, -1].float()
        start, note, templated = lm.tokenizer.convert_ids_to_tokens(first), None, False
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
    checkpoint(READING)

    def candidate(i: int) -> Candidate:
        spelled = lm.tokenizer.convert_ids_to_tokens(i) or ""
        cut = not bool(kept[i])
        return Candidate(
            i, spelled, lm.tokenizer.decode([i]), float(probability[i]), float(tempered[i]), float(sampling[i]), cut
        )

    candidates = tuple(candidate(i) for i in torch.topk(probability, k).indices.tolist())
    cut_logits = logits.masked_fill(kept, float("-inf"))
    first_cut = candidate(int(cut_logits.argmax())) if not bool(kept.all()) else None
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
        rendered_prompt=lm.tokenizer.decode(ids, skip_special_tokens=False),
        chat_template=templated,
        first_cut=first_cut,
    )


def _cut(text: str, position: int | None) -> str:
    position = len(text) if position is None else position
    if not 0 <= position <= len(text):
        raise PlaygroundError(f"Position {position} is outside the text (0 to {len(text)} characters).")
    return text[:position]


def _decoder_input(
    lm: LoadedModel, text: str, position: int | None, use_chat_template: bool | None
) -> tuple[str, list[int], bool, str | None]:
    """The prefix, the token ids the model reads, whether they are in the chat template, and a note."""
    prefix = _cut(text, position)
    prompt = build_prompt(lm, text, use_chat_template)
    if prefix == text:
        ids = prompt.ids
    elif prompt.chat_template:
        # The column read the whole text inside its template; at an earlier position the model has
        # read the template's opening and the text up to there.
        rendered = lm.tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )
        opening = rendered.find(text)
        if opening < 0:
            raise PlaygroundError(f"{lm.label}'s chat template rewrites the text: pick the end of the text.")
        ids = lm.tokenizer(rendered[: opening + len(prefix)], add_special_tokens=False)["input_ids"]
    else:
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
    if prefix.endswith(" ") and not (prompt.chat_template and prefix == text):
        # Most tokenizers attach a space to the word after it (" Paris"), so a text ending in a space
        # is a rare sequence in training, and the guesses that follow are poor.
        notes.append("The text ends with a space; most tokenizers put the space inside the next word's token.")
    return prefix, list(ids), prompt.chat_template, " ".join(notes) or None


def _last_logits(model, ids: torch.Tensor) -> torch.Tensor:
    """Logits at the last position only; models that cannot skip the others compute them all."""
    if "logits_to_keep" in inspect.signature(model.forward).parameters:
        return model(input_ids=ids, logits_to_keep=1).logits[0, -1].float()
    return model(input_ids=ids).logits[0, -1].float()
