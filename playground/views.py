"""What the web page shows, as plain HTML, markdown and tables: no Gradio here.

Every function takes engine results (``compare.Result``, ``facts.ModelFacts``, presets) and
returns a string, so the page can be checked in a test or a notebook
without a browser. Text that comes from users or models is escaped before it reaches HTML.
The models are a list: every view handles two or three of them the same way.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import PurePath

from playground import report
from playground.compare import Result
from playground.encoders import MASK_SPELLINGS
from playground.facts import ModelFacts
from playground.kinds import Kind
from playground.presets import Preset

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies and on projectors.
SLOT_COLOURS = ("#0072B2", "#D55E00", "#009E73")
SURPRISAL_SCALE_BITS = 16.0  # surprisal at which a token gets the strongest colour
STATUS_TEXT = {"idle": "idle", "loading": "loading", "running": "running", "done": "done", "error": "error"}


def esc(text: object) -> str:
    """HTML-escape text, including the characters Gradio's HTML templates would interpret."""
    escaped = html.escape(str(text), quote=True)
    return escaped.replace("$", "&#36;").replace("{", "&#123;").replace("}", "&#125;").replace("`", "&#96;")


def short_label(label: str) -> str:
    """A column name fit for a header: a local folder by its last part, a Hub id as is."""
    name, sep, suffix = label.partition(" (")
    if "/" in name and (name.startswith(("/", "~", ".")) or "\\" in name):
        name = PurePath(name).name
    return f"{name}{sep}{suffix}"


def human_count(n: int | None) -> str:
    if n is None:
        return "—"
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return str(n)


def human_bytes(n: int | None) -> str:
    if n is None:
        return "—"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}" if unit == "GB" else f"{n / size:.1f} {unit}"
    return f"{n} B"


# --- presets -------------------------------------------------------------------------------


def preset_choices(presets: dict[str, Preset]) -> list[tuple[str, str]]:
    """Dropdown entries: (title — purpose, preset name)."""
    return [(f"{p.title} — {p.purpose}", name) for name, p in presets.items()]


def preset_slots(preset: Preset, slots: int = 3) -> list[str]:
    ids = [m.id for m in preset.models]
    return ids + [""] * (slots - len(ids))


def preset_markdown(preset: Preset) -> str:
    """The preset's purpose, each model's note and training facts, and the lecturer's notes."""
    lines = [f"**{preset.purpose}**", ""]
    for i, model in enumerate(preset.models, start=1):
        line = f"{i}. `{model.id}`"
        if model.use_chat_template is not None:
            line += f" ({'with' if model.use_chat_template else 'without'} its chat template)"
        if model.note:
            line += f" — {model.note}"
        if model.training:
            line += f" *Training: {model.training}" + (f" ({model.source})*" if model.source else "*")
        lines.append(line)
    if preset.notes:
        lines += ["", preset.notes]
    if not preset.offline and preset.offline_alternative:
        lines += ["", f"*Needs the Hugging Face Hub. {preset.offline_alternative}*"]
    return "\n".join(lines)


# --- model facts ---------------------------------------------------------------------------


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


