"""How a decoder runs for generation: exactly as loaded (``exact``), or on its fast path (``fast``).

Every fast path stands behind one small interface: a ``DecodeStep`` hands a generation a
``DecodeSession`` (``claim``), the session reads the prompt (``prefill``) and then runs one token
at a time (``step``), and gives its resources back (``release``). Which step a model gets is
decided once, when it is loaded (``prepare``, with the load's progress), and stored on the model:

CPU (measured on a 2-core x86-64 machine; bench/run.py, bench/results/): decoding reads every
weight once per token, so speed is the bytes streamed and the framework's work around each layer.
- ``native``: one C call per token over weights repacked at load to 4-bit where they lie on a
  4-bit grid and int8 elsewhere (Llama, Mistral, Qwen2, Gemma-3): 6.6-8.9x ``generate()`` on the
  packaged SmolLM2-135M, as fast as llama.cpp on the same GGUF file;
- other decoders run through transformers with an int8 twin of their linear weights
  (``int8``: 2.5-3x), or a float16 twin where no kernel builds (``half``: 1.2-1.9x).
The prompt is always read with the loaded weights, and so is every score.

GPU: the model is 16-bit already and the time goes into launching kernels from Python, so the
fast path is a static-cache step whose inputs sit at fixed addresses, replayed as a CUDA graph
(``static``): one row for a generation alone, and a shared batch of rows that the scheduler fills
with the generations of several visitors on the same model. Capturing takes seconds, so it
happens at load, never on a click: a model whose step is not ready decodes eagerly. A graph whose
replay disagrees with the eager step is dropped. On ZeroGPU no graph is built: the platform moves
the weights on and off the GPU between calls, and a graph holds their addresses.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

from playground.errors import PlaygroundError
from playground.fast import gpu, half, int8, native, static
from playground.kinds import Kind
from playground.limits import on_zero_gpu
from playground.models import LoadedModel

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
SPEEDS = ("exact", "fast")
DEFAULT_SPEED = "fast"
HALF_PRECISION = "float16 weights, float32 activations"  # for new tokens; the prompt is read in float32
# Below this many bytes of float32 linear weights the products read from cache, not memory, and
# float16 only adds conversions (a 2-layer width-64 GPT-2: 4.0 ms/token in float32, 6.5 in float16).
HALF_MIN_BYTES = 64 * 2**20
STATIC_CACHE_TOKENS = 2048  # slots of a prepared GPU step; longer requests decode eagerly
SHARED_CACHE_TOKENS = 1024  # slots of each row of a shared batch
SHARED_ROWS = 8  # generations one GPU batch decodes at once ($PLAYGROUND_BATCH_ROWS; 0: no batch)
STATIC = "static KV cache"
GRAPH = "static KV cache, CUDA graph"


class DecodeSession(Protocol):
    """One generation's hold on a fast path."""

    def prefill(self, ids: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
        """Read the prompt ``ids`` [1, n] (with ``model``'s weights); the last position's logits."""

    def step(self, token: torch.Tensor, position: int) -> torch.Tensor:
        """Read one token at ``position``; the logits [1, vocabulary] of the next."""

    def release(self) -> None:
        """Give the session's cache back."""


class DecodeStep(Protocol):
    """A prepared fast path: sessions for generations that fit it."""

    def claim(self, prompt_tokens: int, new_tokens: int) -> DecodeSession | None:
        """A session for a generation of that size, or None (too long, or busy): decode eagerly."""


@dataclass(frozen=True)
class DecodePath:
    """What a decode loop runs: the module, its numeric precision and how steps are executed."""

    model: torch.nn.Module  # runs each new token on the eager path
    prompt_model: torch.nn.Module  # reads the prompt: many positions at once, where 16-bit CPU kernels are slow
    precision: str  # shown beside the speed it gave, e.g. "bfloat16 weights, float32 activations"
    method: str  # "eager" | STATIC | GRAPH | native.METHOD
    alone: DecodeStep | None = None  # a generation decoding by itself
    shared: static.StaticBatch | None = None  # rows that the scheduler decodes together (GPU)


def check_speed(speed: str) -> None:
    if speed not in SPEEDS:
        raise PlaygroundError(f"Unknown speed '{speed}': use one of {', '.join(SPEEDS)}.")


def shared_rows() -> int:
    value = os.environ.get("PLAYGROUND_BATCH_ROWS", "").strip()
    return int(value) if value.isdigit() else SHARED_ROWS


# A model's prepared path lives on the model object itself, so that it goes when the model is
# evicted from the cache (a table keyed by the model would keep it alive through the path).
_ATTRIBUTE = "_playground_decode_path"
# One preparation at a time in the process: a twin is built once even when two columns ask for it.
_prepare_lock = threading.RLock()


def eager(lm: LoadedModel) -> DecodePath:
    return DecodePath(lm.model, lm.model, lm.facts.dtype, "eager")


def decode_path(lm: LoadedModel, speed: str) -> DecodePath:
    """The path ``speed`` asks for, as far as it is ready now (never a long preparation).

    "exact" runs the model as loaded. "fast" on a CPU runs the native step, or the int8 or
    float16 twin (built here on first use if ``prepare`` was not called at load: seconds); on a
    GPU, the static step if ``prepare`` made one, else the model as loaded.
    """
    check_speed(speed)
    if speed == "exact" or lm.kind is not Kind.DECODER:
        return eager(lm)
    path = getattr(lm.model, _ATTRIBUTE, None)
    if path is not None:
        return path
    if lm.device.type == "cuda":
        return eager(lm)
    return prepare(lm)


def prepare(
    lm: LoadedModel, progress: Progress | None = None, *, static_step: bool | None = None, rows: int | None = None
) -> DecodePath:
    """Make the fast path of a decoder ready, once; called right after loading.

    ``static_step`` forces the static step on or off (on a CPU it runs without a graph: the tests
    use it), ``rows`` sets the rows of its shared batch (default $PLAYGROUND_BATCH_ROWS or 8 on a
    GPU, none on a CPU).
    """
    progress = progress or (lambda fraction, message: log.info("[%3.0f%%] %s", fraction * 100, message))
    with _prepare_lock:
        if (path := getattr(lm.model, _ATTRIBUTE, None)) is not None and static_step is None:
            return path
        forget(lm)  # before building: a twin copies the model's attributes, this one included
        try:
            path = _build(lm, progress, static_step, rows)
        except Exception:  # noqa: BLE001 - a fast path that cannot be made must not cost the model
            # E.g. an architecture the static step does not know yet, or no memory left for its
            # cache on a full GPU: the model still decodes, eagerly, and says so (decode_method).
            log.exception("%s: the fast decode path could not be made; decoding eagerly", lm.label)
            forget(lm)
            if lm.device.type == "cuda":
                torch.cuda.empty_cache()
            path = eager(lm)
        object.__setattr__(lm.model, _ATTRIBUTE, path)  # a plain attribute, not a registered submodule
    progress(1.0, f"{lm.label}: fast decoding ready ({path.precision}, {path.method})")
    return path


def _build(lm: LoadedModel, progress: Progress, static_step: bool | None, rows: int | None) -> DecodePath:
    cuda = lm.device.type == "cuda"
    if static_step is None:
        # $PLAYGROUND_STATIC_STEP=1 puts the GPU's step on a CPU too: to test its logic there
        static_step = cuda and not on_zero_gpu() or os.environ.get("PLAYGROUND_STATIC_STEP", "") == "1"
    if static_step:
        return _static(lm, progress, rows if rows is not None else shared_rows())
    if cuda:
        return eager(lm)
    model, precision = lm.model, lm.facts.dtype
    if _linear_bytes(model) < HALF_MIN_BYTES:
        return eager(lm)
    if (reason := native.why_unsupported(model)) is None:
        progress(0.0, f"{lm.label}: repacking the weights for the native decode step (4-bit where exact, else int8)")
        step = native.NativeModel(model)
        return DecodePath(lm.model, lm.model, step.precision, native.METHOD, step)
    log.info("%s: %s; decoding through transformers", lm.label, reason)
    if int8.available():
        progress(0.0, f"{lm.label}: an int8 copy of the linear weights for fast decoding")
        model = half.replace_linear(lm.model, _int8_layer)
        precision = int8.PRECISION  # the prompt is read with the float32 weights, as below
    else:
        progress(0.0, f"{lm.label}: a float16 copy of the linear weights for fast decoding")
        scales = half.calibrate(model, lm.tokenizer, min(lm.facts.context_length or 128, 128))
        model = half.twin(lm.model, scales)
        # The prompt is read with the float32 weights: with many positions at once, AVX2's 16-bit
        # products are slower than float32 (5x for 30 positions), while one position is bound by bytes.
        precision = HALF_PRECISION
    return DecodePath(model, lm.model, precision, "eager")


def _static(lm: LoadedModel, progress: Progress, rows: int) -> DecodePath:
    """The static step for one generation and, with ``rows``, a shared batch; graphs on CUDA."""
    if (reason := static.supports(lm.model)) is not None:
        log.info("%s: no static decode step: %s", lm.label, reason)
        return eager(lm)
    context = lm.facts.context_length or STATIC_CACHE_TOKENS
    cuda = lm.device.type == "cuda"
    steps = []
    for size in (1, rows) if rows > 1 else (1,):
        # Every step reads all its slots' keys: a batch of rows gets fewer slots per row.
        capacity = min(context, STATIC_CACHE_TOKENS if size == 1 else SHARED_CACHE_TOKENS)
        progress(0.05 + 0.45 * len(steps), f"{lm.label}: a static decode step for {size} at once")
        with gpu.exclusive(lm.device):
            step = static.StaticBatch(lm.model, size, capacity, lm.device)
            if cuda:
                try:
                    step.capture()
                except Exception:  # noqa: BLE001 - an architecture that cannot be captured still decodes
                    log.exception("%s: no CUDA graph for the decode step; decoding eagerly", lm.label)
                    return eager(lm)
            if not step.agrees_with_eager(_probe_prompt(lm, step), _probe_steps(step)):
                log.error("%s: the static step's logits differ from the eager step's; decoding eagerly", lm.label)
                return eager(lm)
        steps.append(step)
    method = GRAPH if cuda else STATIC
    return DecodePath(lm.model, lm.model, lm.facts.dtype, method, steps[0], steps[1] if len(steps) > 1 else None)


def _probe_prompt(lm: LoadedModel, step: static.StaticBatch) -> list[int]:
    """A short real prompt, within what a row of ``step`` takes (a shared batch's reserve)."""
    ids = lm.tokenizer("The quick brown fox jumps over the lazy dog.", add_special_tokens=False)["input_ids"]
    ids = ([lm.document_start_id] if lm.document_start_id is not None else []) + list(ids)
    return ids[: max(2, step.reserve)] if step.rows > 1 else ids


def _probe_steps(step: static.StaticBatch) -> int:
    """Enough steps to pass a sliding window (where hybrid caches go wrong), within the capacity."""
    wanted = (step.window or 0) + 8
    return max(1, min(wanted, step.capacity - step.reserve - 32))


def _int8_layer(name: str, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.nn.Module | None:
    return int8.Linear8(weight, bias) if int8.fits(weight) else None


def forget(lm: LoadedModel) -> None:
    """Drop a model's prepared fast path (its twin, native weights, or static steps and graphs)."""
    with _prepare_lock:
        if _ATTRIBUTE in lm.model.__dict__:
            object.__delattr__(lm.model, _ATTRIBUTE)


def keeps_logits(model: torch.nn.Module) -> bool:
    """Whether ``forward`` takes ``logits_to_keep`` (compute the vocabulary logits of the last
    position only: at prefill that skips prompt length x vocabulary x width multiply-adds)."""
    return static.takes(model, "logits_to_keep")


def _linear_bytes(model: torch.nn.Module) -> int:
    return sum(m.weight.numel() * m.weight.element_size() for m in half.linear_layers(model).values())
