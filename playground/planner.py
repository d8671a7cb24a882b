"""Will a model fit, and where? Memory estimated from its config before any weight is loaded.

A decoder's memory at inference is three things:

    weights     = parameters x bytes per element of the dtype
    KV cache    = 2 (K and V) x layers x KV heads x head dim x context x batch x bytes per element
    margin      = 10 % of (weights + KV cache)                   allocator slack, temporary buffers
                  + batch x window x vocabulary x 4 bytes       fp32 logits of one scoring window
                                                                 (window: the context, at most 1,024 tokens)

The parameter count is plain arithmetic over the config for the decoder families it knows (GPT-2 and
Llama-style: Llama, Mistral, Qwen2); any other model is built as a skeleton on the meta device,
which allocates no memory, and its parameters are counted. The plan then places that need on the
devices there are, preferring one GPU, then several GPUs (``device_map="auto"``), then GPUs with the
weights that do not fit offloaded to CPU RAM, then the CPU alone. Disk offload is not planned.
"""

from __future__ import annotations

from dataclasses import dataclass

import psutil
import torch

from playground.errors import PlaygroundError, for_visitor
from playground.facts import context_length
from playground.scoring import DEFAULT_MAX_WINDOW

BYTES_PER_ELEMENT = {"float32": 4, "fp32": 4, "bfloat16": 2, "bf16": 2, "float16": 2, "fp16": 2}
MARGIN_FRACTION = 0.10
LLAMA_STYLE = {"llama": (False, False), "mistral": (False, False), "qwen2": (True, False)}  # bias on q/k/v, on o


@dataclass(frozen=True)
class DecoderShape:
    """The numbers of a decoder-only transformer that decide its size.

    ``positions`` is the size of a learned position table (GPT-2), 0 for rotary positions.
    ``gated`` MLPs (Llama) have three matrices (gate, up, down), plain ones (GPT-2) two.
    ``layer_norm`` norms have a weight and a bias, RMS norms a weight only.
    """

    vocab_size: int
    hidden_size: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn_size: int
    positions: int = 0
    tied: bool = True
    gated: bool = True
    layer_norm: bool = False
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False


def shape_of(config) -> DecoderShape | None:
    """The shape of a GPT-2 or Llama-style config; None for any other model type."""
    kind = getattr(config, "model_type", "")
    tied = bool(getattr(config, "tie_word_embeddings", True))
    if kind == "gpt2":
        d, heads = config.n_embd, config.n_head
        return DecoderShape(
            config.vocab_size,
            d,
            config.n_layer,
            heads,
            heads,
            d // heads,
            config.n_inner or 4 * d,
            positions=config.n_positions,
            tied=tied,
            gated=False,
            layer_norm=True,
            qkv_bias=True,
            o_bias=True,
            mlp_bias=True,
        )
    if kind in LLAMA_STYLE:
        qkv_bias, o_bias = LLAMA_STYLE[kind]
        d, heads = config.hidden_size, config.num_attention_heads
        return DecoderShape(
            config.vocab_size,
            d,
            config.num_hidden_layers,
            heads,
            config.num_key_value_heads or heads,
            getattr(config, "head_dim", None) or d // heads,
            config.intermediate_size,
            tied=tied,
            qkv_bias=qkv_bias or bool(getattr(config, "attention_bias", False)),
            o_bias=o_bias or bool(getattr(config, "attention_bias", False)),
            mlp_bias=bool(getattr(config, "mlp_bias", False)),
        )
    return None


def decoder_parameters(s: DecoderShape) -> int:
    """Parameters of a decoder: embeddings + layers x (attention + MLP + 2 norms) + final norm + LM head.

    Attention projects d to H query heads and KV key and value heads of ``head_dim`` each, and the
    H heads back to d (the output projection). A tied LM head reuses the embedding matrix.
    """
    d, q, kv = s.hidden_size, s.heads * s.head_dim, s.kv_heads * s.head_dim
    norm = 2 * d if s.layer_norm else d
    attention = d * q + 2 * d * kv + q * d + s.qkv_bias * (q + 2 * kv) + s.o_bias * d
    matrices = 3 if s.gated else 2
    mlp = matrices * d * s.ffn_size + s.mlp_bias * ((matrices - 1) * s.ffn_size + d)
    embeddings = (s.vocab_size + s.positions) * d
    head = 0 if s.tied else s.vocab_size * d
    return embeddings + s.layers * (attention + mlp + 2 * norm) + norm + head


