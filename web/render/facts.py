"""Facts and cost: the facts card (with what the preset says about training) and a training-compute estimate.

The estimate is ``compute.estimate``: C = 6 x N x D FLOPs for N parameters and D training tokens,
and the days that takes on a number of accelerators at a model-FLOPs utilisation. N comes from
the loaded model; D from the lecturer's input, else from the preset's training text where it
states a number of tokens. Where nobody published D, the card says the cost cannot be estimated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from playground.compute import ACCELERATORS, estimate
from playground.errors import PlaygroundError
from playground.facts import WRITERS, ModelFacts, differences
from playground.kinds import Kind
from web.escape import esc
from web.render.common import amount, colour, human_bytes, human_count, model_name, short_label


def _layers(f: ModelFacts) -> str:
    if f.layers is None:
        return "—"
    return f"{f.layers} + {f.decoder_layers} decoder" if f.decoder_layers else str(f.layers)


def _chat(f: ModelFacts) -> str:
    if not f.chat_template:
        return "no"
    return "yes, used by default (instruct)" if f.instruct else "yes, off by default"


def _sees(f: ModelFacts) -> str:
    try:
        return Kind(f.kind).sees
    except ValueError:
        return "—"


def _tuning(f: ModelFacts) -> str:
    if f.kind not in WRITERS:
        return "—"
    return "instruct (chat-tuned)" if f.instruct else "base"


FACT_ROWS = [
    ("kind", lambda f: f.kind),
    ("tuning", _tuning),
    ("parameters", lambda f: human_count(f.parameters)),
    ("layers", _layers),
    ("hidden size", lambda f: f"{f.hidden_size:,}" if f.hidden_size else "—"),
    ("heads / KV heads", lambda f: f"{f.heads or '—'} / {f.kv_heads or '—'}"),
    ("FFN size", lambda f: f"{f.ffn_size:,}" if f.ffn_size else "—"),
    ("context", lambda f: f"{f.context_length:,} tokens" if f.context_length else "no fixed limit"),
    ("vocabulary", lambda f: f"{f.vocab_size:,}" if f.vocab_size else "—"),
    ("tokenizer", lambda f: f.tokenizer),
    ("dtype", lambda f: f.dtype),
    ("weights in memory", lambda f: human_bytes(f.weight_bytes)),
    ("chat template", _chat),
    ("document start", lambda f: f.document_start or "none"),
    ("device", lambda f: f.device),
    ("how it reads", _sees),
]
ROW_OF_DIFFERENCE = {"precision": "dtype"}
"""A ``facts.differences`` fact -> the row that shows it, where their names differ."""


def facts_table(
    labels: Sequence[str],
    facts: Sequence[ModelFacts | None],
    errors: Sequence[str | None],
) -> str:
    """One column per model, one row per fact. Only the facts that differ enough to explain what
    the models did (``facts.differences``: a different kind, tuning, tokenizer or precision, or a
    ratio of at least 1.5) are highlighted, first, each with one line saying why it matters."""
    if not labels:
        return '<div class="pg-empty">Load models to see their facts side by side.</div>'
    head = "".join(
        f'<th scope="col" title="{esc(label)}" style="--pg-accent:{colour(i)}">'
        f'<span class="pg-dot"></span>{esc(short_label(label))}</th>'
        for i, label in enumerate(labels)
    )
    why = {ROW_OF_DIFFERENCE.get(d.fact, d.fact): d.why for d in differences(facts)}
    order = [row for name in why for row in FACT_ROWS if row[0] == name]
    order += [row for row in FACT_ROWS if row[0] not in why]
    rows = []
    for name, read in order:
        values = [read(f) if f is not None else None for f in facts]
        matters = name in why
        cells = []
        for i, value in enumerate(values):
            if value is None:
                text = errors[i] if i < len(errors) and errors[i] else "not loaded"
                cells.append(f'<td class="pg-missing">{esc(text) if name == "kind" else ""}</td>')
            else:
                mark = ' class="pg-differs"' if matters else ""
                cells.append(f"<td{mark}>{esc(value)}</td>")
        if matters:
            rows.append(f'<tr class="pg-matters"><th scope="row">{esc(name)}</th>{"".join(cells)}</tr>')
            rows.append(f'<tr class="pg-why-row"><td colspan="{len(labels) + 1}">↳ {esc(why[name])}</td></tr>')
        else:
            rows.append(f'<tr><th scope="row">{esc(name)}</th>{"".join(cells)}</tr>')
    legend = (
        '<p class="pg-legend-line"><span class="pg-differs">highlighted</span>: a difference that can explain '
        "what the models did (another kind, tuning, tokenizer or precision, or 1.5x or more), with why under it. "
        "Other rows may differ too, by less.</p>"
    )
    return (
        f'<div class="pg-facts">{legend}<table><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


# --- training compute -----------------------------------------------------------------------

_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
_NUMBER = r"(\d[\d,]*(?:\.\d+)?(?:e\d+)?)\s*(thousand|million|billion|trillion|[kmbt])?"
_PUBLISHED = re.compile(_NUMBER + r"\s+(?:training\s+)?tokens\b", re.IGNORECASE)
_TYPED = re.compile(r"^\s*" + _NUMBER + r"\s*(?:tokens)?\s*$", re.IGNORECASE)


def _number(digits: str, scale: str | None) -> float:
    return float(digits.replace(",", "")) * _SCALE.get((scale or "").lower(), 1.0)


def published_tokens(training: str) -> float | None:
    """Training tokens stated in a preset's training text ("2 trillion tokens", "299,892,736,000
    tokens"); None where it states none ("The number of training tokens was not published")."""
    found = _PUBLISHED.search(training or "")
    return _number(*found.groups()) if found else None


