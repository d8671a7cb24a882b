"""The decode step of Llama- and Gemma-3-style decoders in C, for CPUs: no framework between layers.

On a CPU, decoding one token is bound by the bytes of weights streamed from memory and, for small
models, by the framework's own work around each layer: transformers spends about 15 ms per token
on SmolLM2-135M's 30 layers in Python and small tensor operations, as long as the products
themselves. ``native.c`` runs the whole step (embedding, norms, rotary embedding, attention over
its own KV cache, MLP, logits) in one call from Python, which releases the interpreter lock.

Weights are repacked once, at load, in groups of 32 along the input dimension: 4-bit where a
matrix already lies on a 4-bit grid, else int8 (``playground.fast.pack``).

Each product quantizes its input vector to int8 per group of 32 as llama.cpp does; norms,
attention, the KV cache and the logits are float32. The prompt is read by the loaded float32
model, whose KV cache is copied into the step's (``NativeSession.prefill``). What this costs in
perplexity against float32 is measured by bench/run.py; what is lossless is reported with the
precision (``NativeModel.precision``).
"""

from __future__ import annotations

import ctypes
import logging
import threading
from pathlib import Path

import torch

from playground.fast import build
from playground.fast.pack import GROUP, Packed, pack

log = logging.getLogger(__name__)

METHOD = "native step (C)"
SUPPORTED = ("llama", "mistral", "qwen2", "gemma3_text")
_SOURCE = Path(__file__).with_name("native.c")


class Mat(ctypes.Structure):
    _fields_ = [
        ("kind", ctypes.c_int),
        ("rows", ctypes.c_int),
        ("cols", ctypes.c_int),
        ("q", ctypes.c_void_p),
        ("d", ctypes.c_void_p),
        ("m", ctypes.c_void_p),
        ("bias", ctypes.c_void_p),
    ]


class Layer(ctypes.Structure):
    _fields_ = [
        ("qkv", Mat),
        ("o", Mat),
        ("gate_up", Mat),
        ("down", Mat),
        ("norm_attn_in", ctypes.c_void_p),
        ("norm_attn_out", ctypes.c_void_p),
        ("norm_ffn_in", ctypes.c_void_p),
        ("norm_ffn_out", ctypes.c_void_p),
        ("q_norm", ctypes.c_void_p),
        ("k_norm", ctypes.c_void_p),
        ("inv_freq", ctypes.c_void_p),
        ("rope_scale", ctypes.c_float),
        ("window", ctypes.c_int),
    ]


class Model(ctypes.Structure):
    _fields_ = [
        *[(name, ctypes.c_int) for name in ("layers", "hidden", "heads", "kv_heads", "head_dim", "inter", "vocab")],
        ("act", ctypes.c_int),
        *[(name, ctypes.c_float) for name in ("eps", "attn_scale", "embed_scale", "final_softcap")],
        ("embed", ctypes.c_void_p),
        ("final_norm", ctypes.c_void_p),
        ("lm_head", Mat),
        ("layer", ctypes.POINTER(Layer)),
    ]


class State(ctypes.Structure):
    _fields_ = [("capacity", ctypes.c_int), ("float_inputs", ctypes.c_int)] + [
        (name, ctypes.c_void_p) for name in ("k", "v", "x", "h", "qkv", "att", "gu", "scores", "xq", "xd", "xs")
    ]


_lock = threading.Lock()
_library_state: dict[str, object] = {}


def library() -> ctypes.CDLL | None:
    """The compiled step (built on first call, about two seconds), or None where it cannot be."""
    with _lock:
        if "library" not in _library_state:
            lib, reason = build.library("native-step", _SOURCE.read_text())
            if lib is not None:
                lib.step.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
                lib.step.argtypes += [ctypes.c_int]
                lib.step.restype = None
                lib.product.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_int]
                lib.product.restype = None
            _library_state["library"], _library_state["reason"] = lib, reason
        return _library_state["library"]  # type: ignore[return-value]