def skeleton_parameters(config) -> int:
    """Parameters of the model a config builds, counted on a skeleton on the meta device (no memory).

    Shared (tied) tensors count once, as ``model.parameters()`` yields each tensor once.
    """
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return sum(p.numel() for p in model.parameters())


def kv_cache_bytes(s: DecoderShape, context: int, batch: int, bytes_per_element: float) -> int:
    """Bytes of the KV cache: 2 (K and V) x layers x KV heads x head dim x context x batch x bytes."""
    return int(2 * s.layers * s.kv_heads * s.head_dim * context * batch * bytes_per_element)


@dataclass(frozen=True)
class Estimate:
    """The memory one model needs at one dtype, context and batch, in bytes."""

    model: str
    dtype: str
    context: int
    batch: int
    parameters: int
    weight_bytes: int
    kv_cache_bytes: int
    margin_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.kv_cache_bytes + self.margin_bytes


def estimate(
    config, dtype: str | torch.dtype = "float32", context: int | None = None, batch: int = 1, name: str | None = None
) -> Estimate:
    """Weights, KV cache and margin (module docstring) for a decoder config; context defaults to its maximum."""
    dtype_name = str(dtype).removeprefix("torch.")
    if dtype_name not in BYTES_PER_ELEMENT:
        raise PlaygroundError(f"Unknown dtype '{dtype_name}': use one of float32, bfloat16, float16.")
    size = BYTES_PER_ELEMENT[dtype_name]
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    context = context or context_length(text) or 2048
    if context < 1 or batch < 1:
        raise PlaygroundError(f"Context and batch must be at least 1 (got context {context}, batch {batch}).")
    known = shape_of(text)
    shape = known or _generic_shape(text)
    parameters = decoder_parameters(known) if known else skeleton_parameters(config)
    weights = parameters * size
    cache = kv_cache_bytes(shape, context, batch, size)
    window = min(context, DEFAULT_MAX_WINDOW)  # perplexity is scored in windows of at most this many tokens
    margin = int(MARGIN_FRACTION * (weights + cache)) + batch * window * shape.vocab_size * 4
    label = name or getattr(config, "name_or_path", "") or getattr(config, "model_type", "model")
    return Estimate(label, dtype_name, context, batch, parameters, weights, cache, margin)


def estimate_reference(
    reference: str, dtype: str | torch.dtype = "float32", context: int | None = None, batch: int = 1
) -> Estimate:
    """The estimate for what a user typed (Hub id, local folder, packaged name), from its config alone.

    A Hub model's config is a few kB; a packaged GGUF model is converted once first, as loading it would.
    """
    from transformers import AutoConfig

    from playground.packaged import PACKAGED, packaged_folder
    from playground.references import parse_reference

    ref = parse_reference(reference)
    folder = packaged_folder(PACKAGED[ref.name]) if ref.source == "packaged" else ref.name
    try:
        config = AutoConfig.from_pretrained(folder, revision=ref.revision, trust_remote_code=False)
    except Exception as exc:
        reason = for_visitor(str(exc), ref.label)
        raise PlaygroundError(
            f"Cannot read the config of {ref.label} to plan its memory: {reason}".strip()[:400]
        ) from exc
    return estimate(config, dtype, context, batch, name=ref.label)


def _generic_shape(config) -> DecoderShape:
    """Enough of an unknown decoder's shape for its KV cache; its parameters come from a skeleton."""
    d = getattr(config, "hidden_size", None)
    heads = getattr(config, "num_attention_heads", None)
    layers = getattr(config, "num_hidden_layers", None)
    if not (d and heads and layers):
        raise PlaygroundError(
            f"Cannot plan memory for model type '{getattr(config, 'model_type', '?')}': its config does not name "
            "hidden_size, num_attention_heads and num_hidden_layers. Load it and read its weight bytes instead."
        )
    kv = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or d // heads
    return DecoderShape(config.vocab_size, d, layers, heads, kv, head_dim, 0)


@dataclass(frozen=True)
class Device:
    """A place that can hold weights ("cuda:0", "cpu") and the bytes free on it now."""

    name: str
    free_bytes: int


def available_devices() -> list[Device]:
    """Every CUDA device with its free memory (``torch.cuda.mem_get_info``), then the CPU's available RAM."""
    devices = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            free, _total = torch.cuda.mem_get_info(index)
            devices.append(Device(f"cuda:{index}", free))
    return [*devices, Device("cpu", psutil.virtual_memory().available)]


