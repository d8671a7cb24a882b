"""One generation between tokens: the decode loop behind ``playground.generation``.

A ``Decoding`` is advanced by ``launch`` (run the model, pick the next token, without waiting for
the device) and ``collect`` (read the token, stop or stream it). ``generation.stream`` alternates
the two for one model; ``playground.scheduler`` launches every decoding on a GPU before collecting
any, from one thread. Also here: what a generation returns (``Generation``, ``Update``), how a
token is picked (``filter_logits``, ``pick_next``) and how tokens become text (``TextStream``).
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from playground.fast import DecodePath, eager, keeps_logits
from playground.fast.static import RowDoesNotFit
from playground.kinds import Kind
from playground.metrics import tokens_per_second
from playground.models import LoadedModel

if TYPE_CHECKING:
    from playground.generation import GenerationSettings, Prompt


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
    precision: str | None = None  # of the weights and activations that generated, e.g. "float32"
    decode_method: str | None = None  # "eager" | playground.fast's STATIC, GRAPH or native.METHOD


@dataclass(frozen=True)
class Update:
    """One streamed step: the piece of text just produced and the text so far."""

    piece: str
    text: str
    new_tokens: int
    result: Generation | None = None  # set on the last update only


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


READ_AHEAD = 4  # picked tokens a GPU decoding may hold before reading them back
_warm: weakref.WeakSet = weakref.WeakSet()
_streams: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def model_stream(lm: LoadedModel):
    """The CUDA stream a model's decodings run on: each model its own, so that the kernels of
    models side by side can overlap."""
    with _warm_lock:
        if lm.model not in _streams:
            _streams[lm.model] = torch.cuda.Stream(lm.device)
        return _streams[lm.model]


_warm_lock = threading.Lock()


class TextStream:
    """Detokenize one token at a time without decoding the whole output at every step.

    Decodes a short window of recent tokens twice, before and after the new one, and emits the
    difference (the method of text-generation servers): a leading space that a SentencePiece
    decoder strips at the start of a text is kept, because the window starts a few tokens back.
    Half of a multi-byte character is held back until the token that completes it arrives.
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.text = ""
        self._prefix = 0  # window start
        self._read = 0  # tokens already turned into text

    def add(self, token: int) -> str:
        self.ids.append(token)
        decode = self.tokenizer.decode
        before = decode(self.ids[self._prefix : self._read], skip_special_tokens=True)
        after = decode(self.ids[self._prefix :], skip_special_tokens=True)
        if len(after) <= len(before) or after.endswith("\ufffd"):
            return ""
        piece = after[len(before) :]
        self._prefix, self._read = self._read, len(self.ids)
        self.text += piece
        return piece


