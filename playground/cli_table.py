"""The command line's text output: each prompt's outputs, then its metrics with models as columns,
then why the models differ.

A metric is a row whose label carries its unit ("time to first token (ms)"); numbers are right-
aligned with a fixed number of decimals per row. An empty cell is "—" with a footnote mark, and
the reason is printed under the table, once per distinct reason. Under that, one bullet per cause
of ``why.explain``, wrapped to the table's width.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from playground import export, export_result
from playground.causes import Cause
from playground.compare import Result
from playground.report import why_missing

WIDTH = 100
LABEL_WIDTH = 24
GAP = 2
EMPTY = "—"
BULLET = "• "


@dataclass(frozen=True)
class Row:
    """A metric row: ``key`` in ``export.metrics``, multiplied by ``factor`` and shown with ``decimals``."""

    label: str
    key: str
    factor: float = 1.0
    decimals: int = 0


NUMBER_ROWS = (
    Row("prompt tokens", "prompt_tokens"),
    Row("new tokens", "new_tokens"),
    Row("perplexity of the prompt", "perplexity", decimals=2),
    Row("bits per byte", "bits_per_byte", decimals=3),
    Row("time to first token (ms)", "time_to_first_token", 1000),
    Row("decode speed (tokens/s)", "decode_speed", decimals=1),
    Row("total time (s)", "total_time", decimals=2),
    Row("load time (s)", "load_time", decimals=2),
    Row("weights (MB)", "weights", 1e-6, 1),
    Row("memory growth (MB)", "memory_growth", 1e-6, 1),
    Row("peak GPU memory (MB)", "peak_memory", 1e-6, 1),
)
TEXT_ROWS: dict[str, Callable[[Result], str | None]] = {
    "kind": lambda r: r.facts.kind if r.facts else None,
    "status": lambda r: r.status,
    "dtype": lambda r: r.facts.dtype if r.facts else None,
    "decoded with": lambda r: r.generation.precision if r.generation else None,
}


class Footnotes:
    """Numbered reasons: the same reason gets the same number wherever it is used."""

    def __init__(self) -> None:
        self.reasons: dict[str, int] = {}

    def mark(self, reason: str) -> str:
        number = self.reasons.setdefault(reason, len(self.reasons) + 1)
        return f"[{number}]"

    def lines(self, width: int) -> list[str]:
        out = []
        for reason, number in self.reasons.items():
            out += textwrap.wrap(reason, width, initial_indent=f"[{number}] ", subsequent_indent=" " * 4)
        return out


def format_runs(
    runs: Sequence[export.PromptRun], width: int = WIDTH, why: Sequence[Sequence[Cause]] | None = None
) -> str:
    """Every prompt: its number and text, each model's output, the metrics table and, when ``why``
    holds each prompt's causes, why the models differ."""
    blocks = []
    for number, run in enumerate(runs, start=1):
        title = f"Prompt {number} of {len(runs)}: " if len(runs) > 1 else "Prompt: "
        blocks.append(_wrap(" ".join(run.prompt.split()), width, title, " " * 4))
        for result in run.results:
            blocks.append(format_output(result, width))
        blocks.append(format_table(run.results, width))
        if why is not None and why[number - 1]:
            blocks.append(format_why(why[number - 1], table_width(len(run.results), width)))
    return "\n\n".join(blocks)


def format_why(causes: Sequence[Cause], width: int = WIDTH) -> str:
    """ "Why they differ", then one bullet per cause, its sentence wrapped to ``width``."""
    lines = ["Why they differ:"]
    for cause in causes:
        lines += textwrap.wrap(cause.sentence, width, initial_indent=BULLET, subsequent_indent=" " * len(BULLET))
    return "\n".join(lines)


def table_width(models: int, width: int = WIDTH) -> int:
    """Characters the metrics table of ``models`` columns takes, at most ``width``."""
    return min(width, LABEL_WIDTH + (_column_width(models, width) + GAP) * models)


