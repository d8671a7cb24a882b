"""Facts about a model, read from its config, weights and tokenizer: the causes next to the effects."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
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


# --- which differences explain behaviour ------------------------------------------------------

RATIO = 1.5
"""A numeric fact is worth a highlighted row when one model's value is at least 1.5 x another's:
smaller gaps (576 vs 640 wide) do not explain what a student sees in the outputs."""

_TOKENIZER_SIZE = re.compile(r",\s*([\d,]+) tokens$")
WHAT_IT_DOES = {
    "decoder": "writes text left to right",
    "encoder-decoder": "reads an input, then writes an output",
    "encoder (masked LM)": "fills blanks and writes nothing",
    "encoder (embeddings)": "turns text into vectors and writes nothing",
    "encoder (classifier)": "labels a whole text",
    "encoder (token classifier)": "labels each word",
    "encoder (extractive QA)": "points at an answer inside the text",
}
WRITERS = ("decoder", "encoder-decoder")


@dataclass(frozen=True)
class Difference:
    """One fact on which the models differ enough to explain what they did.

    ``values`` are per model in column order, as shown ("135M"; "—" where a model has no value);
    ``ratio`` is largest / smallest for numeric facts, None for kinds and names; ``why`` is one
    line a lecturer can read out.
    """

    fact: str
    values: tuple[str, ...]
    ratio: float | None
    why: str


def short_name(name: str) -> str:
    """The last part of a model name, without its revision: "openai-community/gpt2@main" -> "gpt2"."""
    return name.split("@")[0].rstrip("/").rsplit("/", 1)[-1] or name


def tokenizer_family(facts: ModelFacts) -> str:
    """The tokenizer's algorithm and style without its size: "byte-level BPE", "WordPiece, uncased"."""
    return _TOKENIZER_SIZE.sub("", facts.tokenizer)


def tokenizer_size(facts: ModelFacts) -> int | None:
    """Entries in the tokenizer's vocabulary (special tokens included), else the config's vocab_size."""
    found = _TOKENIZER_SIZE.search(facts.tokenizer)
    return int(found.group(1).replace(",", "")) if found else facts.vocab_size


def compact(number: float) -> str:
    """A count for a projector: 134,515,008 -> "135M", 262,144 -> "262k", 1.5e9 -> "1.5B", 640 -> "640"."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= scale:
            value = number / scale
            return f"{value:.0f}{suffix}" if value >= 10 else f"{value:.1f}".removesuffix(".0") + suffix
    return f"{number:g}"


def differences(facts_list: Sequence[ModelFacts | None]) -> list[Difference]:
    """The facts that differ enough to matter for what the models did, each with why.

    Rows: a different kind, tuning (instruct vs base, among models that write), tokenizer
    family, or precision; and vocabulary, parameters, layers, hidden size or context where the
    largest is at least ``RATIO`` x the smallest (or one model has no fixed context). Models
    whose facts are missing (a column that failed) show "—" and take no part.
    """
    present = [f for f in facts_list if f is not None]
    if len(present) < 2:
        return []
    rows = []
    kinds = [f.kind for f in present]
    if len(set(kinds)) > 1:
        does = "; ".join(f"{kind}: {WHAT_IT_DOES.get(kind, kind)}" for kind in dict.fromkeys(kinds))
        rows.append(Difference("kind", _values(facts_list, lambda f: f.kind), None, does[0].upper() + does[1:] + "."))
    writers = [f for f in present if f.kind in WRITERS]
    if len({f.instruct for f in writers}) > 1:
        tuned = ", ".join(short_name(f.name) for f in writers if f.instruct)
        base = ", ".join(short_name(f.name) for f in writers if not f.instruct)
        values = _values(facts_list, lambda f: ("instruct" if f.instruct else "base") if f.kind in WRITERS else "—")
        why = f"{tuned}: tuned to answer inside a chat template; {base}: continues the text it is given."
        rows.append(Difference("tuning", values, None, why))
    if len({tokenizer_family(f) for f in present}) > 1:
        why = "The same text is cut into different tokens: perplexity does not compare, bits per byte does."
        rows.append(Difference("tokenizer", _values(facts_list, tokenizer_family), None, why))
    numeric = [
        ("vocabulary", lambda f: f.vocab_size, "{big} usually needs fewer tokens for the same text."),
        ("parameters", lambda f: f.parameters, "{big} can store more, and needs more memory and time per token."),
        ("layers", lambda f: f.layers, "{big} passes each token through more steps, one after another."),
        ("hidden size", lambda f: f.hidden_size, "{big} carries a wider vector per token through every layer."),
    ]
    for fact, read, consequence in numeric:
        row = _ratio_row(facts_list, fact, read, consequence)
        if row is not None:
            rows.append(row)
    context = _context_row(facts_list)
    if context is not None:
        rows.append(context)
    if len({f.dtype for f in present}) > 1:
        why = "Fewer bytes per weight: less memory, and slightly different numbers."
        rows.append(Difference("precision", _values(facts_list, lambda f: f.dtype), None, why))
    return rows


def _values(facts_list: Sequence[ModelFacts | None], read) -> tuple[str, ...]:
    return tuple("—" if f is None else str(read(f)) for f in facts_list)


def _spread(numbers: Sequence[float | None]) -> float:
    known = [n for n in numbers if n]
    return max(known) / min(known) if len(known) > 1 else 1.0


def _ratio_row(facts_list, fact: str, read, consequence: str) -> Difference | None:
    present = [f for f in facts_list if f is not None and read(f)]
    ratio = _spread([read(f) for f in present])
    if ratio < RATIO:
        return None
    big = max(present, key=read)
    values = _values(facts_list, lambda f: compact(read(f)) if read(f) else "—")
    shown = " vs ".join(v for v in values if v != "—")
    return Difference(fact, values, ratio, f"{shown} {fact}: " + consequence.format(big=short_name(big.name)))


def _context_row(facts_list) -> Difference | None:
    """Longest input each model reads; a model with relative positions has no fixed limit."""
    present = [f for f in facts_list if f is not None]
    contexts = [f.context_length for f in present]
    unlimited = None in contexts and any(contexts)
    if not unlimited and _spread(contexts) < RATIO:
        return None
    longest = max(present, key=lambda f: f.context_length or float("inf"))
    values = _values(facts_list, lambda f: "no fixed limit" if f.context_length is None else f"{f.context_length:,}")
    shown = " vs ".join(v for v in values if v != "—")
    why = f"{shown} tokens of context: {short_name(longest.name)} can read the longest prompt."
    return Difference("context", values, None if unlimited else _spread(contexts), why)
