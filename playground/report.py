"""Results as rows, JSON and CSV: one row per model, every number with its unit and its dtype."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict

from playground.compare import Result

# Column name -> unit, in the order tables show them.
COLUMNS = {
    "model": "",
    "kind": "",
    "status": "",
    "prompt tokens": "tokens",
    "new tokens": "tokens",
    "perplexity": "",
    "bits per byte": "bits",
    "time to first token": "s",
    "tokens/s": "tok/s",
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
        "status": result.status if not result.error else "error",
        "prompt tokens": prompt_tokens,
        "new tokens": gen.new_tokens if gen else None,
        "perplexity": _round(score.perplexity, 2) if score else None,
        "bits per byte": _round(score.bits_per_byte) if score else None,
        "time to first token": _round(gen.time_to_first_token_s) if gen else None,
        "tokens/s": _round(gen.decode_tokens_per_s, 1) if gen and gen.new_tokens > 1 else None,
        "total time": _round(gen.total_s) if gen else None,
        "load time": _round(result.load_seconds, 2),
        "weights": _round(facts.weight_bytes / 1e6, 1) if facts else None,
        "memory growth": _round(result.memory_growth_bytes / 1e6, 1) if result.memory_growth_bytes else None,
        "dtype": facts.dtype if facts else "",
        # The fast path may decode with other weights than the ones loaded (playground.speed).
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
    return reasons


def to_json(results: list[Result], request: dict | None = None) -> str:
    """The whole comparison, every field, as JSON (per-token detail included)."""
    payload = {"request": request or {}, "results": [asdict(r) for r in results]}
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str)


def to_csv(results: list[Result]) -> str:
    """The metrics table as CSV, one row per model, units in the header."""
    buffer = io.StringIO()
    header = [f"{name} ({unit})" if unit else name for name, unit in COLUMNS.items()]
    writer = csv.writer(buffer)
    writer.writerow(header)
    for result in results:
        row = metric_row(result)
        writer.writerow(["" if row[name] is None else row[name] for name in COLUMNS])
    return buffer.getvalue()


def format_table(results: list[Result]) -> str:
    """A plain-text table for the terminal."""
    rows = [metric_row(r) for r in results]
    names = [n for n in COLUMNS if any(row[n] not in (None, "") for row in rows)]
    cells = [[n + (f" ({COLUMNS[n]})" if COLUMNS[n] else "") for n in names]]
    cells += [["—" if row[n] is None else str(row[n]) for n in names] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(names))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