def _column_width(models: int, width: int) -> int:
    return max(10, (width - LABEL_WIDTH) // models - GAP)


def format_output(result: Result, width: int = WIDTH) -> str:
    """A model's label, then its output (or error) indented under it, wrapped to ``width``."""
    lines = [f"== {result.model}"]
    text = result.error if result.status == "error" else (result.output or "(no output)")
    for paragraph in text.splitlines() or [""]:
        lines.append(_wrap(paragraph, width, "   ", "   ") if paragraph.strip() else "")
    if result.status == "stopped" and result.error:
        lines.append(_wrap(result.error, width, "   note: ", "   "))
    if result.generation and result.generation.note:
        lines.append(_wrap(result.generation.note, width, "   note: ", "   "))
    return "\n".join(lines)


def format_table(results: Sequence[Result], width: int = WIDTH) -> str:
    """The metrics of one prompt: a row per metric, a column per model, footnotes under it."""
    notes = Footnotes()
    column = _column_width(len(results), width)
    header = _header([r.model for r in results], column)
    rows = [_text_row(label, get, results, column, notes) for label, get in list(TEXT_ROWS.items())[:2]]
    values = [export_result.metrics(r) for r in results]
    for row in NUMBER_ROWS:
        if row.key == "peak_memory" and all(v[row.key]["value"] is None for v in values):
            continue  # measured on a GPU only: a row of empty cells would say nothing on a CPU
        rows.append(_number_row(row, results, values, column, notes))
    rows += [_text_row(label, get, results, column, notes) for label, get in list(TEXT_ROWS.items())[2:]]
    lines = header + ["-" * table_width(len(results), width)]
    for cells in rows:
        lines += _lay_out(cells, column)
    lines += _explain_scores(results, width)
    lines += notes.lines(width)
    return "\n".join(lines)


def _header(labels: list[str], column: int) -> list[str]:
    wrapped = [textwrap.wrap(label, column, break_on_hyphens=False)[:3] or [""] for label in labels]
    height = max(len(w) for w in wrapped)
    return [
        " " * LABEL_WIDTH + "".join(" " * GAP + (w[i] if i < len(w) else "").ljust(column) for w in wrapped).rstrip()
        for i in range(height)
    ]


def _number_row(row: Row, results: Sequence[Result], values: list[dict], column: int, notes: Footnotes) -> list:
    cells = [row.label]
    for result, metrics in zip(results, values, strict=True):
        entry = metrics[row.key]
        fell = row.key == "memory_growth" and (entry["value"] or 0) < 0  # freed by other work: no growth to show
        if entry["value"] is None or fell:
            reason = why_missing(result).get("all") or why_missing(result).get("memory growth" if fell else "")
            reason = reason or entry["missing"] or "not measured"
            cells.append(("right", f"{EMPTY}{notes.mark(reason)}"))
            continue
        text = f"{entry['value'] * row.factor:,.{row.decimals}f}"
        if row.key == "perplexity" and result.score is not None and result.score.kind != "causal":
            text = f"{notes.mark(result.score.note or 'not the perplexity of the prompt')} {text}"
        cells.append(("right", text))
    return cells


def _text_row(label: str, get, results: Sequence[Result], column: int, notes: Footnotes) -> list:
    cells = [label]
    for result in results:
        value = get(result)
        if label == "status" and result.status == "error":
            value = f"error{notes.mark(result.error or 'failed')}"
        elif not value:
            reason = why_missing(result).get("all") or export_result.metrics(result)["new_tokens"]["missing"]
            value = f"{EMPTY}{notes.mark(reason)}" if label == "decoded with" and reason else EMPTY
        cells.append(("left", value))
    return cells


def _lay_out(cells: list, column: int) -> list[str]:
    """One table row; a long text cell wraps onto the next lines of its own column."""
    label, values = cells[0], cells[1:]
    wrapped = [textwrap.wrap(text, column) or [""] for _, text in values]
    height = max(len(w) for w in wrapped)
    lines = []
    for i in range(height):
        line = (label if i == 0 else "").ljust(LABEL_WIDTH)
        for (align, _), pieces in zip(values, wrapped, strict=True):
            piece = pieces[i] if i < len(pieces) else ""
            line += " " * GAP + (piece.rjust(column) if align == "right" else piece.ljust(column))
        lines.append(line.rstrip())
    return lines


def _explain_scores(results: Sequence[Result], width: int) -> list[str]:
    """What the perplexity row measures, with each model's document-start token."""
    starts = [
        f"{r.model.split(' (')[0]}: {r.score.document_start}"
        for r in results
        if r.score is not None and r.score.kind == "causal" and r.score.document_start
    ]
    if not starts:
        return []
    text = (
        "Perplexity and bits per byte are of the prompt read as a document, with the model's document-start "
        f"token in front ({'; '.join(starts)}). Perplexity counts each model's own tokens, so it is not comparable "
        "across tokenizers; bits per byte is."
    )
    return textwrap.wrap(text, width)


def _wrap(text: str, width: int, first: str, rest: str) -> str:
    return "\n".join(textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest)) or first.rstrip()