def parse_tokens(text: str) -> float | None:
    """Tokens the lecturer typed: "300e9", "300B", "2 trillion", "1,400,000,000,000"; None if blank."""
    if not text or not text.strip():
        return None
    found = _TYPED.match(text)
    if not found or _number(*found.groups()) <= 0:
        raise PlaygroundError(
            f"Training tokens: write a positive number such as 300e9, 300B or 2 trillion (got '{text.strip()[:40]}')."
        )
    return _number(*found.groups())


def scientific(value: float) -> str:
    """1.23 × 10²⁰ for a number of FLOPs."""
    mantissa, exponent = f"{value:.2e}".split("e")
    superscript = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa} × 10{superscript}"


def duration(days: float) -> str:
    """Wall-clock time in the unit a person would say it in."""
    for unit, size in (("years", 365.0), ("days", 1.0), ("hours", 1 / 24), ("minutes", 1 / 1440)):
        if days >= size:
            return f"{days / size:,.1f} {unit}"
    return f"{days * 86_400:.1f} seconds"


def cost_view(
    labels: Sequence[str],
    facts: Sequence[ModelFacts | None],
    training: Sequence[tuple[str, str]],
    tokens: float | None,
    accelerator: str,
    gpus: int,
    utilisation: float,
) -> str:
    """One column per model: what the preset states about its training (and where from), N, D
    (typed, or as the training text states it), C = 6ND, GPU-days and wall-clock time."""
    if not labels:
        return '<div class="pg-empty">Choose models to estimate what training them cost.</div>'
    chip = ACCELERATORS[accelerator]
    rows: dict[str, list[str]] = {name: [] for name in COST_ROWS}
    for text, source in training:
        rows["training data"].append(f'<td class="pg-training">{esc(text)}</td>' if text else NOT_STATED)
        rows["source"].append(f'<td class="pg-training">{esc(source)}</td>' if source else NOT_STATED)
    for f, (text, _) in zip(facts, training, strict=True):
        stated = published_tokens(text)
        d = tokens if tokens is not None else stated
        rows["parameters N"].append(f"<td>{esc(human_count(f.parameters))}</td>" if f else LOAD_FIRST)
        where = "typed" if tokens is not None else "published"
        rows["training tokens D"].append(
            f"<td>{esc(human_count(d))} <small>({where})</small></td>"
            if d is not None
            else '<td class="pg-missing">not published: no estimate (type a number to assume one)</td>'
        )
        run = estimate(f.parameters, d, accelerator, gpus, utilisation) if f and d is not None else None
        rows["compute C = 6ND"].append(f"<td>{esc(scientific(run.flops))} FLOPs</td>" if run else "<td>—</td>")
        rows["GPU-days"].append(f"<td>{amount(run.gpu_days)}</td>" if run else "<td>—</td>")
        rows["wall clock"].append(f"<td><b>{esc(duration(run.days))}</b></td>" if run else "<td>—</td>")
    head = "".join(
        f'<th scope="col" style="--pg-accent:{colour(i)}">{model_name(i, label)}</th>' for i, label in enumerate(labels)
    )
    body = "".join(f'<tr><th scope="row">{esc(name)}</th>{"".join(cells)}</tr>' for name, cells in rows.items())
    return (
        f'<div class="pg-cost"><table><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>'
        f'<p class="pg-legend-line">C = 6 × N × D: each parameter does a multiply-add (2 FLOPs) per token forward '
        "and twice that backward (Kaplan et al., 2020). Wall clock = C ÷ (GPUs × peak × utilisation), here "
        f"{gpus:,} × {esc(accelerator)} at {chip.peak_flops / 1e12:,.0f} TFLOP/s {esc(chip.precision)} "
        f"({esc(chip.source)}) and {utilisation:.0%} utilisation.</p></div>"
    )


COST_ROWS = ("training data", "source", "parameters N", "training tokens D", "compute C = 6ND", "GPU-days")
COST_ROWS += ("wall clock",)
NOT_STATED = '<td class="pg-missing">not stated in the preset</td>'
LOAD_FIRST = '<td class="pg-missing">load the model to count them</td>'
