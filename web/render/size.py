"""The size view: what size does, shown without confounds.

First the published figures of one family trained the same way at several sizes
(``playground.published``: GPT-2 at four sizes, one tokenizer and one data set), each value with
its source and labelled "published". Beside them the models of this run, perplexity and bits per
byte against parameter count. ``published.size_comparison`` decides whether those models are one
family at several sizes: only then is a trend line drawn; otherwise the chart itself says
"different families: not a size comparison", draws no line, and lists what else differs.
"""

from __future__ import annotations

from collections.abc import Sequence

from playground import published
from playground.causes import listed
from playground.compare import Result
from web.escape import esc
from web.render.common import SLOT_COLOURS, amount, model_name, short_label
from web.render.plot import Point, nice_ceiling, size_svg

__all__ = ["PUBLISHED_FAMILY", "PUBLISHED_METRICS", "nice_ceiling", "published_view", "size_chart"]

SIZE_PANELS = (
    ("perplexity", "Perplexity", "comparable only between models that share a tokenizer"),
    ("bits_per_byte", "Bits per byte", "comparable across tokenizers"),
)
PUBLISHED_FAMILY = "GPT-2"
PUBLISHED_METRICS = ("LAMBADA perplexity", "enwik8 bits per byte")
"""The published metrics drawn as charts: a perplexity and a bits per byte, as the live panels."""
PUBLISHED_COLOUR = "#444"


def size_chart(results: Sequence[Result], training: Sequence[str | None] = (), why: str = "") -> str:
    """The size view: the published series, then this run's models against their parameter count.

    ``training`` holds per column what the preset states about its training data (or None): two
    models of one name family but different data are not one family. ``why``: the lines of "why
    they differ" about size, shown under the run's chart.
    """
    return f'<div class="pg-size">{published_view()}{live_view(results, training, why)}</div>'


# --- published figures --------------------------------------------------------------------


def published_view(family: str = PUBLISHED_FAMILY) -> str:
    """One family's published figures by size: a chart per metric in ``PUBLISHED_METRICS`` and a
    table of every value with the table of the paper it comes from."""
    found = published.families()[family]
    cited = found.members[0].source
    panels = []
    for metric in PUBLISHED_METRICS:
        series = published.size_series(family, metric)
        points = [Point(f.parameters, f.value, PUBLISHED_COLOUR, f.model) for f in series]
        where = f"{series[0].setting}, {series[0].source.where}"
        trend = found.same_recipe
        remark = "" if trend else published.NOT_A_SIZE_COMPARISON
        svg = size_svg(points, metric, f"{published.PUBLISHED} · {where}", trend, remark)
        better = "lower is better" if series[0].lower_is_better else "higher is better"
        panels.append(
            f'<figure class="pg-size-panel" data-metric="{esc(metric)}" data-source="published">'
            f"<figcaption><b>{esc(metric)}</b> <span>{esc(better)}</span></figcaption>{svg}</figure>"
        )
    return (
        f'<section class="pg-published"><h4>Published: {esc(family)} at {len(found.members)} sizes '
        f'<span class="pg-published-tag">{published.PUBLISHED}</span></h4>'
        f'<p class="pg-legend-line">{esc(found.note)}</p><div class="pg-size-panels">{"".join(panels)}</div>'
        f"{_published_table(found)}"
        f'<p class="pg-legend-line">Source: {esc(cited.paper)}, {esc(cited.url)}</p></section>'
    )


