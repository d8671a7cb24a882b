"""How a decoder is run for generation: exactly as loaded (``exact``), or on the fast path (``fast``).

On a CPU, decoding one token at a time reads every weight once per token, so its speed is set by
the bytes the matrix-vector products stream from memory and, for small models, by the work the
framework does around each layer. Where it covers the architecture (Llama, Mistral, Qwen2,
Gemma-3) the fast path runs each token in one C call (``playground.native``) over weights
repacked at load to 4-bit where they lie on a 4-bit grid and int8 elsewhere: 6.6-8.9x the speed
of ``generate()`` on the packaged SmolLM2-135M on the 2-core machine it was measured on, and
faster than llama.cpp on the same GGUF file (bench/run.py, bench/results/). Other decoders
decode through transformers with an int8 twin of their linear weights (``playground.int8``:
2.5-3x), or a float16 one where no kernel can be built (``playground.half``: 1.2-1.9x). The
prompt is always read with the loaded weights, and so is every score. What did not pay there:
bfloat16 weights (slower than float16 and further from float32's output), int8 dynamic
quantization (perplexity x2.4-4.8: quantizing activations per token crushes the outlier
channels; per group of 32, as the native step does, costs under 1 %), PyTorch's int8
weight-only kernel (3x slower than float32 on AVX2), a static KV cache (slower in eager mode),
torch.compile (100-160 s of compiling for no gain) and a hand-fused forward in PyTorch.

On a GPU the model is already 16-bit and the time goes into launching kernels from Python, so the
fast path decodes over a static KV cache with inputs at fixed addresses and replays each step as
a CUDA graph. Capturing takes seconds, so it happens in ``prepare`` (at load, with progress),
never on a user's click: a model that was not prepared decodes eagerly. The graph path has not
been run on a GPU yet; its logic runs on a CPU in the tests, and a graph whose replay disagrees
with the eager step is dropped.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import torch

from playground import half, int8, native
from playground.errors import PlaygroundError
from playground.kinds import Kind
from playground.models import LoadedModel

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
SPEEDS = ("exact", "fast")
DEFAULT_SPEED = "fast"
HALF_PRECISION = "float16 weights, float32 activations"  # for new tokens; the prompt is read in float32
# Below this many bytes of float32 linear weights the products read from cache, not memory, and
# float16 only adds conversions (a 2-layer width-64 GPT-2: 4.0 ms/token in float32, 6.5 in float16).
HALF_MIN_BYTES = 64 * 2**20
STATIC_CACHE_TOKENS = 2048  # KV positions a prepared GPU model keeps; longer requests decode eagerly


def check_speed(speed: str) -> None:
    if speed not in SPEEDS:
        raise PlaygroundError(f"Unknown speed '{speed}': use one of {', '.join(SPEEDS)}.")


@dataclass
class StaticStep:
    """One decode step over a static KV cache, with its inputs at fixed addresses.

    Because nothing in the step allocates or depends on host values, it can be captured once as
    a CUDA graph and replayed for every token; on a CPU (and before capture) it runs eagerly, which
    is how its logic is tested. One generation at a time owns it (``lock``); another that finds
    it busy decodes eagerly instead.
    """

    model: torch.nn.Module
    cache: object
    capacity: int
    token: torch.Tensor
    position: torch.Tensor
    lock: threading.Lock
    graph: object = None
    logits: torch.Tensor | None = None

    @classmethod
    def build(cls, model: torch.nn.Module, capacity: int, device: torch.device) -> StaticStep:
        from transformers import StaticCache

        cache = StaticCache(config=model.config, max_cache_len=capacity)
        token = torch.zeros((1, 1), dtype=torch.long, device=device)
        position = torch.zeros((1,), dtype=torch.long, device=device)
        return cls(model, cache, capacity, token, position, threading.Lock())

    def claim(self, needed: int) -> StaticStep | None:
        """This step for one generation of ``needed`` positions, or None if it is too short or busy."""
        if needed > self.capacity or not self.lock.acquire(blocking=False):
            return None
        return self

    def release(self) -> None:
        self.lock.release()

    def prefill(self, ids: torch.Tensor, model: torch.nn.Module | None = None) -> torch.Tensor:
        """Empty the cache (in place: captured addresses stay valid) and read the prompt eagerly,
        with ``model`` if given (same architecture and activations; other weights)."""
        self.cache.reset()
        positions = torch.arange(ids.shape[1], device=ids.device)
        out = (model or self.model)(
            input_ids=ids,
            position_ids=positions[None],
            cache=self.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        return out.logits[:, -1, :]

    def step(self, token: torch.Tensor, position: int) -> torch.Tensor:
        self.token.copy_(token.view(1, 1))
        self.position.fill_(position)
        if self.graph is not None:
            self.graph.replay()
            return self.logits
        return self._forward()

    def _forward(self) -> torch.Tensor:
        out = self.model(
            input_ids=self.token,
            position_ids=self.position[None],
            cache=self.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        return out.logits[:, -1, :]

    def capture(self, warmup: int = 3) -> None:
        """Record the step as a CUDA graph (CUDA only). Warm-up runs on a side stream first, as
        graph capture requires; the garbage they write to the cache is cleared by ``prefill``."""
        self.prefill(self.token)  # allocates the cache's tensors before their addresses are captured
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(warmup):
                self._forward()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.logits = self._forward()
        self.graph = graph

    def agrees_with_eager(self, steps: int = 4) -> bool:
        """Replay the graph and run the step eagerly from the same prompt: a capture that baked
        in a value read on the host (a position, a length) would drift from the eager step, and
        then the graph must not be used."""
        ids = torch.tensor([[1, 2, 3, 4]], device=self.token.device)
        runs, graph = [], self.graph
        for replay in (graph, None):
            self.graph = replay
            try:
                logits, seen = self.prefill(ids), []
                for i in range(steps):
                    logits = self.step(logits.argmax(-1), ids.shape[1] + i).clone()
                    seen.append(logits.float())
            finally:
                self.graph = graph
            runs.append(torch.stack(seen))
        # The same kernels run either way: any difference beyond rounding means a wrong graph.
        return bool((runs[0] - runs[1]).abs().max() <= 1e-3 * runs[1].abs().max())


@dataclass(frozen=True)
class DecodePath:
    """What a decode loop runs: the module, its numeric precision and how steps are executed."""

    model: torch.nn.Module  # runs each new token
    prompt_model: torch.nn.Module  # reads the prompt: many positions at once, where 16-bit CPU kernels are slow
    precision: str  # shown beside the speed it gave, e.g. "bfloat16 weights, float32 activations"
    method: str  # "eager" | "static KV cache" | "static KV cache, CUDA graph" | native.METHOD
    static: StaticStep | native.NativeModel | None = None  # claim(needed) -> a session, or None


# A model's prepared path lives on the model object itself, so that it goes when the model is
# evicted from the cache (a table keyed by the model would keep it alive through the path).
_ATTRIBUTE = "_playground_decode_path"
# One preparation at a time in the process: a twin is built once even when two columns ask for it
# together, and a CUDA-graph capture beside other CUDA work fails ("operation not permitted when
# stream is capturing", DESIGN §4).
_prepare_lock = threading.RLock()


def decode_path(lm: LoadedModel, speed: str) -> DecodePath:
    """The path ``speed`` asks for, as far as it is ready now (never a long preparation).

    "exact" runs the model as loaded. "fast" on a CPU runs the native step, or the int8 or
    float16 twin (built here on first use if ``prepare`` was not called at load: seconds); on a
    GPU, the captured static step if ``prepare`` made one, else the model as loaded.
    """
    check_speed(speed)
    if speed == "exact" or lm.kind is not Kind.DECODER:
        return DecodePath(lm.model, lm.model, lm.facts.dtype, "eager")
    path = getattr(lm.model, _ATTRIBUTE, None)
    if path is not None:
        return path
    if lm.device.type == "cuda":
        return DecodePath(lm.model, lm.model, lm.facts.dtype, "eager")
    return prepare(lm)


def prepare(lm: LoadedModel, progress: Progress | None = None, *, static: bool | None = None) -> DecodePath:
    """Make the fast path of a decoder ready, once; call it right after loading.

    CPU, for float32 models whose linear weights take at least ``HALF_MIN_BYTES``: the native
    step where it covers the architecture (``playground.native``: weights repacked in 2-6 s),
    else a twin with int8 linear weights (``playground.int8``), else one with float16 ones; a
    smaller model as loaded. GPU: a static
    KV cache and a CUDA graph of one decode step; this takes seconds, hence the progress reports.
    ``static`` forces the static-cache step on or off (on a CPU it runs without a graph: tests).
    """
    progress = progress or (lambda fraction, message: log.info("[%3.0f%%] %s", fraction * 100, message))
    with _prepare_lock:
        if (path := getattr(lm.model, _ATTRIBUTE, None)) is not None and static is None:
            return path
        forget(lm)  # before building: a twin copies the model's attributes, this one included
        path = _build(lm, progress, static)
        object.__setattr__(lm.model, _ATTRIBUTE, path)  # a plain attribute, not a registered submodule
    progress(1.0, f"{lm.label}: fast decoding ready ({path.precision}, {path.method})")
    return path


def _build(lm: LoadedModel, progress: Progress, static: bool | None) -> DecodePath:
    cuda = lm.device.type == "cuda"
    model, precision = lm.model, lm.facts.dtype
    big = not cuda and _linear_bytes(model) >= HALF_MIN_BYTES
    if big and static is None and (reason := native.why_unsupported(model)) is None:
        progress(0.0, f"{lm.label}: repacking the weights for the native decode step (4-bit where exact, else int8)")
        step = native.NativeModel(model)
        return DecodePath(lm.model, lm.model, step.precision, native.METHOD, step)
    if big and static is None:
        log.info("%s: %s; decoding through transformers", lm.label, reason)
    if big and int8.available():
        progress(0.0, f"{lm.label}: an int8 copy of the linear weights for fast decoding")
        model = half.replace_linear(lm.model, _int8_layer)
        precision = int8.PRECISION  # the prompt is read with the float32 weights, as below
    elif big:
        progress(0.0, f"{lm.label}: a float16 copy of the linear weights for fast decoding")
        scales = half.calibrate(model, lm.tokenizer, min(lm.facts.context_length or 128, 128))
        model = half.twin(lm.model, scales)
        # The prompt is read with the float32 weights: with many positions at once, AVX2's 16-bit
        # products are slower than float32 (5x for 30 positions), while one position is bound by bytes.
        precision = HALF_PRECISION
    step, method = None, "eager"
    if (cuda if static is None else static) and _supports_static_cache(lm):
        capacity = min(lm.facts.context_length or STATIC_CACHE_TOKENS, STATIC_CACHE_TOKENS)
        step, method = StaticStep.build(model, capacity, lm.device), "static KV cache"
        if cuda:
            progress(0.1, f"{lm.label}: capturing the decode step as a CUDA graph (once, a few seconds)")
            try:
                step.capture()
                if not step.agrees_with_eager():
                    raise RuntimeError("the replayed graph's logits differ from the eager step's")
                method = "static KV cache, CUDA graph"
            except Exception:  # noqa: BLE001 - an architecture that cannot be captured still decodes
                log.exception("%s: no CUDA graph for the decode step; decoding eagerly", lm.label)
                step, method = None, "eager"
    return DecodePath(model, lm.model, precision, method, step)


def _int8_layer(name: str, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.nn.Module | None:
    return int8.Linear8(weight, bias) if int8.fits(weight) else None


def forget(lm: LoadedModel) -> None:
    """Drop a model's prepared fast path (its float16 twin, or its static cache and graph)."""
    with _prepare_lock:
        if _ATTRIBUTE in lm.model.__dict__:
            object.__delattr__(lm.model, _ATTRIBUTE)


_KEEPS_LOGITS: dict[type, bool] = {}


def keeps_logits(model: torch.nn.Module) -> bool:
    """Whether ``forward`` takes ``logits_to_keep`` (compute the vocabulary logits of the last
    position only: at prefill that skips prompt length x vocabulary x width multiply-adds)."""
    kind = type(model)
    if kind not in _KEEPS_LOGITS:
        _KEEPS_LOGITS[kind] = "logits_to_keep" in inspect.signature(model.forward).parameters
    return _KEEPS_LOGITS[kind]


def _linear_bytes(model: torch.nn.Module) -> int:
    return sum(m.weight.numel() * m.weight.element_size() for m in half.linear_layers(model).values())


def _supports_static_cache(lm: LoadedModel) -> bool:
    return keeps_logits(lm.model) and "cache" in inspect.signature(lm.model.forward).parameters
