"""Streamed, seeded text generation with its latency measured token by token.

The loop is written out (forward, pick, repeat) instead of calling ``generate`` for three
reasons: each model samples from its own ``torch.Generator``, so a seed reproduces its output
whatever runs beside it (``generate`` draws from the global RNG); text can be streamed and
timed per token without a streamer thread; and the per-token overhead is smaller (docs/decoding.md).

Here: the settings, the prompt as the model reads it, and ``start``/``stream``/``generate``. A
generation is a ``playground.decoding.Decoding``, its state between tokens; ``stream`` advances
it one token at a time for one model, ``playground.scheduler`` several at once on a GPU.
``settings.speed`` picks the weights and the step the model runs (``playground.fast``); the
result says which precision that was.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from playground.decoding import Decoding, Generation, TextStream, Update, filter_logits, pick_next, stop_ids
from playground.errors import PlaygroundError
from playground.fast import DEFAULT_SPEED, check_speed, decode_path
from playground.kinds import Kind
from playground.limits import GENERATING, checkpoint
from playground.models import LoadedModel

__all__ = [
    "Decoding",
    "Generation",
    "GenerationSettings",
    "Prompt",
    "TextStream",
    "Update",
    "build_prompt",
    "filter_logits",
    "generate",
    "pick_next",
    "start",
    "stop_ids",
    "stream",
]


@dataclass(frozen=True)
class GenerationSettings:
    """How to pick each next token. Greedy unless ``do_sample``; ``top_k=0`` and ``top_p=1`` keep all."""

    max_new_tokens: int = 48
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 0
    use_chat_template: bool | None = None  # None: instruct models use theirs, base models do not
    speed: str = DEFAULT_SPEED  # "exact": weights as loaded; "fast": see playground.fast

    def check(self) -> None:
        """Refuse values of the wrong type or out of range, naming the setting and the value."""
        check_speed(self.speed)
        for name, kinds in _TYPES.items():
            value = getattr(self, name)
            if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
                raise PlaygroundError(f"{name.replace('_', ' ')} must be {_TYPE_WORDS[name]} (got {value!r:.40}).")
            if isinstance(value, float) and not math.isfinite(value):
                raise PlaygroundError(f"{name.replace('_', ' ')} must be a finite number (got {value!r}).")
        if not 0 <= self.seed < 2**63:
            raise PlaygroundError(f"seed must be between 0 and 2**63 - 1 (got {self.seed}).")
        if not 1 <= self.max_new_tokens <= 4096:
            raise PlaygroundError(f"max new tokens must be between 1 and 4096 (got {self.max_new_tokens}).")
        if self.do_sample and not 0.01 <= self.temperature <= 5.0:
            raise PlaygroundError(f"temperature must be between 0.01 and 5 (got {self.temperature}).")
        if not 0.0 < self.top_p <= 1.0:
            raise PlaygroundError(f"top-p must be above 0 and at most 1 (got {self.top_p}).")
        if self.top_k < 0:
            raise PlaygroundError(f"top-k must be 0 (off) or a positive number (got {self.top_k}).")


_TYPES = {
    "max_new_tokens": (int,),
    "do_sample": (bool,),
    "temperature": (int, float),
    "top_p": (int, float),
    "top_k": (int,),
    "seed": (int,),
    "use_chat_template": (bool, type(None)),
}
_TYPE_WORDS = {
    "max_new_tokens": "a whole number",
    "do_sample": "true or false",
    "temperature": "a number",
    "top_p": "a number",
    "top_k": "a whole number",
    "seed": "a whole number",
    "use_chat_template": "true, false or unset",
}


@dataclass(frozen=True)
class Prompt:
    """The exact token ids a model is given, and the same rendered as text to show students."""

    ids: list[int]
    rendered: str
    chat_template: bool


def build_prompt(lm: LoadedModel, text: str, use_chat_template: bool | None) -> Prompt:
    """Token ids for a prompt: the chat template for instruct models, else a document start + text."""
    tokenizer = lm.tokenizer
    use = lm.facts.instruct if use_chat_template is None else use_chat_template
    if use and not getattr(tokenizer, "chat_template", None):
        raise PlaygroundError(f"{lm.label} has no chat template (it is not a chat model): turn the template off.")
    if use:
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": text}],
            tokenize=False,
            add_generation_prompt=True,
        )
        ids = tokenizer(rendered, add_special_tokens=False)["input_ids"]
    else:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if lm.document_start_id is not None:
            ids = [lm.document_start_id, *ids]
    return Prompt(list(ids), tokenizer.decode(ids, skip_special_tokens=False), bool(use))


def stream(lm: LoadedModel, text: str, settings: GenerationSettings) -> Iterator[Update]:
    """Generate a continuation (decoder) or a target (encoder-decoder), one token at a time."""
    decoding = start(lm, text, settings)
    try:
        while not decoding.done:
            decoding.launch()
            updates = decoding.collect()
            yield from updates
            if not updates:  # a token with no visible text yet: the caller saw nothing to stop at
                checkpoint(GENERATING)
    finally:
        decoding.close()


def generate(lm: LoadedModel, text: str, settings: GenerationSettings) -> Generation:
    """Run ``stream`` to the end and return the final result."""
    for update in stream(lm, text, settings):
        if update.result is not None:
            return update.result
    raise AssertionError("stream ended without a result")


def start(lm: LoadedModel, text: str, settings: GenerationSettings, shared: bool = False) -> Decoding:
    """Check the request and tokenize the prompt; nothing runs on the model yet. ``shared``: the
    caller (the scheduler) can flush shared batches, so a row of one may be used."""
    settings.check()
    if lm.kind not in (Kind.DECODER, Kind.ENCODER_DECODER):
        raise PlaygroundError(f"{lm.label} is an {lm.kind.value}: it does not generate text.")
    if lm.kind is Kind.ENCODER_DECODER:
        ids = lm.tokenizer(text)["input_ids"]
        prompt = Prompt(list(ids), lm.tokenizer.decode(ids, skip_special_tokens=False), False)
    else:
        prompt = build_prompt(lm, text, settings.use_chat_template)
    context = lm.facts.context_length
    needed = len(prompt.ids) + (settings.max_new_tokens if lm.kind is Kind.DECODER else 0)
    if context and needed > context:
        raise PlaygroundError(
            f"{lm.label} reads at most {context:,} tokens; the prompt has {len(prompt.ids):,} and "
            f"{settings.max_new_tokens} new tokens were asked for. Shorten the prompt or lower max new tokens."
        )
    return Decoding(lm, prompt, settings, decode_path(lm, settings.speed), shared)
