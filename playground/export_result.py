"""One model on one prompt as the export writes it: where the model comes from, its precision,
outputs, score (with what the perplexity covers) and metrics with units. These are the items of
``results`` in docs/export-schema.md.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass

from playground.compare import Column, Result
from playground.errors import PlaygroundError

# The facts each result carries, by name; a new field of ModelFacts is exported once it is added here.
FACT_FIELDS = (
    "name",
    "kind",
    "architecture",
    "model_type",
    "parameters",
    "layers",
    "decoder_layers",
    "hidden_size",
    "heads",
    "kv_heads",
    "ffn_size",
    "context_length",
    "vocab_size",
    "tokenizer",
    "dtype",
    "device",
    "weight_bytes",
    "instruct",
    "chat_template",
    "document_start",
)

# What each kind of score's perplexity is of.
COVERS = {
    "causal": "the prompt, read as a document from its start",
    "conditional": "the target, given the prompt as the source",
    "pseudo": "the prompt, each token masked in turn and predicted from both sides",
}


def source(reference: str) -> dict | None:
    """Where a reference's weights come from, or None if it does not parse (the column's error says why)."""
    from playground.packaged import PACKAGED
    from playground.references import parse_reference

    try:
        ref = parse_reference(reference)
    except PlaygroundError:
        return None
    package = None
    if ref.source == "packaged":
        packaged = PACKAGED[ref.name]
        package = f"{packaged.package}=={packaged.version()}" if packaged.installed() else packaged.package
    return {"type": ref.source, "name": ref.name, "revision": ref.revision, "package": package}


def result_entry(index: int, prompt: str, result: Result, column: Column | None) -> dict:
    """One model on one prompt."""
    column = column or Column(result.model)
    gen, score, facts = result.generation, result.score, result.facts
    return {
        "prompt_index": index,
        "prompt": prompt,
        "model": result.model,
        "reference": column.reference,
        "source": source(column.reference),
        "column": {"use_chat_template": column.use_chat_template, "do_sample": column.do_sample},
        "status": result.status,
        "error": result.error,
        "kind": facts.kind if facts else None,
        "precision": {
            "dtype": facts.dtype if facts else (score.dtype if score else None),
            "decoded_with": gen.precision if gen else None,
            "decode_method": gen.decode_method if gen else None,
        },
        "output": result.output,
        "facts": {name: getattr(facts, name) for name in FACT_FIELDS} if facts else None,
        "text_tokens": result.text_tokens,
        "special_tokens": result.special_tokens,
        "characters_per_token": result.characters_per_token,
        "tokens_per_word": result.tokens_per_word,
        "generation": _generation(gen),
        "score": _score(score),
        "metrics": metrics(result),
        "load_cached": result.load_cached,
        "fill_mask": plain(result.fill_mask),
        "embeddings": plain(result.embeddings),
        "task": (
            {"name": result.task, "seconds": result.task_seconds, "result": plain(result.task_result)}
            if result.task
            else None
        ),
    }


def metrics(result: Result) -> dict:
    """Every metric with its unit (SI: seconds, bytes) and, where it is empty, why."""
    from playground.report import why_missing

    gen, score, facts = result.generation, result.score, result.facts
    reasons = why_missing(result)
    prompt_tokens = len(gen.prompt.ids) if gen else None
    if prompt_tokens is None and result.text_tokens is not None:
        prompt_tokens = result.text_tokens + (result.special_tokens or 0)
    values = {
        "prompt_tokens": (prompt_tokens, "tokens", "prompt tokens"),
        "new_tokens": (gen.new_tokens if gen else None, "tokens", "new tokens"),
        "perplexity": (score.perplexity if score else None, None, "perplexity"),
        "bits_per_byte": (score.bits_per_byte if score else None, "bits/byte", "bits per byte"),
        "time_to_first_token": (gen.time_to_first_token_s if gen else None, "s", "time to first token"),
        "decode_speed": (
            gen.decode_tokens_per_s if gen and gen.new_tokens > 1 else None,
            "tokens/s",
            "tokens/s",
        ),
        "total_time": (gen.total_s if gen else None, "s", "total time"),
        "load_time": (result.load_seconds, "s", "load time"),
        "weights": (facts.weight_bytes if facts else None, "bytes", "weights"),
        "memory_growth": (result.memory_growth_bytes, "bytes", "memory growth"),
        "peak_memory": (result.peak_memory_bytes, "bytes", "peak memory"),
    }
    # Metrics that share a cause share its reason: no perplexity, no bits per byte; no first token, no speed.
    related = {
        "bits_per_byte": "perplexity",
        "new_tokens": "time to first token",
        "decode_speed": "time to first token",
    }
    related["total_time"] = "time to first token"
    out = {}
    for key, (value, unit, shown) in values.items():
        missing = None
        if value is None:
            missing = (
                reasons.get("all")
                or reasons.get(shown)
                or reasons.get(related.get(key, ""))
                or _default_reason(key, result)
            )
        out[key] = {"value": value, "unit": unit, "missing": missing}
    if score is not None:
        out["perplexity"]["covers"] = COVERS.get(score.kind, score.kind)
    return out


def _default_reason(key: str, result: Result) -> str:
    if result.status not in ("done", "stopped"):
        return f"the model is {result.status}"
    if key == "peak_memory":
        return "peak memory is measured on a GPU only; on a CPU see memory growth"
    if key in ("new_tokens", "time_to_first_token", "total_time", "decode_speed"):
        return "this model does not generate text for this request"
    return "not measured for this kind of model"


def _generation(gen) -> dict | None:
    if gen is None:
        return None
    return {
        "new_tokens": gen.new_tokens,
        "stop_reason": gen.stop_reason,
        "time_to_first_token_s": gen.time_to_first_token_s,
        "decode_tokens_per_s": gen.decode_tokens_per_s,
        "total_s": gen.total_s,
        "first_call": gen.first_call,
        "note": gen.note,
        "precision": gen.precision,
        "decode_method": gen.decode_method,
        "prompt_tokens": len(gen.prompt.ids),
        "chat_template": gen.prompt.chat_template,
        "rendered_prompt": gen.prompt.rendered,
    }


def _score(score) -> dict | None:
    if score is None:
        return None
    return {
        "kind": score.kind,
        "perplexity": score.perplexity,
        "bits_per_byte": score.bits_per_byte,
        "total_nll_nats": score.total_nll_nats,
        "scored_tokens": score.scored_tokens,
        "scored_bytes": score.scored_bytes,
        "covers": {
            "text": COVERS.get(score.kind, score.kind),
            "document_start": score.document_start,
            "window": score.window,
            "stride": score.stride,
            "windows": score.windows,
        },
        "dtype": score.dtype,
        "note": score.note,
        "tokens": [
            {
                "token": t.token,
                "start": t.start,
                "end": t.end,
                "surprisal_bits": t.surprisal_bits,
                "rank": t.rank,
                "probability": t.probability,
            }
            for t in score.tokens
        ],
    }


def plain(value):
    """Dataclasses, tuples and mappings as JSON data (lists and objects)."""
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, numbers.Integral):  # numpy integers and floats too
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return str(value)