@dataclass(frozen=True)
class Plan:
    """Where one model goes. ``verdict`` is "fits" (one device), "spread" (several GPUs), "offload" (GPUs,
    with the weights that do not fit there in CPU RAM) or "does not fit".

    ``placement`` is the bytes planned per device (weights, cache and margin); ``max_memory`` the bytes
    of weights each device may take, as accelerate's ``max_memory`` wants them.
    """

    estimate: Estimate
    verdict: str
    placement: dict[str, int]
    max_memory: dict[str, int]
    message: str


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def plan(need: Estimate, devices: list[Device]) -> Plan:
    """Place one model on the devices: one GPU, else several GPUs, else GPUs + CPU offload, else the CPU."""
    total, weights = need.total_bytes, need.weight_bytes
    gpus = [d for d in devices if d.name != "cpu"]
    cpu = next((d for d in devices if d.name == "cpu"), None)
    head = f"{need.model} at {need.dtype}, context {need.context:,}: needs {gib(total)}"
    for device in gpus:
        if device.free_bytes >= total:
            return _fits(need, device, f"fits on {device.name}: {head}, {gib(device.free_bytes)} free")
    chosen, free = [], 0
    for device in sorted(gpus, key=lambda d: -d.free_bytes):
        if free >= total:
            break
        chosen.append(device)
        free += device.free_bytes
    if len(chosen) > 1 and free >= total:
        chosen = [d for d in gpus if d in chosen]  # back in device order
        names = "+".join(d.name for d in chosen)
        # each GPU keeps room for its share of the cache and margin, in proportion to its free memory
        share = {d.name: d.free_bytes / free for d in chosen}
        return Plan(
            need,
            "spread",
            {n: int(total * f) for n, f in share.items()},
            {d.name: d.free_bytes - int((total - weights) * share[d.name]) for d in chosen},
            f"needs device_map='auto' across {names}: {head}, {gib(free)} free on them together",
        )
    if gpus and cpu:
        # accelerate runs offloaded layers on the first GPU of the map: their KV cache and the margin stay there.
        main = gpus[0]
        on_gpus = sum(d.free_bytes for d in gpus) - (total - weights)
        on_cpu = weights - on_gpus
        if main.free_bytes > total - weights and on_gpus > 0 and on_cpu <= cpu.free_bytes:
            caps = {d.name: d.free_bytes - (total - weights if d is main else 0) for d in gpus}
            placement = {**{d.name: d.free_bytes for d in gpus}, "cpu": on_cpu}
            return Plan(
                need,
                "offload",
                placement,
                {**caps, "cpu": cpu.free_bytes},
                f"GPU + CPU offload: {head}; {gib(on_gpus)} of the {gib(weights)} of weights on "
                f"{'+'.join(d.name for d in gpus)}, {gib(on_cpu)} in CPU RAM, copied to the GPU at every token (slow)",
            )
    if cpu and cpu.free_bytes >= total:
        return _fits(need, cpu, f"fits on cpu: {head}, {gib(cpu.free_bytes)} of RAM available")
    free_text = ", ".join(f"{d.name} {gib(d.free_bytes)}" for d in devices) or "no devices"
    return Plan(
        need,
        "does not fit",
        {},
        {},
        f"does not fit: {head} ({gib(weights)} weights + {gib(need.kv_cache_bytes)} KV cache + "
        f"{gib(need.margin_bytes)} margin); free: {free_text}. Use a smaller dtype, a shorter context or a smaller "
        "model.",
    )


def _fits(need: Estimate, device: Device, message: str) -> Plan:
    return Plan(need, "fits", {device.name: need.total_bytes}, {device.name: need.weight_bytes}, message)


def plan_all(estimates: list[Estimate], devices: list[Device] | None = None) -> list[Plan]:
    """Plans for models that run side by side: each is placed in the memory the ones before it left."""
    devices = list(devices if devices is not None else available_devices())
    plans = []
    for need in estimates:
        plans.append(placed := plan(need, devices))
        devices = [Device(d.name, d.free_bytes - placed.placement.get(d.name, 0)) for d in devices]
    return plans


def load_kwargs(plan: Plan) -> dict:
    """``from_pretrained`` keyword arguments that carry out a plan.

    One device: ``{"device_map": "cuda:0"}``. Spread or offloaded: ``{"device_map": "auto", "max_memory":
    {0: bytes, 1: bytes, "cpu": bytes}}``, accelerate's form (GPUs by index). A plan that does not fit raises.
    """
    if plan.verdict == "does not fit":
        raise PlaygroundError(plan.message)
    if plan.verdict == "fits":
        return {"device_map": next(iter(plan.placement))}
    return {
        "device_map": "auto",
        "max_memory": {(int(n.split(":")[1]) if n.startswith("cuda:") else n): b for n, b in plan.max_memory.items()},
    }
