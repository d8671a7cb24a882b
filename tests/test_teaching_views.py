"""The teaching views as HTML, on results of tiny real models (and the packaged ones where a preset's
note is checked): what a person reads in each view, without a browser. The page-level tests are in
tests/test_teaching_ui.py and the lecture walk in tests/test_browser.py."""

from __future__ import annotations

import html
import re

import pytest

from playground.causes import Cause
from playground.compare import Column, Request, compare
from playground.distribution import DEFAULT_TEMPERATURE, DEFAULT_TOP_P, next_token_distribution
from playground.facts import differences
from playground.generation import GenerationSettings
from playground.lecture import LECTURE_POINTS
from playground.presets import get_preset
from playground.published import NOT_A_SIZE_COMPARISON, size_series
from playground.scoring import token_spans
from tests import tiny_models
from web.render import facts as facts_view
from web.render import size, surprise, teaching, tokens, why
from web.render.common import colour
from web.teaching import reading_columns

TEXT = "The capital of France is Paris."  # the tiny Llama reads 64 tokens of its 260-token vocabulary
QUICK = GenerationSettings(max_new_tokens=2, speed="exact")


@pytest.fixture(scope="module")
def family(tmp_path_factory) -> dict[str, str]:
    """Two sizes of one tiny family (same tokenizer, architecture and name apart from the size)."""
    root = tmp_path_factory.mktemp("family")
    return {
        "small": str(tiny_models.build_llama(root / "tinyfam-small", width=32)),
        "large": str(tiny_models.build_llama(root / "tinyfam-large", width=96)),
        "chat": str(tiny_models.build_llama(root / "tiny-chat", chat=True)),
    }


def run(cache, models: list, text: str = TEXT):
    request = Request(text, generation=QUICK)
    results = compare(models, request, cache)
    assert all(r.status == "done" for r in results), [r.error for r in results]
    return request, results


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def live_panels(view: str) -> list[tuple[str, str, str]]:
    """(metric, trend flag, panel) of the size view's live charts."""
    return re.findall(
        r'<figure class="pg-size-panel" data-metric="(\w+)" data-trend="(\w+)">(.*?)</figure>', view, re.S
    )


# --- size -------------------------------------------------------------------------------------


def test_the_published_series_shows_every_value_with_its_source(cache, tiny_folders):
    _, results = run(cache, [tiny_folders["gpt2"], tiny_folders["llama"]])
    view = size.size_chart(results)
    published = re.search(r'<section class="pg-published">(.*?)</section>', view, re.S).group(1)
    charts = re.findall(r'data-metric="([^"]+)" data-source="published">(.*?)</figure>', published, re.S)
    assert [m for m, _ in charts] == list(size.PUBLISHED_METRICS)
    for metric, chart in charts:
        series = size_series(size.PUBLISHED_FAMILY, metric)
        svg = re.search(r"<svg.*</svg>", chart, re.S).group(0)
        assert f"published · zero-shot, {series[0].source.where}" in text_of(svg), "the label is on the chart"
        assert '<polyline class="pg-trend"' in svg, "one family trained one way: its trend is drawn"
        drawn = [float(v) for v in re.findall(r'class="pg-point"[^>]*>([\d.]+)<', svg)]
        assert drawn == pytest.approx([f.value for f in series], rel=0.01)
    table = re.search(r'<table class="pg-published-table">(.*?)</table>', published, re.S).group(1)
    for figure in size_series(size.PUBLISHED_FAMILY):
        row = re.search(rf"<tr><th[^>]*>{re.escape(figure.metric)} .*?</tr>", table, re.S).group(0)
        assert f"{figure.value:g}" in row and row.endswith(f"<td>{figure.source.where}</td></tr>")
    assert "Radford" in text_of(published) and "language_models_are_unsupervised" in published


def test_a_chart_of_two_families_says_so_on_the_chart_and_draws_no_line(cache, tiny_folders):
    _, results = run(cache, [tiny_folders["gpt2"], tiny_folders["llama"]])
    panels = live_panels(size.size_chart(results))
    assert [(m, t) for m, t, _ in panels] == [("perplexity", "false"), ("bits_per_byte", "false")]
    for _, _, panel in panels:
        svg = re.search(r"<svg.*</svg>", panel, re.S).group(0)
        assert '<polyline class="pg-trend"' not in svg
        assert "different families not a size comparison" in text_of(svg)
        assert len(re.findall(r"<circle ", svg)) == 2
    assert "Besides size they differ in architecture" in text_of(size.live_view(results))


