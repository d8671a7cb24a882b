"""Facts about a model, read from its config, weights and tokenizer: the causes next to the effects."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from playground.kinds import Kind


@dataclass(frozen=True)
class ModelFacts:
    """What explains a model's behaviour: architecture, size, tokenizer and numeric precision."""

    name: str
    kind: str
    architecture: str
    model_type: str
    parameters: int
    layers: int | None
    decoder_layers: int | None  # encoder-decoders only
    hidden_size: int | None
    heads: int | None
    kv_heads: int | None
    ffn_size: int | None
    context_length: int | None  # None: relative positions, no fixed limit in the config
    vocab_size: int | None
    tokenizer: str
    dtype: str
    device: str
    weight_bytes: int
    instruct: bool
    chat_template: bool
    document_start: str | None

    def as_dict(self) -> dict:
        return asdict(self)


def _first(config, *names):
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def context_length(config, tokenizer=None) -> int | None:
    """Longest input the model was built for: its position table, else the tokenizer's limit."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    n = _first(text, "max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length")
    if n is None and tokenizer is not None and 0 < getattr(tokenizer, "model_max_length", 0) < 1_000_000:
        n = tokenizer.model_max_length
    return n


def weight_bytes(model) -> int:
    """Bytes of the parameters as held in memory: parameters x bytes per element of their dtype.

    Tied weights (input and output embeddings sharing one matrix) count once. Buffers such as
    rotary tables are left out: they are small and not weights.
    """
    return sum(p.numel() * p.element_size() for p in model.parameters())


def tokenizer_type(tokenizer) -> str:
    """A short description: algorithm (BPE, WordPiece, Unigram), byte-level or byte-fallback, vocabulary."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return f"{type(tokenizer).__name__} (SentencePiece), {len(tokenizer):,} tokens"
    spec = json.loads(backend.to_str())
    model = spec.get("model", {})
    algorithm = model.get("type", "?")
    dumped = json.dumps(spec.get("pre_tokenizer")) + json.dumps(spec.get("decoder"))
    if "ByteLevel" in dumped:
        style = "byte-level "
    elif model.get("byte_fallback"):
        style = "SentencePiece-style, byte fallback, "
    elif "Metaspace" in dumped:
        style = "SentencePiece-style "
    else:
        style = ""
    cased = "" if not _lowercases(spec) else ", uncased"
    return f"{style}{algorithm}{cased}, {len(tokenizer):,} tokens"


def _lowercases(spec: dict) -> bool:
    normalizer = json.dumps(spec.get("normalizer"))
    return '"lowercase": true' in normalizer or '"Lowercase"' in normalizer


def _ffn_size(config) -> int | None:
    """Width of the feed-forward layer; GPT-2-style configs leave it unset, meaning 4 x hidden."""
    size = _first(config, "intermediate_size", "n_inner", "d_ff", "ffn_dim", "encoder_ffn_dim", "hidden_dim", "dff")
    hidden = _first(config, "hidden_size", "n_embd", "d_model")
    if size is None and hidden and getattr(config, "model_type", "") in ("gpt2", "openai-gpt"):
        return 4 * hidden
    return size


def read_facts(name, kind: Kind, model, tokenizer, *, instruct: bool, document_start: str | None) -> ModelFacts:
    config = model.config
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    heads = _first(text, "num_attention_heads", "n_head", "num_heads", "encoder_attention_heads")
    decoder_layers = _first(text, "num_decoder_layers", "decoder_layers") if kind is Kind.ENCODER_DECODER else None
    return ModelFacts(
        name=name,
        kind=kind.value,
        architecture=type(model).__name__,
        model_type=getattr(config, "model_type", "?"),
        parameters=sum(p.numel() for p in model.parameters()),
        layers=_first(
            text,
            "num_hidden_layers",
            "n_layer",
            "num_layers",
            "encoder_layers",
            "n_layers",
        ),
        decoder_layers=decoder_layers,
        hidden_size=_first(text, "hidden_size", "n_embd", "d_model", "dim"),
        heads=heads,
        kv_heads=_first(text, "num_key_value_heads") or heads,
        ffn_size=_ffn_size(text),
        context_length=context_length(config, tokenizer),
        vocab_size=_first(text, "vocab_size"),
        tokenizer=tokenizer_type(tokenizer),
        dtype=str(next(model.parameters()).dtype).removeprefix("torch."),
        device=str(next(model.parameters()).device),
        weight_bytes=weight_bytes(model),
        instruct=instruct,
        chat_template=bool(getattr(tokenizer, "chat_template", None)),
        document_start=document_start,
    )


def short_name(name: str) -> str:
    """The last part of a model name, without its revision: "openai-community/gpt2@main" -> "gpt2"."""
    return name.split("@")[0].rstrip("/").rsplit("/", 1)[-1] or name
