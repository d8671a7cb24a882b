"""Streamed, seeded text generation with its latency measured token by token.

The loop is written out (forward, pick, repeat) instead of calling ``generate`` for three
reasons: each model samples from its own ``torch.Generator``, so a seed reproduces its output
whatever runs beside it (``generate`` draws from the global RNG); text can be streamed and
timed per token without a streamer thread; and the per-token overhead is smaller (DESIGN §4).
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from playground.errors import PlaygroundError
from playground.kinds import Kind
from playground.metrics import tokens_per_second
from playground.models import LoadedModel


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

    def check(self) -> None:
        """Refuse values of the wrong type or out of range, naming the setting and the value."""
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


@dataclass(frozen=True)
class Generation:
    """The output of one generation and what it cost."""

    text: str
    prompt: Prompt
    new_tokens: int
    stop_reason: str  # "end of sequence" | "max new tokens"
    time_to_first_token_s: float
    decode_tokens_per_s: float
    total_s: float
    first_call: bool  # first run after load: includes one-off warm-up costs
    note: str | None = None


@dataclass(frozen=True)
class Update:
    """One streamed step: the piece of text just produced and the text so far."""

    piece: str
    text: str
    new_tokens: int
    result: Generation | None = None  # set on the last update only


_warm: weakref.WeakSet = weakref.WeakSet()
_warm_lock = threading.Lock()


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


def filter_logits(logits: torch.Tensor, temperature: float, top_k: int, top_p: float) -> torch.Tensor:
    """Scale by temperature, then set to -inf every logit outside the top-k and the top-p nucleus.

    Top-p keeps the smallest set of most likely tokens whose probabilities add up to at least
    ``top_p`` (the token that crosses the threshold is kept).
    """
    logits = logits / temperature
    if top_k > 0 and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop_sorted = cumulative - sorted_logits.softmax(-1) >= top_p  # mass before this token already enough
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def pick_next(logits: torch.Tensor, settings: GenerationSettings, generator: torch.Generator) -> torch.Tensor:
    if not settings.do_sample:
        return logits.argmax(-1, keepdim=True)
    probs = filter_logits(logits.float(), settings.temperature, settings.top_k, settings.top_p).softmax(-1)
    return torch.multinomial(probs, 1, generator=generator)


def stop_ids(lm: LoadedModel) -> set[int]:
    ids = lm.model.generation_config.eos_token_id
    ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    if lm.tokenizer.eos_token_id is not None:
        ids.add(lm.tokenizer.eos_token_id)
    return ids


def stream(lm: LoadedModel, text: str, settings: GenerationSettings) -> Iterator[Update]:
    """Generate a continuation (decoder) or a target (encoder-decoder), one token at a time."""
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
    yield from _decode(lm, prompt, settings)


def generate(lm: LoadedModel, text: str, settings: GenerationSettings) -> Generation:
    """Run ``stream`` to the end and return the final result."""
    for update in stream(lm, text, settings):
        if update.result is not None:
            return update.result
    raise AssertionError("stream ended without a result")


@torch.inference_mode()
def _decode(lm: LoadedModel, prompt: Prompt, settings: GenerationSettings) -> Iterator[Update]:
    model, device = lm.model, lm.device
    generator = torch.Generator(device=device).manual_seed(settings.seed)
    with _warm_lock:
        first_call = model not in _warm
        _warm.add(model)
    stops = stop_ids(lm)
    ids = torch.tensor([prompt.ids], device=device)
    encoder_outputs = None
    if lm.kind is Kind.ENCODER_DECODER:
        encoder_outputs = model.get_encoder()(input_ids=ids)
        start = model.generation_config.decoder_start_token_id
        step_input = torch.tensor([[start if start is not None else lm.tokenizer.pad_token_id]], device=device)
    else:
        step_input = ids
    generated: list[int] = []
    text, reason, past = "", "max new tokens", None
    t0 = time.perf_counter()
    t_first = t0
    for step in range(settings.max_new_tokens):
        if encoder_outputs is not None:
            out = model(
                encoder_outputs=encoder_outputs,
                decoder_input_ids=step_input,
                cache=past,
                use_cache=True,
            )
        else:
            out = model(input_ids=step_input, cache=past, use_cache=True)
        past = getattr(out, "cache", None)
        next_id = pick_next(out.logits[:, -1, :], settings, generator)
        token = int(next_id.item())  # the one host sync per token, needed to stream and to stop
        if step == 0:
            t_first = time.perf_counter()
        if token in stops:
            reason = "end of sequence"
            break
        generated.append(token)
        # Models without a KV cache (the original GPT) re-read the whole sequence each step.
        step_input = next_id if past is not None else torch.cat([step_input, next_id], dim=-1)
        decoded = lm.tokenizer.decode(generated, skip_special_tokens=True)
        if not decoded.endswith("\ufffd"):  # hold back half a multi-byte character until it completes
            piece, text = decoded[len(text) :], decoded
            if piece:
                yield Update(piece, text, len(generated))
    total = time.perf_counter() - t0
    text = lm.tokenizer.decode(generated, skip_special_tokens=True)
    note = None
    if not generated:
        note = "The model stopped at once: its first token was end-of-sequence."
        if lm.kind is Kind.DECODER and lm.facts.chat_template and not prompt.chat_template:
            note += " It is a chat model: try it with its chat template."
    rate = tokens_per_second(len(generated) - 1, total - (t_first - t0)) if len(generated) > 1 else 0.0
    result = Generation(
        text,
        prompt,
        len(generated),
        reason,
        t_first - t0,
        rate,
        total,
        first_call,
        note,
    )
    yield Update("", text, len(generated), result)