FACT_ROWS = [
    ("kind", lambda f: f.kind),
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


def facts_table(labels: Sequence[str], facts: Sequence[ModelFacts | None], errors: Sequence[str | None]) -> str:
    """One column per model, one row per fact; a fact that differs between models is highlighted."""
    if not labels:
        return '<div class="pg-empty">Load models to see their facts side by side.</div>'
    head = "".join(
        f'<th scope="col" title="{esc(label)}" style="--pg-accent:{SLOT_COLOURS[i]}">'
        f'<span class="pg-dot"></span>{esc(short_label(label))}</th>'
        for i, label in enumerate(labels)
    )
    rows = []
    known = [f for f in facts if f is not None]
    for name, read in FACT_ROWS:
        values = [read(f) if f is not None else None for f in facts]
        differs = len(known) > 1 and len({v for v in values if v is not None}) > 1
        cells = []
        for i, value in enumerate(values):
            if value is None:
                text = errors[i] if i < len(errors) and errors[i] else "not loaded"
                cells.append(f'<td class="pg-missing">{esc(text) if name == "kind" else ""}</td>')
            else:
                mark = ' class="pg-differs"' if differs else ""
                cells.append(f"<td{mark}>{esc(value)}</td>")
        flag = ' <span class="pg-differs-flag" title="differs between the models">≠</span>' if differs else ""
        rows.append(f'<tr><th scope="row">{esc(name)}{flag}</th>{"".join(cells)}</tr>')
    legend = '<p class="pg-legend-line"><span class="pg-differs">highlighted</span>: differs between the models.</p>'
    return (
        f'<div class="pg-facts"><table><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>{legend}</div>"
    )


def input_guide(labels: Sequence[str], facts: Sequence[ModelFacts | None]) -> str:
    """Markdown: what each loaded model does with the two text boxes, by its kind."""
    lines = []
    for label, f in zip(labels, facts, strict=True):
        if f is None:
            continue
        name = f"**{short_label(label)}**"
        if f.kind == Kind.DECODER:
            how = "continues the prompt" + (" (wrapped in its chat template: it answers)" if f.instruct else "")
            lines.append(f"- {name} ({f.kind}): {how}; perplexity is of the prompt text.")
        elif f.kind == Kind.ENCODER_DECODER:
            lines.append(
                f"- {name} ({f.kind}): reads the prompt as a source and writes an output; put a reference "
                "output in *Target / second sentence* to get its conditional perplexity."
            )
        elif f.kind == Kind.MASKED_LM:
            lines.append(f"- {name} ({f.kind}): fills each [MASK] in the prompt; pseudo-perplexity of the sentence.")
        elif f.kind == Kind.ENCODER:
            lines.append(
                f"- {name} ({f.kind}): turns each line or sentence of the prompt, and the *second sentence*, "
                "into a vector and shows their cosine similarity."
            )
        else:
            lines.append(f"- {name} ({f.kind}): not a text generator; the playground shows its facts only.")
    return "\n".join(lines)


# --- one column per model ------------------------------------------------------------------


def idle_column(index: int, label: str = "") -> str:
    title = esc(short_label(label)) if label else f"Model {index + 1}"
    return (
        f'<div class="pg-col" data-status="idle" style="--pg-accent:{SLOT_COLOURS[index]}">'
        f'<div class="pg-col-head"><span class="pg-dot"></span><span class="pg-model">{title}</span>'
        f"{badge('idle')}</div>"
        '<div class="pg-placeholder">Press Run to see this model\'s output here.</div></div>'
    )


def badge(status: str) -> str:
    return f'<span class="pg-badge pg-badge-{esc(status)}" data-status="{esc(status)}">{STATUS_TEXT[status]}</span>'


def column(index: int, result: Result, progress: str | None = None) -> str:
    """One model's card: status badge, output (streamed), notes, error, and the prompt it saw."""
    parts = [
        f'<div class="pg-col-head"><span class="pg-dot"></span>'
        f'<span class="pg-model" title="{esc(result.model)}">{esc(short_label(result.model))}</span>'
        f"{badge(result.status)}</div>"
    ]
    if result.facts:
        parts.append(
            f'<div class="pg-kind">{esc(result.facts.kind)} · {esc(human_count(result.facts.parameters))}'
            f" parameters · {esc(result.facts.dtype)}</div>"
        )
    if result.status == "loading":
        parts.append(f'<div class="pg-progress">{esc(progress or "loading the model…")}</div>')
    if result.error:
        parts.append(f'<div class="pg-error" role="alert">{esc(result.error)}</div>')
    if result.output:
        cursor = '<span class="pg-cursor">▍</span>' if result.status == "running" else ""
        parts.append(f'<div class="pg-output">{esc(result.output)}{cursor}</div>')
    elif result.status == "running":
        parts.append('<div class="pg-placeholder">waiting for the first token…</div>')
    parts += _kind_details(result)
    parts += _generation_details(result)
    return (
        f'<div class="pg-col" data-status="{esc(result.status)}" style="--pg-accent:{SLOT_COLOURS[index]}">'
        f"{''.join(parts)}</div>"
    )


def _generation_details(result: Result) -> list[str]:
    gen = result.generation
    if gen is None:
        return []
    parts = []
    if gen.note:
        parts.append(f'<div class="pg-note">{esc(gen.note)}</div>')
    if result.status == "done" and not gen.text and not gen.note:
        parts.append('<div class="pg-note">The model produced no visible text (only special tokens).</div>')
    stats = [f"{gen.new_tokens} new tokens", f"stopped: {gen.stop_reason}"]
    stats.append(f"first token {gen.time_to_first_token_s:.2f} s")
    if gen.new_tokens > 1:
        stats.append(f"{gen.decode_tokens_per_s:.1f} tokens/s")
    if gen.first_call:
        stats.append("first call after loading (includes warm-up)")
    parts.append(f'<div class="pg-stats">{esc(" · ".join(stats))}</div>')
    how = "with its chat template" if gen.prompt.chat_template else "plain text after the document-start token"
    parts.append(
        f'<details class="pg-prompt"><summary>Prompt as the model sees it ({len(gen.prompt.ids)} tokens, '
        f"{how})</summary><pre>{esc(gen.prompt.rendered)}</pre></details>"
    )
    return parts


def _kind_details(result: Result) -> list[str]:
    parts = []
    if result.fill_mask:
        for n, blank in enumerate(result.fill_mask.blanks, start=1):
            rows = "".join(f"<tr><td>{esc(c.token)}</td><td>{c.probability:.1%}</td></tr>" for c in blank)
            parts.append(f'<table class="pg-small"><caption>blank {n}</caption>{rows}</table>')
    if result.embeddings and len(result.embeddings.sentences) > 1:
        emb = result.embeddings
        names = [f"S{i + 1}" for i in range(len(emb.sentences))]
        head = "".join(f"<th>{n}</th>" for n in names)
        rows = "".join(
            f'<tr><th title="{esc(s)}">{names[i]}</th>'
            + "".join(f"<td>{v:.3f}</td>" for v in emb.similarity[i])
            + "</tr>"
            for i, s in enumerate(emb.sentences)
        )
        legend = "".join(f"<li>{names[i]}: {esc(s)}</li>" for i, s in enumerate(emb.sentences))
        parts.append(
            f'<table class="pg-small"><caption>cosine similarity ({emb.dimension} dimensions)</caption>'
            f'<tr><th></th>{head}</tr>{rows}</table><ul class="pg-sentences">{legend}</ul>'
        )
    if result.score and result.score.note:
        parts.append(f'<div class="pg-note">{esc(result.score.note)}</div>')
    return parts


# --- metrics --------------------------------------------------------------------------------


def metrics_table(results: Sequence[Result]) -> str:
    """The metrics table: one row per model with ``report.COLUMNS`` and their units. An empty cell
    shows '—' with the reason (``report.why_missing``) as its tooltip."""
    head = "".join(
        f'<th scope="col">{esc(name)}'
        + (f'<span class="pg-unit">{esc(unit)}</span>' if unit not in name and "/" not in name else "")
        + "</th>"
        for name, unit in report.COLUMNS.items()
        if name != "model"
    )
    rows = []
    for i, result in enumerate(results):
        row, reasons = report.metric_row(result), report.why_missing(result)
        cells = []
        for name in report.COLUMNS:
            if name == "model":
                continue
            value = row[name]
            reason = reason_for(result, reasons, name)
            if value in (None, ""):
                cells.append(f'<td class="pg-na" title="{esc(reason or "not available")}">—</td>')
            elif name in reasons:
                cells.append(f'<td title="{esc(reason)}">{esc(_cell(value))}<sup>*</sup></td>')
            else:
                cells.append(f"<td>{esc(_cell(value))}</td>")
        rows.append(
            f'<tr data-status="{esc(result.status)}" style="--pg-accent:{SLOT_COLOURS[i]}">'
            f'<th scope="row" title="{esc(result.model)}"><span class="pg-dot"></span>{esc(short_label(result.model))}'
            f"</th>{''.join(cells)}</tr>"
        )
    body = (
        "".join(rows)
        or f'<tr><td colspan="{len(report.COLUMNS)}" class="pg-na pg-left">Run a comparison to fill it.</td></tr>'
    )
    return (
        f'<div class="pg-metrics"><table><thead><tr><th scope="col">model</th>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


LATENCY = ("time to first token", "tokens/s", "total time")


def reason_for(result: Result, reasons: dict[str, str], metric: str) -> str:
    """Why a metric is empty or marked for one model. The engine states one reason per cause
    ("does not generate text" under time to first token); the other latency columns and bits per
    byte share their cause with it and with perplexity."""
    if metric in reasons:
        return reasons[metric]
    if "all" in reasons:
        return reasons["all"]
    if metric in LATENCY and result.generation is None:
        return reasons.get("time to first token", "")
    if metric == "bits per byte" and result.score is None:
        return reasons.get("perplexity", "")
    return "" if result.status == "done" else "not finished"


def missing_notes(results: Sequence[Result]) -> str:
    """Markdown: why metrics are empty or not comparable (``report.why_missing``), one line per
    reason with the models it concerns."""
    models_by_reason: dict[tuple[str, str], list[str]] = {}
    for result in results:
        if result.status not in ("done", "error"):
            continue
        for metric, reason in report.why_missing(result).items():
            if reason:
                models_by_reason.setdefault((metric, reason), []).append(short_label(result.model))
    lines = [
        f"- **{'no metrics' if metric == 'all' else metric}** ({', '.join(models)}): {reason}"
        for (metric, reason), models in models_by_reason.items()
    ]
    return "\n".join(["**Why some cells are empty or not comparable**", *lines]) if lines else ""


CHARTS = [
    ("time to first token", "Time to first token", "s", "lower is faster; includes reading the prompt"),
    ("tokens/s", "Decode speed", "tokens/s", "higher is faster"),
    ("total time", "Total generation time", "s", "lower is faster"),
    ("perplexity", "Perplexity", "", "lower is better; compare only models that share a tokenizer"),
    ("bits per byte", "Bits per byte", "bits", "lower is better; comparable across tokenizers"),
]


def charts(results: Sequence[Result]) -> str:
    """Bar charts, one small panel per metric, each bar labelled with its value and unit."""
    if not any(r.status == "done" for r in results):
        return ""
    rows = [report.metric_row(r) for r in results]
    reasons = [report.why_missing(r) for r in results]
    panels = []
    for metric, title, unit, hint in CHARTS:
        values = [row[metric] for row in rows]
        top = max((v for v in values if isinstance(v, int | float) and math.isfinite(v)), default=0) or 1
        bars = []
        for i, (result, value) in enumerate(zip(results, values, strict=True)):
            name = f'<span class="pg-bar-name" title="{esc(result.model)}">{esc(short_label(result.model))}</span>'
            why = reason_for(result, reasons[i], metric)
            if value is None:
                bars.append(
                    f'<div class="pg-bar-row" style="--pg-accent:{SLOT_COLOURS[i]}">{name}'
                    f'<span class="pg-bar-none">— {esc(why or "not available")}</span></div>'
                )
                continue
            star = f' <span class="pg-bar-star" title="{esc(why)}">*</span>' if why else ""
            width = max(1.0, 100 * value / top)
            bars.append(
                f'<div class="pg-bar-row" style="--pg-accent:{SLOT_COLOURS[i]}">{name}'
                f'<span class="pg-bar-track"><span class="pg-bar" style="width:{width:.1f}%"></span></span>'
                f'<span class="pg-bar-value">{esc(_cell(value))} {esc(unit)}{star}</span></div>'
            )
        panels.append(
            f'<figure class="pg-chart" data-metric="{esc(metric)}"><figcaption><b>{esc(title)}</b>'
            f"{f' ({esc(unit)})' if unit else ''} <span>{esc(hint)}</span></figcaption>{''.join(bars)}</figure>"
        )
    return f'<div class="pg-charts">{"".join(panels)}</div>'


# --- tokens ---------------------------------------------------------------------------------


def surprisal_colour(bits: float) -> str:
    """Pale yellow (expected) to red (surprising); dark text stays readable on every shade."""
    t = min(max(bits / SURPRISAL_SCALE_BITS, 0.0), 1.0)
    return f"hsl({55 - 55 * t:.0f}, 90%, {94 - 44 * t:.0f}%)"


def scored_text(result: Result, text: str, target: str) -> str:
    """The text a model's token scores point into: the target for an encoder-decoder, the text
    without blanks for a masked LM (the engine scores those), else the prompt."""
    if result.score is None:
        return text
    if result.score.kind == "conditional":
        return target
    if result.score.kind == "pseudo":
        return " ".join(MASK_SPELLINGS.sub(" ", text).split())
    return text


Segment = tuple[int, int, str]  # character start, end, and the token as the tokenizer spells it


def token_view(text: str, target: str, results: Sequence[Result], segments: dict[str, list[Segment]]) -> str:
    """Each model's tokens of the same text, coloured by surprisal, with a tooltip per token.

    ``segments`` gives the tokenization of models without per-token scores (embedding encoders),
    by result label; those are shown in grey.
    """
    rows = []
    for i, result in enumerate(results):
        if result.status != "done":
            continue
        basis = scored_text(result, text, target)
        if result.score is not None:
            spans = [(t.start, t.end, t.token, t) for t in result.score.tokens]
        elif result.model in segments:
            spans = [(s, e, piece, None) for s, e, piece in segments[result.model]]
        else:
            continue
        rows.append(_token_row(i, result, basis, spans))
    if not rows:
        return ""
    stops = ", ".join(surprisal_colour(b) for b in (0, 4, 8, 12, 16))
    legend = (
        '<div class="pg-legend">Surprisal of each token, −log₂ p(token | text before it): '
        f'<span class="pg-scale" style="background:linear-gradient(90deg, {stops})"></span> '
        f"0 bits (expected) … {SURPRISAL_SCALE_BITS:.0f}+ bits (surprising). Hover a token for its rank "
        "and probability. Grey: not scored.</div>"
    )
    return f'<div class="pg-tokens">{legend}{"".join(rows)}</div>'


def _token_row(index: int, result: Result, basis: str, spans: list) -> str:
    counts = []
    if result.text_tokens is not None:
        counts.append(f"{result.text_tokens} tokens")
    if result.special_tokens:
        counts.append(f"+{result.special_tokens} special")
    if result.characters_per_token:
        counts.append(f"{result.characters_per_token:.2f} chars/token")
    if result.tokens_per_word:
        counts.append(f"{result.tokens_per_word:.2f} tokens/word")
    scored = [s[3] for s in spans if s[3] is not None]
    if scored:
        mean = sum(t.surprisal_bits for t in scored) / len(scored)
        counts.append(f"mean {mean:.1f} bits/token")
    if result.score and result.score.kind == "conditional":
        counts.append("scored: the target")
    pieces, pos = [], 0
    for start, end, piece, score in sorted(spans, key=lambda s: (s[0], s[1])):
        if start > pos:
            pieces.append(f'<span class="pg-gap">{esc(basis[pos:start])}</span>')
        shown = basis[start:end] if end > start else "∅"
        shown = shown.replace("\n", "↵\n")
        if score is None:
            tip, style = f"token {piece!r} (not scored)", ""
        else:
            tip = (
                f"token {piece!r}\nsurprisal {score.surprisal_bits:.2f} bits\n"
                f"probability {score.probability:.3g}\nrank {score.rank:,}"
            )
            style = f' style="background:{surprisal_colour(score.surprisal_bits)}"'
        pieces.append(f'<span class="pg-tok"{style} title="{esc(tip)}">{esc(shown)}</span>')
        pos = max(pos, end)
    if pos < len(basis):
        pieces.append(f'<span class="pg-gap">{esc(basis[pos:])}</span>')
    return (
        f'<div class="pg-tok-row" style="--pg-accent:{SLOT_COLOURS[index]}">'
        f'<div class="pg-tok-head"><span class="pg-dot"></span><b title="{esc(result.model)}">'
        f"{esc(short_label(result.model))}</b> · {esc(' · '.join(counts))}</div>"
        f'<div class="pg-tok-text">{"".join(pieces)}</div></div>'
    )


# --- page style -----------------------------------------------------------------------------

# The projector rules hang off a `projector` class on <body> (set by the checkbox or ?projector=1):
# larger type through the theme's size variables, black on white, thicker borders. Gradio copies
# every rule under a `.gradio-container .contain` prefix, which outranks a `body.projector` rule,
# hence the !important on the projector's own overrides.
CSS = """
.pg-dot { display:inline-block; width:.8em; height:.8em; border-radius:50%; background:var(--pg-accent);
  margin-right:.4em; vertical-align:middle; }
.pg-empty, .pg-placeholder { color:var(--body-text-color-subdued); font-style:italic; }
.pg-facts table { border-collapse:collapse; width:100%; font-size:var(--text-md); }
.pg-facts th, .pg-facts td { border:1px solid var(--border-color-primary); padding:.3em .6em; text-align:left;
  vertical-align:top; }
.pg-facts thead th { border-bottom:3px solid var(--pg-accent, var(--border-color-primary)); }
.pg-facts tbody th { font-weight:600; white-space:nowrap; }
.pg-differs { background:#fff3b0; color:#111; font-weight:600; }
.pg-differs-flag { color:#b45309; font-weight:700; }
.pg-missing { color:var(--body-text-color-subdued); font-style:italic; }
.pg-legend-line { font-size:var(--text-sm); margin:.3em 0 0; }
.pg-col { border:2px solid var(--pg-accent); border-radius:10px; padding:.6em .8em; min-height:8em;
  background:var(--background-fill-primary); }
.pg-col-head { display:flex; align-items:center; gap:.4em; font-weight:700; font-size:var(--text-lg); }
.pg-model { flex:1; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.pg-badge { border-radius:999px; padding:.1em .7em; font-size:var(--text-sm); font-weight:700; color:#fff;
  text-transform:uppercase; letter-spacing:.03em; }
.pg-badge-idle { background:#6b7280; } .pg-badge-loading { background:#92400e; }
.pg-badge-running { background:#1d4ed8; animation:pg-pulse 1.2s ease-in-out infinite; }
.pg-badge-done { background:#047857; } .pg-badge-error { background:#b91c1c; }
@keyframes pg-pulse { 50% { opacity:.55; } }
.pg-kind, .pg-stats, .pg-progress { color:var(--body-text-color-subdued); font-size:var(--text-sm); margin:.2em 0; }
.pg-output { white-space:pre-wrap; font-size:var(--text-lg); line-height:1.45; margin:.5em 0; overflow-wrap:anywhere; }
.pg-cursor { animation:pg-pulse .8s steps(1) infinite; }
.pg-error { background:#fee2e2; color:#7f1d1d; border-left:5px solid #b91c1c; padding:.5em .7em; margin:.5em 0;
  font-weight:600; overflow-wrap:anywhere; }
.pg-note { background:#e0f2fe; color:#0c4a6e; padding:.4em .6em; margin:.4em 0; border-radius:6px;
  font-size:var(--text-sm); }
.pg-prompt summary { cursor:pointer; font-size:var(--text-sm); }
.pg-prompt pre { white-space:pre-wrap; font-size:var(--text-sm); background:var(--background-fill-secondary);
  padding:.5em; border-radius:6px; overflow-wrap:anywhere; }
.pg-small { border-collapse:collapse; margin:.4em 0; font-size:var(--text-sm); }
.pg-small td, .pg-small th { border:1px solid var(--border-color-primary); padding:.1em .5em; }
.pg-small caption { text-align:left; font-weight:600; }
.pg-sentences { font-size:var(--text-sm); margin:.2em 0; }
.pg-metrics { overflow-x:auto; }
.pg-metrics table { border-collapse:collapse; width:100%; font-size:var(--text-md); font-variant-numeric:tabular-nums; }
.pg-metrics th, .pg-metrics td { border-bottom:1px solid var(--border-color-primary); padding:.35em .5em; }
.pg-metrics thead th { text-align:right; vertical-align:bottom; font-weight:600; word-break:normal;
  overflow-wrap:normal; hyphens:none; }
.pg-metrics thead th:first-child { text-align:left; }
.pg-metrics tbody th { text-align:left; white-space:nowrap; }
.pg-metrics td { text-align:right; white-space:nowrap; }
.pg-unit { display:block; font-weight:400; color:var(--body-text-color-subdued); font-size:var(--text-sm); }
.pg-na { color:var(--body-text-color-subdued); cursor:help; }
.pg-metrics td.pg-left { text-align:left; }
.pg-charts { display:grid; grid-template-columns:repeat(auto-fit, minmax(340px, 1fr)); gap:.8em; }
.pg-chart { margin:0; border:1px solid var(--border-color-primary); border-radius:8px; padding:.5em .7em; }
.pg-chart figcaption { margin-bottom:.4em; font-size:var(--text-md); }
.pg-chart figcaption span { color:var(--body-text-color-subdued); font-size:var(--text-sm); }
.pg-bar-row { display:grid; grid-template-columns:minmax(6em, 30%) 1fr auto; align-items:center; gap:.5em;
  margin:.25em 0; font-size:var(--text-md); }
.pg-bar-name { overflow-wrap:anywhere; line-height:1.15; }
.pg-bar-track { background:var(--background-fill-secondary); border-radius:4px; height:1.2em; }
.pg-bar { display:block; height:100%; background:var(--pg-accent); border-radius:4px; }
.pg-bar-value { font-weight:700; font-variant-numeric:tabular-nums; white-space:nowrap; }
.pg-bar-none { grid-column:2 / span 2; color:var(--body-text-color-subdued); font-style:italic;
  font-size:var(--text-sm); }
.pg-tokens .pg-legend { font-size:var(--text-sm); margin-bottom:.5em; }
.pg-scale { display:inline-block; width:8em; height:.9em; vertical-align:middle; border:1px solid #999; }
.pg-tok-row { border-left:5px solid var(--pg-accent); padding:.2em .6em; margin:.5em 0; }
.pg-tok-head { font-size:var(--text-sm); margin-bottom:.2em; }
.pg-tok-text { white-space:pre-wrap; line-height:2; font-size:var(--text-lg); overflow-wrap:anywhere; }
.pg-tok { background:#e5e7eb; color:#111; border-right:1px solid rgba(0,0,0,.35); padding:.1em 0; }
.pg-gap { color:var(--body-text-color-subdued); }
#pg-header h1 { margin:0; }

:root body.projector {
  --text-xxs:14px; --text-xs:16px; --text-sm:19px; --text-md:23px; --text-lg:27px; --text-xl:31px; --text-xxl:38px;
  /* the theme computes these from --text-* on :root, so they are set again here */
  --body-text-size:var(--text-md); --block-info-text-size:var(--text-sm); --block-label-text-size:var(--text-sm);
  --block-title-text-size:var(--text-md); --section-header-text-size:var(--text-md); --input-text-size:var(--text-md);
  --checkbox-label-text-size:var(--text-md); --prose-text-size:var(--text-md); --button-large-text-size:var(--text-lg);
  --button-medium-text-size:var(--text-md); --button-small-text-size:var(--text-sm);
  --body-text-color:#000; --body-text-color-subdued:#222; --block-info-text-color:#222;
  --background-fill-primary:#fff; --background-fill-secondary:#f1f1f1; --body-background-fill:#fff;
  --block-background-fill:#fff; --input-background-fill:#fff; --border-color-primary:#444;
  --block-label-text-color:#000; --block-title-text-color:#000; --table-text-color:#000;
}
body.projector .gradio-container { max-width:100% !important; padding:0 12px !important; }
body.projector .pg-col { border-width:4px !important; }
body.projector .pg-output { font-size:30px !important; line-height:1.35 !important; }
body.projector .pg-tok-text { font-size:30px !important; }
body.projector .pg-tok { border-right:2px solid #000 !important; }
body.projector .pg-bar-track { background:#ddd !important; height:1.4em !important; }
body.projector .pg-charts { grid-template-columns:repeat(auto-fit, minmax(560px, 1fr)) !important; }
body.projector .pg-differs { background:#ffe14d !important; }
body.projector .pg-facts td, body.projector .pg-facts th { border-color:#000 !important; }
body.projector .pg-metrics th, body.projector .pg-metrics td { font-size:var(--text-sm) !important; }
body.projector .pg-col-head { font-size:var(--text-md) !important; flex-wrap:wrap; }
"""