def test_one_family_at_two_sizes_draws_its_trend(cache, family):
    _, results = run(cache, [family["small"], family["large"]])
    assert results[1].facts.parameters > 2 * results[0].facts.parameters
    panels = live_panels(size.size_chart(results))
    assert [t for _, t, _ in panels] == ["true", "true"]
    for _, _, panel in panels:
        assert '<polyline class="pg-trend"' in panel and NOT_A_SIZE_COMPARISON not in text_of(panel)
    assert "only the size differs" in text_of(size.live_view(results))
    stated = size.live_view(results, ["1B tokens of web text", "2B tokens of books"])
    assert "training data" in text_of(stated) and '<polyline class="pg-trend"' not in stated


# --- surprise ---------------------------------------------------------------------------------


def heat_rows(view: str) -> list[list[tuple[float, str]]]:
    """Per model row of the heat grid: (heat, characters) of each cell, in order."""
    grid = re.findall(r'<div class="pg-grid">(.*?)</div>', view, re.S)[0]
    blocks = re.findall(r'<span class="pg-blk">(.*?)</span>(?=<span class="pg-(?:blk|break)"|$)', grid, re.S)
    cells = [re.findall(r'<span class="pg-cell[^"]*"[^>]*?(?:data-heat="([\d.]+)")?>(.*?)</span>', b) for b in blocks]
    return [[(float(c[m][0] or 0), html.unescape(c[m][1])) for c in cells] for m in range(len(cells[0]))]


def hottest_words(row: list[tuple[float, str]], top: int) -> list[str]:
    """The words of a row in the order of their heat (cells of one word share it)."""
    words: dict[str, float] = {}
    text = "".join(chars for _, chars in row)
    for match in re.finditer(r"\w+", text):
        offset = 0
        for value, chars in row:
            if offset <= match.start() < offset + len(chars):
                words[match.group()] = value
            offset += len(chars)
    return sorted(words, key=lambda w: -words[w])[:top]


def test_surprise_colours_each_word_by_its_bits_on_one_scale_with_a_legend_in_bits(cache, tiny_folders):
    request, results = run(cache, [tiny_folders["gpt2"], tiny_folders["llama"]])
    view = surprise.surprise_view(request.text, "", results)
    legend = re.search(r'<div class="pg-legend pg-heat-legend">(.*?)</div>', view, re.S).group(1)
    top = float(re.search(r"([\d.]+) bits</span></span>", legend).group(1))
    assert "bits its tokens cost" in text_of(legend) and top == int(top) >= 1
    rows = heat_rows(view)
    assert all("".join(c for _, c in row) == TEXT for row in rows)
    assert max(v for row in rows for v, _ in row) <= 1.0 and max(v for row in rows for v, _ in row) > 0.5
    chips = re.findall(r'<div class="pg-hottest-row">(.*?)</div>', view, re.S)
    assert len(chips) == 2
    for row, chip in zip(rows, chips, strict=True):
        listed = re.findall(r'<span class="pg-hot-word"[^>]*>(.*?) <b>([\d.]+)</b> bits</span>', chip)
        assert len(listed) == surprise.HOT_SPOTS and [float(b) for _, b in listed] == sorted(
            (float(b) for _, b in listed), reverse=True
        )
        word, bits = listed[0]
        hottest = max(v for v, _ in row)
        assert hottest == pytest.approx(float(bits) / top, abs=0.002), "the colour is the word's bits on the scale"
        assert word in "".join(chars for v, chars in row if v == hottest)
    assert "Where the models disagree most" in view


def test_the_surprise_notes_words_are_the_hottest_in_both_rows(cache):
    """The surprise preset's note, on its own first sentence, as the view colours it."""
    preset = get_preset("surprise")
    text = preset.prompts[0]
    request, results = run(cache, preset.columns, text)
    rows = heat_rows(surprise.surprise_view(text, "", results))
    assert len(rows) == 2
    for row in rows:
        assert set(hottest_words(row, 2)) == {"lumps", "granite"}
    assert all(word in preset.notes for word in ("lumps", "granite"))


# --- tokenizers: spellings as text ------------------------------------------------------------


def spelled(view: str, slot: int) -> list[str]:
    accent = colour(slot)
    return [html.unescape(s) for s in re.findall(rf'style="--pg-accent:{accent};[^"]*"[^>]*data-spell="([^"]*)"', view)]


def test_each_token_carries_its_spelling_for_the_projector(cache, tiny_folders):
    models = [tiny_folders["gpt2"], tiny_folders["bert"]]
    request, results = run(cache, models)
    segments = {}
    for ref, result in zip(models, results, strict=True):
        tokenizer = cache.get(ref).model.tokenizer
        ids, spans = token_spans(tokenizer, TEXT)
        segments[result.model] = [
            (s, e, p) for (s, e), p in zip(spans, tokenizer.convert_ids_to_tokens(ids), strict=True)
        ]
    view = tokens.tokenizer_view(TEXT, results, segments)
    for slot, result in enumerate(results):
        assert spelled(view, slot) == [p for _, _, p in segments[result.model]], "one spelling per token, in order"
    assert any(s.startswith("Ġ") for s in spelled(view, 0)), "byte-level BPE spells a space as Ġ"
    wordpiece = spelled(view, 1)
    assert all(s == s.lower() for s in wordpiece) and any(s.startswith("##") for s in wordpiece), "uncased pieces"
    assert "Show token spellings" in view