def why_unsupported(model: torch.nn.Module) -> str | None:
    """Why the native step cannot run this model, or None if it can."""
    config = getattr(model, "config", None)
    kind = getattr(config, "model_type", None)
    if kind not in SUPPORTED:
        return f"the native step covers {', '.join(SUPPORTED)} models, not {kind}"
    if library() is None:
        return _library_state.get("reason")  # type: ignore[return-value]
    if next(model.parameters()).device.type != "cpu":
        return "the native step runs on the CPU"
    if getattr(config, "attn_logit_softcapping", None) or getattr(config, "use_bidirectional_attention", False):
        return "attention logit soft-capping and bidirectional attention are not in the native step"
    if kind == "mistral" and getattr(config, "sliding_window", None):
        return "Mistral's sliding window is not in the native step"
    rope = _rope_parameters(config)
    if any(p.get("rope_type", "default") not in ("default", "linear", "llama3", "yarn") for p in rope):
        return "a rotary embedding whose frequencies change with the length is not in the native step"
    shapes = [m.weight.shape[1] for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if any(cols % GROUP for cols in shapes):
        return f"a layer's input width is not a multiple of {GROUP}"
    return None


def _rope_parameters(config) -> list[dict]:
    parameters = getattr(config, "rope_parameters", None) or {}
    if parameters and all(isinstance(v, dict) for v in parameters.values()):
        return list(parameters.values())
    return [parameters]


def _mat(packed: Packed) -> Mat:
    """A packed matrix as native.c reads it (pointers into the packing's tensors, which it keeps)."""
    rows, groups = packed.d.shape
    return Mat(
        packed.kind,
        rows,
        groups * GROUP,
        packed.q.data_ptr(),
        packed.d.data_ptr(),
        packed.m.data_ptr() if packed.m is not None else None,
        packed.bias.data_ptr() if packed.bias is not None else None,
    )


# ---- the model ---------------------------------------------------------------------------------


class NativeModel:
    """A decoder's weights repacked for ``native.c``, and the structures that point at them."""

    def __init__(self, model: torch.nn.Module):
        reason = why_unsupported(model)
        if reason:
            raise RuntimeError(f"native step unavailable: {reason}")
        config = model.config
        self.config = config
        self.gemma = config.model_type == "gemma3_text"
        inner = model.model
        self.layers = list(inner.layers)
        first = self.layers[0].self_attn
        self.heads = config.num_attention_heads
        self.kv_heads = config.num_key_value_heads
        self.head_dim = first.head_dim
        self.hidden = config.hidden_size
        self.inter = config.intermediate_size
        self.vocab = model.lm_head.weight.shape[0]
        self._keep: list[torch.Tensor] = []  # everything C points at
        self._packed: list[Packed] = []
        layers = (Layer * len(self.layers))()
        for i, layer in enumerate(self.layers):
            layers[i] = self._layer(layer, i, inner)
        embed = inner.embed_tokens
        scale = float(getattr(embed, "embed_scale", 1.0))
        lm_head = self._pack(model.lm_head.weight, getattr(model.lm_head, "bias", None))
        act = config.hidden_activation if self.gemma else config.hidden_act
        if act not in ("silu", "gelu_pytorch_tanh"):
            raise RuntimeError(f"native step unavailable: activation {act}")
        self.struct = Model(
            len(self.layers),
            self.hidden,
            self.heads,
            self.kv_heads,
            self.head_dim,
            self.inter,
            self.vocab,
            0 if act == "silu" else 1,
            float(config.rms_norm_eps),
            float(first.scaling),
            scale,
            float(getattr(config, "final_logit_softcapping", None) or 0.0),
            self._hold(embed.weight.detach().float()),
            self._norm(inner.norm),
            _mat(lm_head),
            ctypes.cast(layers, ctypes.POINTER(Layer)),
        )
        self._layer_structs = layers
        self.exact = sum(p.exact for p in self._packed)
        self.four_bit = sum(p.kind == 1 for p in self._packed)
        self.matrices = len(self._packed)
        self.nbytes = sum(t.numel() * t.element_size() for p in self._packed for t in (p.q, p.d, p.m) if t is not None)

    def __deepcopy__(self, memo) -> NativeModel:
        """Shared, not copied: its weights are read-only (and ctypes structures cannot be copied).
        A copy of a model that carries its prepared path (``playground.fast``) keeps this one."""
        return self

    @property
    def precision(self) -> str:
        """For the results: e.g. "4-bit/int8 weights (121 of 121 matrices as loaded), int8 activations"."""
        kinds = "4-bit/int8" if self.four_bit else "int8"
        return f"{kinds} weights ({self.exact} of {self.matrices} matrices as loaded), int8 activations"

    def _hold(self, tensor: torch.Tensor) -> int:
        tensor = tensor.contiguous()
        self._keep.append(tensor)
        return tensor.data_ptr()

    def _pack(self, weight: torch.Tensor, bias: torch.Tensor | None = None) -> Packed:
        packed = pack(weight, bias)
        self._packed.append(packed)
        return packed

    def _norm(self, norm: torch.nn.Module | None) -> int | None:
        if norm is None:
            return None
        weight = norm.weight.detach().float()
        return self._hold(weight + 1.0 if self.gemma else weight)  # Gemma's norms scale by 1 + w

    def _fused(self, linears: list[torch.nn.Linear]) -> Packed:
        weight = torch.cat([m.weight.detach().float() for m in linears])
        biases = [m.bias for m in linears]
        bias = None
        if any(b is not None for b in biases):
            bias = torch.cat(
                [
                    b.detach().float() if b is not None else torch.zeros(m.weight.shape[0])
                    for b, m in zip(biases, linears, strict=True)
                ]
            )
        return self._pack(weight, bias)

    def _layer(self, layer: torch.nn.Module, index: int, inner: torch.nn.Module) -> Layer:
        attention, mlp = layer.self_attn, layer.mlp
        qkv = self._fused([attention.q_proj, attention.k_proj, attention.v_proj])
        o = self._pack(attention.o_proj.weight, attention.o_proj.bias)
        gate_up = self._fused([mlp.gate_proj, mlp.up_proj])
        down = self._pack(mlp.down_proj.weight, mlp.down_proj.bias)
        inv_freq, scale = self._rope(inner.rotary_emb, index)
        if self.gemma:
            norms = [layer.input_layernorm, layer.post_attention_layernorm, layer.pre_feedforward_layernorm]
            norms.append(layer.post_feedforward_layernorm)
        else:  # Llama's post_attention_layernorm is the norm before the MLP
            norms = [layer.input_layernorm, None, layer.post_attention_layernorm, None]
        window = getattr(attention, "sliding_window", None) or 0
        return Layer(
            _mat(qkv),
            _mat(o),
            _mat(gate_up),
            _mat(down),
            *[self._norm(n) for n in norms],
            self._norm(getattr(attention, "q_norm", None)),
            self._norm(getattr(attention, "k_norm", None)),
            self._hold(inv_freq),
            scale,
            int(window),
        )

    def _rope(self, rotary: torch.nn.Module, index: int) -> tuple[torch.Tensor, float]:
        layer_type = getattr(self.config, "layer_types", None)
        if self.gemma and layer_type:
            kind = layer_type[index]
            return getattr(rotary, f"{kind}_inv_freq").float(), float(getattr(rotary, f"{kind}_attention_scaling"))
        return rotary.inv_freq.float(), float(getattr(rotary, "attention_scaling", 1.0))

    def session(self, capacity: int) -> NativeSession:
        return NativeSession(self, capacity)

    def claim(self, prompt_tokens: int, new_tokens: int) -> NativeSession:
        """A session for one generation: sessions share the weights, so any number can decode at once."""
        return NativeSession(self, prompt_tokens + new_tokens)


class NativeSession:
    """One generation's KV cache and scratch space; the model's weights are shared and read-only."""

    def __init__(self, native: NativeModel, capacity: int):
        self.native, self.capacity = native, capacity
        n, hd = native, native.head_dim
        widest = max(n.hidden, n.inter, n.heads * hd)
        self._buffers = {
            "k": torch.zeros(len(n.layers), n.kv_heads, capacity, hd),
            "v": torch.zeros(len(n.layers), n.kv_heads, capacity, hd),
            "x": torch.zeros(n.hidden),
            "h": torch.zeros(n.hidden),
            "qkv": torch.zeros((n.heads + 2 * n.kv_heads) * hd),
            "att": torch.zeros(n.heads * hd),
            "gu": torch.zeros(2 * n.inter),
            "scores": torch.zeros(n.heads * capacity),
            "xq": torch.zeros(widest, dtype=torch.int8),
            "xd": torch.zeros(widest // GROUP),
            "xs": torch.zeros(widest // GROUP),
        }
        self.state = State(capacity, 0, *[t.data_ptr() for t in self._buffers.values()])
        self.logits = torch.zeros(1, n.vocab)
        self._step = library().step  # looked up once, not per token

    def prefill(self, ids: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
        """Read the prompt with ``model`` (the loaded float32 decoder) and copy its KV cache in."""
        if ids.shape[1] > self.capacity:
            raise ValueError(f"prompt of {ids.shape[1]} tokens over the session's {self.capacity}")
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
        cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
        length = ids.shape[1]
        for i, layer in enumerate(cache.layers):
            keys, values = layer.keys[0].float(), layer.values[0].float()  # [kv_heads, seen, head_dim]
            seen = keys.shape[1]  # a sliding-window layer keeps only the last positions
            self._buffers["k"][i, :, length - seen : length] = keys
            self._buffers["v"][i, :, length - seen : length] = values
        return out.logits[:, -1, :]

    def step(self, token: torch.Tensor | int, position: int) -> torch.Tensor:
        if position >= self.capacity:
            raise ValueError(f"position {position} past the session's {self.capacity}")
        self._step(
            ctypes.addressof(self.native.struct),
            ctypes.addressof(self.state),
            int(token),
            position,
            self.logits.data_ptr(),
            torch.get_num_threads(),
        )
        return self.logits

    def release(self) -> None:
        self._buffers.clear()


def product(packed: Packed, x: torch.Tensor, float_inputs: bool = False) -> torch.Tensor:
    """y = W x through the C product (input quantized to int8 as in the step, unless
    ``float_inputs``): for tests."""
    rows, cols = packed.d.shape[0], packed.d.shape[1] * GROUP
    x = x.float().contiguous()
    y = torch.zeros(rows)
    scratch = {
        "xq": torch.zeros(cols, dtype=torch.int8),
        "xd": torch.zeros(cols // GROUP),
        "xs": torch.zeros(cols // GROUP),
    }
    state = State(0, int(float_inputs), *[None] * 8, *[t.data_ptr() for t in scratch.values()])
    mat = _mat(packed)
    library().product(ctypes.addressof(mat), x.data_ptr(), y.data_ptr(), ctypes.addressof(state), 1)
    return y
