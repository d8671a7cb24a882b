"""Results as rows, JSON and CSV: one row per model, every number with its unit and its dtype."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence

from playground import export
from playground.compare import Column, Request, Result

# Column name -> unit, in the order tables show them.
COLUMNS = {
    "model": "",
    "kind": "",
    "status": "",
    "prompt tokens": "",  # the name says the unit: "bits per byte (bits)" would say it twice
    "new tokens": "",
    "perplexity": "",
    "bits per byte": "",
    "time to first token": "s",
    "tokens/s": "",
    "total time": "s",
    "load time": "s",
    "weights": "MB",
    "memory growth": "MB",
    "dtype": "",
    "decoded with": "",
}


def _round(value: float | None, digits: int = 3) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(value, digits)


def metric_row(result: Result) -> dict:
    """The numbers of one model, by column name; None where a metric does not apply."""
    facts, gen, score = result.facts, result.generation, result.score
    prompt_tokens = len(gen.prompt.ids) if gen else None
    if prompt_tokens is None and result.text_tokens is not None:
        prompt_tokens = result.text_tokens + (result.special_tokens or 0)
    return {
        "model": result.model,
        "kind": facts.kind if facts else "",
        "status": result.status,
        "prompt tokens": prompt_tokens,
        "new tokens": gen.new_tokens if gen else None,
        "perplexity": _round(score.perplexity, 2) if score else None,
        "bits per byte": _round(score.bits_per_byte) if score else None,
        "time to first token": _round(gen.time_to_first_token_s) if gen else None,
        "tokens/s": _round(gen.decode_tokens_per_s, 1) if gen and gen.new_tokens > 1 else None,
        "total time": _round(gen.total_s) if gen else None,
        "load time": _round(result.load_seconds, 2),
        "weights": _round(facts.weight_bytes / 1e6, 1) if facts else None,
        "memory growth": _round(result.memory_growth_bytes / 1e6, 1) if (result.memory_growth_bytes or 0) > 0 else None,
        "dtype": facts.dtype if facts else "",
        # The fast path may decode with other weights than the ones loaded (playground.fast).
        "decoded with": (gen.precision or "") if gen else "",
    }


def why_missing(result: Result) -> dict[str, str]:
    """For each metric that is empty in a model's row, the reason, to show as a note or tooltip."""
    reasons = dict(result.not_defined)
    if result.error:
        return {"all": result.error}
    if result.score is not None and result.score.kind != "causal":
        reasons["perplexity"] = result.score.note or ""
    if result.generation and result.generation.new_tokens <= 1:
        reasons["tokens/s"] = "decode speed needs at least two new tokens"
    if result.load_cached:
        reasons["load time"] = "already loaded: no load cost on this run"
    growth = result.memory_growth_bytes
    if growth is not None and growth < 0:
        # RSS is the whole process: memory that other work released while this model ran shows as a fall.
        reasons["memory growth"] = (
            f"the process's memory fell by {-growth / 1e6:.1f} MB while this model ran (other work freed memory)"
        )
    return reasons


def to_json(
    results: list[Result],
    request_settings: dict | None = None,
    *,
    request: Request | None = None,
    columns: Sequence[Column | str] | None = None,
    preset: str | None = None,
    producer: str | None = None,
) -> str:
    """The comparison as the versioned JSON export (docs/export-schema.md), per-token detail included.

    ``request_settings`` are the settings as the caller holds them (the page's form); ``request``
    and ``columns``, when given, state the engine's settings and each column's model exactly.
    """
    given = dict(request_settings or {})
    prompt = request.text if request is not None else str(given.get("prompt", given.get("text", "")))
    run = export.PromptRun(prompt, list(results))
    data = export.document([run], columns=columns, request=request, given=given, preset=preset, producer=producer)
    return export.dumps(data)


def to_csv(results: list[Result]) -> str:
    """The metrics table as CSV, one row per model, units in the header."""
    return runs_to_csv([export.PromptRun("", list(results))], with_prompts=False)


def runs_to_csv(runs: Sequence[export.PromptRun], with_prompts: bool = True) -> str:
    """One row per prompt and model: the prompt's number (from 1) and text, the metrics with their
    units in the header, and the output."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = [f"{name} ({unit})" if unit else name for name, unit in COLUMNS.items()]
    writer.writerow((["prompt #", "prompt", *header, "output"]) if with_prompts else header)
    for number, run in enumerate(runs, start=1):
        for result in run.results:
            row = metric_row(result)
            cells = ["" if row[name] is None else row[name] for name in COLUMNS]
            writer.writerow([number, run.prompt, *cells, result.output] if with_prompts else cells)
    return buffer.getvalue()