def _published_table(family: published.Family) -> str:
    """Every published value of the family, one row per metric, with where in the paper it is."""
    head = "".join(f"<th>{esc(m.model)}</th>" for m in family.members)
    sizes = "".join(f"<td>{esc(amount(m.parameters / 1e6))}M</td>" for m in family.members)
    rows = [f'<tr><th scope="row">parameters</th>{sizes}<td>{esc(family.members[0].source.where)}</td></tr>']
    for metric in family.metrics:
        figures = {f.model: f for f in published.size_series(family.name, metric)}
        cells = "".join(
            f'<td title="{esc(figures[m.model].source.paper)}, {esc(figures[m.model].source.where)}">'
            f"{figures[m.model].value:g}</td>"
            if m.model in figures
            else "<td>—</td>"
            for m in family.members
        )
        first = next(iter(figures.values()))
        rows.append(
            f'<tr><th scope="row">{esc(metric)} <small>{esc(first.setting)}</small></th>{cells}'
            f"<td>{esc(first.source.where)}</td></tr>"
        )
    return (
        '<table class="pg-published-table"><thead><tr><th>published</th>'
        f"{head}<th>source</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


# --- the models of this run ---------------------------------------------------------------


def live_view(results: Sequence[Result], training: Sequence[str | None] = (), why: str = "") -> str:
    """Perplexity and bits per byte (y) against parameter count (x, log scale), one point per model;
    a trend line only where ``published.size_comparison`` finds one family.

    Only left-to-right (causal) scores are drawn: a masked LM's pseudo-perplexity and an
    encoder-decoder's conditional perplexity measure something else, and are listed as left out.
    """
    done = [(i, r) for i, r in enumerate(results) if r.status == "done" and r.facts]
    if not done:
        return ""
    points = [(i, r) for i, r in done if r.score is not None and r.score.kind == "causal" and r.facts.parameters]
    left_out = [
        f"{esc(short_label(r.model))}: "
        + esc("no left-to-right score (" + (r.score.kind if r.score else "no language-model head") + ")")
        for i, r in done
        if (i, r) not in points
    ]
    heading = "<h4>This run: the models you compared, on this text</h4>"
    if len(points) < 2:
        message = "Size against quality needs two or three models that score the text left to right (decoders)."
        empty = f'<p class="pg-empty">{esc(message)}</p>'
        return f'<section class="pg-live">{heading}{empty}{_left_out(left_out)}</section>'
    stated = [training[i] if i < len(training) else None for i, _ in points]
    comparison = published.size_comparison([r.facts for _, r in points], stated)
    panels = "".join(_live_panel(points, metric, title, hint, comparison) for metric, title, hint in SIZE_PANELS)
    label = comparison.label[0].upper() + comparison.label[1:]
    if comparison.trend:
        verdict = f'<p class="pg-ok">{esc(label)}: the line shows what size does.</p>'
    elif comparison.differences:
        others = listed([d.split(":")[0] for d in comparison.differences])
        verdict = (
            f'<p class="pg-warn"><b>{esc(label)}.</b> Besides size they differ in {esc(others)}: no line is '
            "drawn, and neither model says what size alone does.</p>"
        )
    else:
        verdict = f'<p class="pg-warn"><b>{esc(label)}.</b></p>'

    return (
        f'<section class="pg-live">{heading}<div class="pg-size-panels">{panels}</div>{verdict}{why}'
        f"{_tokenizer_warning(points)}{_left_out(left_out)}"
        '<p class="pg-legend-line">x: parameters (log scale); lower is better on both.</p></section>'
    )


def _tokenizer_warning(points: list[tuple[int, Result]]) -> str:
    # Same tokenizer type and vocabulary size is not the same tokenizer; a different token count
    # for the same text shows that the perplexities average over different units.
    tokenizers = {(r.facts.tokenizer, r.facts.vocab_size, r.score.scored_tokens) for _, r in points}
    if len(tokenizers) == 1:
        return '<p class="pg-ok">One tokenizer for all: perplexity and bits per byte tell the same story.</p>'
    counts = " vs ".join(f"{r.score.scored_tokens}" for _, r in points)
    return (
        f'<p class="pg-warn">These models cut the text into different tokens ({counts} tokens): their '
        "perplexities average over different units, so compare bits per byte.</p>"
    )


def _left_out(lines: list[str]) -> str:
    return f'<p class="pg-legend-line">Not on the chart: {"; ".join(lines)}.</p>' if lines else ""


def _live_panel(
    points: list[tuple[int, Result]], metric: str, title: str, hint: str, comparison: published.SizeComparison
) -> str:
    shown = [
        Point(float(r.facts.parameters), float(getattr(r.score, metric)), SLOT_COLOURS[i], short_label(r.model))
        for i, r in points
    ]
    remark = "" if comparison.trend else comparison.label
    svg = size_svg(shown, title, "this text", comparison.trend, remark)
    names = " ".join(model_name(i, r.model) for i, r in points)
    return (
        f'<figure class="pg-size-panel" data-metric="{metric}" data-trend="{str(comparison.trend).lower()}">'
        f"<figcaption><b>{esc(title)}</b> <span>{esc(hint)}</span></figcaption>{svg}"
        f'<div class="pg-size-names">{names}</div></figure>'
    )