class Decoding:
    """One generation between tokens.

    ``launch`` runs the model on the pending input and picks the next token without reading it
    back, so that on a GPU the steps of several models can be queued before any is waited for;
    ``collect`` reads the oldest picked token (the one host sync per token, needed to stream and
    to stop) and returns the updates to show. A decoding may run one step ahead of what it has
    collected (``playground.scheduler`` launches twice in a decoding's first round): the token
    it feeds the model never leaves the device. Each decoding samples from its own
    ``torch.Generator``: its tokens do not depend on what runs beside it.

    Where the step happens: a session of the path's fast step (``playground.fast``) for this
    generation alone, a row of the path's shared batch (only the scheduler flushes those:
    ``launch`` stages the input, the scheduler flushes the batch, then ``pick``), or eagerly.
    """

    def __init__(self, lm: LoadedModel, prompt: Prompt, settings: GenerationSettings, path: DecodePath, shared: bool):
        self.lm, self.prompt, self.settings, self.path = lm, prompt, settings, path
        self.generator = torch.Generator(device=lm.device).manual_seed(settings.seed)
        with _warm_lock:
            self.first_call = path.model not in _warm
            _warm.add(path.model)
        self.stops = stop_ids(lm)
        self.text = TextStream(lm.tokenizer)
        self.generated: list[int] = []
        self.done = False
        self.reason = "max new tokens"
        self.session = self._claim(shared)
        self.method = "eager" if self.session is None else path.method + (", batched" if self.batch else "")
        self.note: str | None = None
        self.awaiting = False  # staged in a shared batch: picks after the scheduler's flush
        self._launched = 0
        self._pending: deque = deque()  # picked tokens not yet read back, oldest first
        self._picked: list[torch.Tensor] = []  # every picked token, on the device
        self._next: torch.Tensor | None = None  # the last picked token, the next input
        self._keep: dict = {}
        self._cache = None
        self._encoder_outputs = None
        self._start_id: int | None = None
        self._t0 = self._t_first = 0.0
        cuda = lm.device.type == "cuda"
        self.stream = model_stream(lm) if cuda else None
        self._host = torch.empty(READ_AHEAD, dtype=torch.long, pin_memory=True) if cuda else None

    @property
    def batch(self):
        """The shared batch this decoding is a row of, or None."""
        return self.session.batch if getattr(self.session, "shared", False) else None

    @property
    def can_launch(self) -> bool:
        return not self.done and self._launched < self.settings.max_new_tokens and not self.awaiting

    def _claim(self, shared: bool):
        """A session for this generation: the path's step alone, else (when ``shared``) a row of
        its shared batch, else None to decode eagerly (there is none, or it is too short or busy)."""
        needed = (len(self.prompt.ids), self.settings.max_new_tokens)
        if self.path.alone is not None and (session := self.path.alone.claim(*needed)) is not None:
            return session
        if shared and self.path.shared is not None:
            return self.path.shared.claim(*needed)
        return None

    def _on_stream(self):
        stream = self.batch.stream if self.batch is not None else self.stream
        return torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()

    @torch.inference_mode()
    def launch(self) -> None:
        """Run the next step (the prompt, at the first) and pick its token; a shared row only
        stages its input here."""
        if not self.can_launch:
            return
        with self._on_stream():
            model, device, step = self.path.model, self.lm.device, self._launched
            if step == 0:
                self._t0 = time.perf_counter()
                logits = self._prefill(self.path.prompt_model, torch.tensor([self.prompt.ids], device=device))
            elif self.batch is not None:
                self.session.stage(self._next)
                self.awaiting = True
                return
            elif self.session is not None:
                logits = self.session.step(self._next, len(self.prompt.ids) + step - 1)
            elif self._encoder_outputs is not None:
                inputs = self._next if self._cache is not None else self._sequence([self._start_id])
                out = model(
                    encoder_outputs=self._encoder_outputs, decoder_input_ids=inputs, cache=self._cache, use_cache=True
                )
                self._cache, logits = getattr(out, "cache", None), out.logits[:, -1, :]
            else:
                # Models without a KV cache (the original GPT) re-read the whole sequence each step.
                inputs = self._next if self._cache is not None else self._sequence(self.prompt.ids)
                out = model(input_ids=inputs, cache=self._cache, use_cache=True, **self._keep)
                self._cache, logits = getattr(out, "cache", None), out.logits[:, -1, :]
            if step and model is not self.path.prompt_model and not bool(torch.isfinite(logits).all()):
                logits = self._fall_back_to_exact()
            self._pick(logits)

    @torch.inference_mode()
    def pick(self) -> None:
        """After the scheduler flushed this row's batch: pick the token from the row's logits."""
        if self.awaiting:
            self.awaiting = False
            with self._on_stream():
                self._pick(self.session.logits())

    def _pick(self, logits: torch.Tensor) -> None:
        token = pick_next(logits, self.settings, self.generator)
        self._next = token
        self._picked.append(token)
        self._launched += 1
        if self._host is None:
            self._pending.append(token)
            return
        # Start the copy to the host now, behind this step only: reading it later waits for this
        # token, not for a step launched after it.
        slot = self._launched % READ_AHEAD
        self._host[slot].copy_(token.view(()), non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        self._pending.append((slot, event))

    def _sequence(self, start: list[int]) -> torch.Tensor:
        """``start`` and every token picked so far, read back or not (for models without a cache)."""
        return torch.cat([torch.tensor([start], device=self.lm.device), *self._picked], dim=1)

    def _fall_back_to_exact(self) -> torch.Tensor:
        """A 16-bit product overflowed (``playground.fast.half``): reread everything in float32 and go on."""
        self._release_session()
        self.path, self.method = eager(self.lm), "eager"
        self.note = "A float16 product overflowed; this output was finished with the float32 weights."
        return self._prefill(self.lm.model, self._sequence(self.prompt.ids))

    def _prefill(self, model, ids: torch.Tensor) -> torch.Tensor:
        self._keep = {"logits_to_keep": 1} if keeps_logits(model) else {}
        if self.session is not None:
            try:
                return self.session.prefill(ids, model)
            except RowDoesNotFit:
                self._release_session()  # the shared batch moved on meanwhile: decode eagerly
                self.method = "eager"
        if self.lm.kind is Kind.ENCODER_DECODER:
            self._encoder_outputs = model.get_encoder()(input_ids=ids)
            start_id = model.generation_config.decoder_start_token_id
            self._start_id = start_id if start_id is not None else self.lm.tokenizer.pad_token_id
            out = model(
                encoder_outputs=self._encoder_outputs,
                decoder_input_ids=torch.tensor([[self._start_id]], device=ids.device),
                use_cache=True,
            )
        else:
            out = model(input_ids=ids, use_cache=True, **self._keep)
        self._cache = getattr(out, "cache", None)
        return out.logits[:, -1, :]

    def collect(self) -> list[Update]:
        """Read the oldest picked token back; the updates it makes (none, a piece, the end)."""
        if self.done or not self._pending:
            return []
        pending = self._pending.popleft()
        if self._host is None:
            token = int(pending.item())
        else:
            slot, event = pending
            event.synchronize()
            token = int(self._host[slot])
        if not self.generated and self._t_first == 0.0:
            self._t_first = time.perf_counter()
        if token in self.stops:
            self.reason = "end of sequence"
            return [self._finish()]
        self.generated.append(token)
        piece = self.text.add(token)
        updates = [Update(piece, self.text.text, len(self.generated))] if piece else []
        if len(self.generated) >= self.settings.max_new_tokens:
            updates.append(self._finish())
        return updates

    def close(self) -> None:
        """Free what the decoding holds (its cache; its session or row, for the next generation)."""
        self._release_session()
        self._cache = self._encoder_outputs = None
        self._pending.clear()

    def _release_session(self) -> None:
        if self.session is not None:
            self.session.release()
            self.session = None
        self.awaiting = False

    def _finish(self) -> Update:
        self.done = True
        self.close()
        lm, generated = self.lm, self.generated
        total = time.perf_counter() - self._t0
        text = lm.tokenizer.decode(generated, skip_special_tokens=True)
        note = self.note
        if not generated:
            note = "The model stopped at once: its first token was end-of-sequence."
            if lm.kind is Kind.DECODER and lm.facts.chat_template and not self.prompt.chat_template:
                note += " It is a chat model: try it with its chat template."
        first = self._t_first - self._t0
        rate = tokens_per_second(len(generated) - 1, total - first) if len(generated) > 1 else 0.0
        result = Generation(
            text,
            self.prompt,
            len(generated),
            self.reason,
            first,
            rate,
            total,
            self.first_call,
            note,
            self.path.precision,
            self.method,
        )
        return Update("", text, len(generated), result)