# --- facts ------------------------------------------------------------------------------------


def test_facts_highlight_only_the_differences_that_matter_each_with_why(loaded):
    facts = [loaded["gpt2"].facts, loaded["bert"].facts]
    view = facts_view.facts_table(["gpt2", "bert"], facts, [None, None])
    matters = re.findall(r'<tr class="pg-matters"><th scope="row">(.*?)</th>.*?</tr><tr class="pg-why-row">'
                         r'<td colspan="3">↳ (.*?)</td></tr>', view, re.S)  # fmt: skip
    found = differences(facts)
    assert [name for name, _ in matters] == [facts_view.ROW_OF_DIFFERENCE.get(d.fact, d.fact) for d in found]
    assert [html.unescape(w) for _, w in matters] == [d.why for d in found]
    plain = re.search(r'<tr><th scope="row">document start</th>(.*?)</tr>', view).group(1)
    assert len(set(re.findall(r"<td>(.*?)</td>", plain))) == 2 and "pg-differs" not in plain, (
        "a fact that differs without explaining the behaviour is not highlighted"
    )
    assert view.count('class="pg-differs"') == len(found) * 2 + 1  # two models per row, and the legend


# --- why they differ --------------------------------------------------------------------------


def test_why_lines_are_escaped_with_their_label_in_bold():
    causes = [Cause("tokens", "Tokens for the same text: <b>a</b> 3, b 4."), Cause("kind", "No label here.")]
    view = why.why_view(causes)
    assert '<li data-cause="tokens"><b>Tokens for the same text:</b> &lt;b&gt;a&lt;/b&gt; 3, b 4.</li>' in view
    assert '<li data-cause="kind">No label here.</li>' in view and "Why they differ" in view
    assert why.why_view([]) == "" and why.view_causes(causes, "size") == ""
    assert 'data-cause="tokens"' in why.view_causes(causes, "tokens")


# --- next token -------------------------------------------------------------------------------


def test_the_next_token_chart_says_which_prompt_it_read_and_shades_the_cut(cache, family):
    lm = cache.get(family["chat"]).model
    question = "A cat sat on the mat."
    views = [
        next_token_distribution(lm, question, None, 10, DEFAULT_TEMPERATURE, DEFAULT_TOP_P, use_chat_template=on)
        for on in (True, False)
    ]
    labels = [Column(family["chat"], True).label, Column(family["chat"], False).label]
    view = teaching.next_token_view(question, len(question), labels, views, "defaults", [1, 2])
    reads = re.findall(r'<div class="pg-next-read" data-template="(\w+)"><b>(.*?)</b>.*?<code[^>]*>(.*?)</code>', view)
    assert [(t, html.unescape(how)) for t, how, _ in reads] == [
        ("true", "Reads the prompt with its chat template"),
        ("false", f"Reads the prompt plain text after {views[1].document_start}"),
    ]
    assert html.unescape(reads[0][2]).startswith("<|user|>A cat") and "<|assistant|>" in html.unescape(reads[0][2])
    for panel in re.findall(r'<div class="pg-next" style.*?</table>', view, re.S):
        shaded = re.findall(r'<tr class="pg-cand pg-cut[^"]*"', panel)
        assert shaded, "at the default temperature and top-p something is cut, and the cut is shown"
    assert "--pg-accent:" + colour(1) in view and "--pg-accent:" + colour(2) in view


def test_columns_that_read_the_same_prompt_share_one_chart():
    chat = "tiny-chat"
    assert reading_columns([Column(chat, None, False), Column(chat, None, True)]) == [(0, Column(chat))]
    both = reading_columns([Column("gpt2"), Column(chat, True), Column(chat, False)])
    assert both == [(0, Column("gpt2")), (1, Column(chat, True)), (2, Column(chat, False))]


# --- the lecture's presets open on their views ------------------------------------------------


def test_each_lecture_preset_opens_on_the_view_of_its_point():
    first = {}
    for point in LECTURE_POINTS:
        for name in (point.preset, point.offline_preset):
            first.setdefault(name, point.view)
            assert teaching.preset_view(get_preset(name)) == first[name], name
    assert teaching.preset_view(get_preset("size-offline")) == "size"
    assert teaching.preset_view(get_preset("offline-default")) == "outputs"  # point 1 before point 7
