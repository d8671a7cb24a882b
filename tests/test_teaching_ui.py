"""The teaching views through the page's API, on tiny real models: lecture-table tasks in their
columns, the size chart, tokens and surprise over the same characters, the next-token view,
greedy next to sampled columns, and the training-cost estimate.

Outputs of /run are named in ``web.results.RUN_OUTPUTS``.
"""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from playground.compare import Result
from playground.compute import estimate
from tests.conftest_app import build_tiny_models, launch_page, run_args, wait_until_idle
from web.render import columns as views
from web.render import facts as views_facts
from web.render import size as views_size
from web.render import tokens as views_tokens
from web.render.common import SLOT_COLOURS
from web.results import RUN_OUTPUTS

COLUMNS = slice(0, 3)
SIZE, TOKENIZERS, SURPRISE, JSON_FILE, GUIDE, WHY = (
    RUN_OUTPUTS.index(n) for n in ("size", "tokens", "surprise", "json", "guide", "why")
)
CONTEXT = "Marie Curie was born in Warsaw and later worked in Paris."
QUESTION = "Where was Marie Curie born?"
GREEDY_VS_SAMPLED = "Column 1 greedy, the others sampled"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return build_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, tiny: dict[str, str]) -> Client:
    demo, url = launch_page(tmp_path_factory.mktemp("page"), tiny)
    yield Client(url, verbose=False)
    wait_until_idle()
    demo.close()


def run(client: Client, models: list[str], prompt: str = CONTEXT, **overrides) -> tuple:
    """The final outputs of /run."""
    args = run_args(models, prompt, preset="tiny-lecture", max_new_tokens=6)
    return client.predict(**(args | overrides), api_name="/run")


def value(output):
    return output.get("value") if isinstance(output, dict) and "__type__" in output else output


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def task_block(column_html: str, task: str) -> str:
    found = re.search(rf'<div class="pg-task" data-task="{task}".*', column_html, re.S)
    assert found, f"no {task} view in the column"
    return found.group(0)


def rows_of_blocks(view_html: str, grid: int = 0) -> list[str]:
    """Each model's row of an aligned grid, read back as text (one cell per model in each block)."""
    grids = re.findall(r'<div class="pg-grid".*?</div>', view_html, re.S)
    blocks = re.findall(
        r'<span class="pg-blk">(.*?)</span>(?=<span class="pg-(?:blk|break)"|</div>)', grids[grid], re.S
    )
    cells = [re.findall(r'<span class="pg-cell[^"]*"[^>]*>(.*?)</span>', b, re.S) for b in blocks]
    assert len({len(c) for c in cells}) == 1, "every block should hold one cell per model"
    return ["".join(html.unescape(c[m]) for c in cells).replace("↵", "\n") for m in range(len(cells[0]))]


# --- lecture-table tasks ----------------------------------------------------------------------


def test_heads_and_generative_qa_show_their_task_next_to_the_text(client, tiny):
    models = [tiny["tiny-bert-classifier"], tiny["tiny-bert-qa"], tiny["tiny-t5"]]
    final = run(client, models, preset="tiny-tasks", target=QUESTION, task="generative_qa")
    classifier, reader, t5 = (value(c) for c in final[COLUMNS])

    labels = task_block(classifier, "classification")
    shares = [float(p) for p in re.findall(r'<span class="pg-bar-value">([\d.]+)%', labels)]
    assert sorted(re.findall(r'class="pg-label-name">(\w+)<', labels)) == ["negative", "neutral", "positive"]
    assert math.isclose(sum(shares), 100, abs_tol=2), "single-label probabilities should add up to 100 %"

    answer = task_block(reader, "extractive_qa")
    span = re.search(r'<mark class="pg-(answer|guess)">(.*?)</mark>', answer)
    assert span and html.unescape(span.group(2)) in CONTEXT
    marked = re.search(r'<div class="pg-marked">(.*?)</div>', answer).group(1)
    assert text_of(marked) == CONTEXT, "the answer is marked inside the whole context"
    assert f"Q: {QUESTION}" in text_of(answer)
    assert ("Answer:" in text_of(answer)) == (span.group(1) == "answer")

    model_input = text_of(re.search(r'<pre class="pg-model-input">(.*?)</pre>', t5).group(1))
    assert model_input.startswith(f"question: {QUESTION} context: Marie") and model_input.endswith("</s>")
    assert ('class="pg-output"' in t5) != ("wrote no visible text" in t5), "an output, or why there is none"

    prompt_box, second_box = client.predict("tiny-tasks", *models, "generative_qa", "", api_name="/label_boxes")
    assert (prompt_box["label"], second_box["label"]) == ("Context", "Question")
    assert second_box["visible"] is True, "a question-answering model needs the second box"


def test_entities_are_marked_over_the_text_and_t5_gets_its_task_prefix(client, tiny):
    final = run(client, [tiny["tiny-bert-ner"], tiny["tiny-t5"]], task="summarization")
    tagger, t5 = (value(c) for c in final[COLUMNS][:2])
    entities = task_block(tagger, "ner")
    marked = re.search(r'<div class="pg-marked">(.*?)</div>', entities).group(1)
    assert text_of(re.sub(r'<span class="pg-ent-type">.*?</span>', "", marked)) == CONTEXT
    for kind, score in re.findall(r'<span class="pg-ent-type">(\w+) ([\d.]+)%</span>', marked):
        assert kind in {"PER", "LOC"} and 0 < float(score) <= 100
    assert 'class="pg-output"' not in tagger, "a tagger's one-line summary is replaced by its marked text"
    assert text_of(re.search(r'<pre class="pg-model-input">(.*?)</pre>', t5).group(1)).startswith("summarize: Marie")


def test_translation_languages_reach_the_model_input(client, tiny):
    final = run(client, [tiny["tiny-gpt2"], tiny["tiny-t5"]], task="translation", source_lang="en", target_lang="de")
    t5 = value(final[COLUMNS][1])
    assert text_of(re.search(r'<pre class="pg-model-input">(.*?)</pre>', t5).group(1)).startswith(
        "translate English to German: Marie"
    )
    with pytest.raises(AppError, match="task must be one of '', 'summarization', 'translation', 'generative_qa'"):
        run(client, [tiny["tiny-gpt2"], tiny["tiny-t5"]], task="poetry")
    with pytest.raises(AppError, match="task must be one of '', 'summarization'"):
        client.predict(
            model_1=tiny["tiny-gpt2"], model_2=tiny["tiny-t5"], prompt=CONTEXT, task="poetry", api_name="/compare"
        )


# --- size, tokens and surprise ----------------------------------------------------------------


def test_size_chart_puts_each_decoder_at_its_parameter_count(client, tiny):
    final = run(client, [tiny["tiny-gpt2"], tiny["tiny-gpt2-b"], tiny["tiny-bert-ner"]])
    results = json.loads(Path(value(final[JSON_FILE])).read_text())["results"]
    size = value(final[SIZE])
    assert "Published: GPT-2 at 4 sizes" in text_of(size), "the published series comes first"
    panels = re.findall(
        r'<figure class="pg-size-panel" data-metric="(\w+)" data-trend="(\w+)">(.*?)</figure>', size, re.S
    )
    assert [(metric, trend) for metric, trend, _ in panels] == [("perplexity", "false"), ("bits_per_byte", "false")]
    for metric, _, panel in panels:
        points = re.findall(r'<circle cx="([\d.]+)".*?<title>(.*?): ([\d.]+) at', panel)
        assert len(points) == 2, "the tagger has no perplexity and is left off"
        by_name = {name: (float(x), float(v)) for x, name, v in points}
        gpt2, other = (by_name[views.short_label(r["model"])] for r in results[:2])
        bigger = results[0]["facts"]["parameters"] > results[1]["facts"]["parameters"]
        assert (gpt2[0] > other[0]) == bigger, "x should grow with the parameter count"
        for (_, shown), result in zip((gpt2, other), results[:2], strict=True):
            assert math.isclose(shown, result["score"][metric], rel_tol=1e-3)
        assert "pg-trend" not in panel and "not a size comparison" in text_of(panel), "two tokenizers: two families"
    assert "different tokens" in size and "BERT-token" in text_of(size)


def test_why_they_differ_comes_with_every_run_as_the_export_has_it(client, tiny):
    final = run(client, [tiny["tiny-gpt2"], tiny["tiny-gpt2-b"], tiny["tiny-bert-ner"]])
    exported = json.loads(Path(value(final[JSON_FILE])).read_text())["why"]
    shown = re.findall(r'<li data-cause="([^"]+)">(.*?)</li>', final[WHY])
    assert [cause for cause, _ in shown] == [c["cause"] for c in exported] and {"kind", "tokens"} <= set(dict(shown))
    assert [text_of(line) for _, line in shown] == [c["sentence"] for c in exported]
    tokens_line = re.search(r'<li data-cause="tokens">.*?</li>', value(final[TOKENIZERS]))
    assert tokens_line, "the tokenizer view repeats the cause it illustrates"


def test_tokenizer_rows_spell_the_same_text_and_count_each_models_tokens(client, tiny):
    final = run(client, [tiny["tiny-gpt2"], tiny["tiny-gpt2-b"], tiny["tiny-bert-ner"]])
    tokens = value(final[TOKENIZERS])
    assert rows_of_blocks(tokens) == [CONTEXT] * 3
    counts = [int(n) for n in re.findall(r"</span></th><td>(\d+)", tokens)]
    results = json.loads(Path(value(final[JSON_FILE])).read_text())["results"]
    assert counts == [r["text_tokens"] for r in results] and len(set(counts)) == 3
    starts = [
        len(re.findall(rf'<span class="pg-cell pg-t\d pg-start[^"]*" style="--pg-accent:{c}', tokens))
        for c in SLOT_COLOURS
    ]
    assert starts == counts, "each token of each model should start exactly one box"
    assert "Why compare bits per byte, not perplexity?" in tokens


def test_surprise_lines_up_the_decoders_and_counts_rank_buckets(client, tiny):
    final = run(client, [tiny["tiny-gpt2"], tiny["tiny-gpt2-b"], tiny["tiny-bert-ner"]])
    surprise = value(final[SURPRISE])
    results = json.loads(Path(value(final[JSON_FILE])).read_text())["results"]
    assert rows_of_blocks(surprise) == [CONTEXT] * 2 and rows_of_blocks(surprise, grid=1) == [CONTEXT] * 2
    spreads = [float(s) for s in re.findall(r"<td><b>([\d.]+)</b></td></tr>", surprise)]
    assert 1 <= len(spreads) <= 3 and spreads == sorted(spreads, reverse=True)
    for result, row in zip(results[:2], re.findall(r'<div class="pg-bucket-row">(.*?)</div>', surprise), strict=True):
        counts = [int(n) for n in re.findall(r"<b>(\d+)</b>", row)]
        assert sum(counts) == len(result["score"]["tokens"])
        top10 = sum(1 for t in result["score"]["tokens"] if t["rank"] <= 10)
        assert counts[0] == top10
    assert "Not scored over this text: " in surprise and "BERT-token" in surprise


# --- the next token ---------------------------------------------------------------------------


def next_tokens(client: Client, models: list[str], prompt: str, position: int, preset: str = "", **settings) -> str:
    slots = [*models, "", ""][:3]
    top = {"temperature": 1.0, "top_p": 1.0, "top_k": 0} | settings
    return client.predict(
        *slots, prompt, position, top["temperature"], top["top_p"], top["top_k"], preset, "Auto",
        api_name="/next_tokens",
    )  # fmt: skip


def test_each_column_has_the_next_token_chart_of_the_prompt_it_read(client, tiny):
    gpt2, chat = tiny["tiny-gpt2"], tiny["tiny-llama-chat"]
    prompt = "A cat sat on the mat."
    view = next_tokens(client, [gpt2, chat, chat], prompt, len(prompt), "tiny-trio", temperature=0.8, top_p=0.9)
    panels = re.findall(r'<div class="pg-next" style="--pg-accent:(#\w+)">(.*?)</table>', view, re.S)
    assert [accent for accent, _ in panels] == list(SLOT_COLOURS), "with and without its template: two charts"
    reads = [re.search(r'data-template="(\w+)".*?<code[^>]*>(.*?)</code>', p, re.S).groups() for _, p in panels]
    assert [t for t, _ in reads] == ["false", "true", "false"]
    assert html.unescape(reads[1][1]).startswith("<|user|>A cat sat") and "<|user|>" not in html.unescape(reads[2][1])
    assert all('class="pg-cand pg-cut' in p for _, p in panels), "the view's defaults cut something, shaded"
    once = next_tokens(client, [chat, chat], prompt, len(prompt), "decoding", temperature=0.8, top_p=0.9)
    assert once.count('<div class="pg-next" style') == 1, "greedy and sampled read the same prompt: one chart"


def test_next_tokens_shade_what_top_k_cuts_and_follow_the_position(client, tiny):
    gpt2, bert = tiny["tiny-gpt2"], tiny["tiny-bert-classifier"]
    view = next_tokens(client, [gpt2, gpt2, bert], "The capital of France is", 11, top_k=3)
    panels = re.findall(r'<div class="pg-next" style.*?(?=<div class="pg-next" style|$)', view, re.S)
    assert len(panels) == 2, "a model listed twice is shown once, and the encoder says why it has no view"
    rows = re.findall(r'<tr class="pg-cand( pg-cut)?"', panels[0])
    assert len(rows) == 10 and sum(1 for cut in rows if cut) == 7
    assert "picks among <b>3</b> tokens" in panels[0]
    assert "writes text" in panels[1]
    assert re.search(r'<div class="pg-caret-text">The capital<span class="pg-caret"', view)

    open_view = next_tokens(client, [gpt2], "The capital of France is", 24)
    assert "pg-cand pg-cut" not in open_view and "cut away <b>0</b>" in open_view
    assert '<span class="pg-after"></span>' in open_view  # at the end: nothing left after the caret
    probabilities = [float(p) for p in re.findall(r'</td><td>([\d.]+)%</td><td class="pg-cand-bar">', open_view)]
    assert probabilities == sorted(probabilities, reverse=True)


def test_the_position_slider_spans_the_prompt(client):
    slider, view = client.predict("Hello there", api_name="/prompt_positions")
    assert (slider["maximum"], slider["value"]) == (11, 11)
    assert "press Show" in view, "the view of the previous prompt should go"


def test_greedy_next_to_sampled_columns_of_one_model(client, tiny):
    chat = tiny["tiny-llama-chat"]
    assert client.predict("decoding", api_name="/select_preset")[12] == GREEDY_VS_SAMPLED  # the Columns setting
    sampling = {"temperature": 1.0, "top_p": 1.0, "seed": 3, "max_new_tokens": 8}
    final = run(client, [chat, chat], "The capital of France is", column_decoding=GREEDY_VS_SAMPLED, **sampling)
    greedy, sampled = (value(c) for c in final[COLUMNS][:2])
    assert "(greedy)" in greedy and "(sampled: T 1, top-p 1, seed 3)" in sampled

    def outputs(sample: bool) -> list[str]:
        result = client.predict(
            model_1=chat,
            model_2=chat,
            prompt="The capital of France is",
            decoding="Sampling" if sample else "Greedy",
            **sampling,
            api_name="/compare",
        )
        return [r["output"] for r in result["results"]]

    def shown(column: str) -> str:
        return html.unescape(re.search(r'<div class="pg-output">(.*?)</div>', column, re.S).group(1))

    assert shown(greedy) == outputs(False)[0]
    assert shown(sampled) == outputs(True)[1]


# --- facts and cost ---------------------------------------------------------------------------


def cost_rows(view: str) -> dict[str, list[str]]:
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', view)
    return {name: [text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", cells)] for name, cells in rows}


def test_training_cost_from_published_or_typed_tokens(client, tiny):
    models = [tiny["tiny-gpt2"], tiny["tiny-gpt2-b"], tiny["tiny-bert-ner"]]
    cold = cost_rows(client.predict("tiny-lecture", *models, "", "A100", 8, 0.4, api_name="/estimate_cost"))
    if cold["parameters N"][0] == "load the model to count them":  # this module has not loaded it yet
        client.predict("tiny-lecture", *models, api_name="/load_models")
    rows = cost_rows(client.predict("tiny-lecture", *models, "", "A100", 8, 0.4, api_name="/estimate_cost"))
    assert rows["training data"][0] == "About 2 billion tokens of made-up text."
    assert rows["training tokens D"] == [
        "2.0 B (published)",
        "not published: no estimate (type a number to assume one)",
        "not published: no estimate (type a number to assume one)",
    ]
    facts = json.loads(Path(value(run(client, models, max_new_tokens=1)[JSON_FILE])).read_text())["results"]
    expected = estimate(facts[0]["facts"]["parameters"], 2e9, "A100", 8, 0.4)
    assert rows["compute C = 6ND"][0] == f"{views_facts.scientific(expected.flops)} FLOPs"
    assert math.isclose(float(rows["GPU-days"][0]), expected.gpu_days, rel_tol=0.01)
    assert rows["wall clock"][0] == views_facts.duration(expected.days)

    typed = cost_rows(client.predict("tiny-lecture", *models, "300B", "H100 SXM", 16, 0.5, api_name="/estimate_cost"))
    assert typed["training tokens D"] == ["300.0 B (typed)"] * 3
    for i, result in enumerate(facts):
        run_ = estimate(result["facts"]["parameters"], 300e9, "H100 SXM", 16, 0.5)
        assert typed["compute C = 6ND"][i] == f"{views_facts.scientific(run_.flops)} FLOPs"
        assert typed["wall clock"][i] == views_facts.duration(run_.days)
    with pytest.raises(AppError, match="Training tokens: write a positive number"):
        client.predict("tiny-lecture", *models, "lots", "A100", 8, 0.4, api_name="/estimate_cost")
    with pytest.raises(AppError, match="number of GPUs must be between 1 and"):
        client.predict("tiny-lecture", *models, "", "A100", 0, 0.4, api_name="/estimate_cost")


# --- plain view functions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("About 2 trillion tokens of web, code and maths text", 2e12),
        ("The Pile, 299,892,736,000 tokens, just under one epoch.", 299_892_736_000),
        ("6 trillion tokens. Gemma Terms of Use.", 6e12),
        ("The number of training tokens was not published.", None),
        ("MiniLM fine-tuned on 1 billion sentence pairs", None),
    ],
)
def test_published_tokens_are_read_from_the_preset_text(text, tokens):
    assert views_facts.published_tokens(text) == tokens


def test_typed_token_counts_and_axis_tops():
    assert [views_facts.parse_tokens(t) for t in ("300B", "1.4 trillion", "2e12", " ", "1,000,000")] == [
        300e9,
        1.4e12,
        2e12,
        None,
        1e6,
    ]
    assert [views_size.nice_ceiling(v) for v in (0.7, 3.4, 21, 360, 5000)] == [1, 5, 25, 500, 5000]


def test_boxes_are_named_by_what_the_models_do_with_them():
    assert views.box_labels(["encoder (extractive QA)", "decoder"]).prompt == "Context"
    assert views.box_labels(["decoder"], "generative_qa").second == "Question"
    assert views.box_labels(["encoder-decoder"]).second == "Reference output"
    assert views.box_labels(["decoder"]).prompt == "Prompt"


def test_rows_keep_their_models_colours_when_a_model_failed():
    results = [Result("broken", "error", error="no such model"), Result("b", "done"), Result("c", "done")]
    segments = {"b": [(0, 2, "ab"), (2, 5, "Ġcd")], "c": [(0, 1, "a"), (1, 2, "b"), (2, 5, "Ġcd")]}
    view = views_tokens.tokenizer_view("ab cd", results, segments)
    assert rows_of_blocks(view) == ["ab cd", "ab cd"]
    cells = re.findall(r'class="pg-cell[^"]*" style="--pg-accent:(#\w+)', view)
    assert cells == [SLOT_COLOURS[1], SLOT_COLOURS[2]] * 3, "model 2 and 3 keep their colours in every block"


def test_the_input_guide_follows_each_columns_chat_template(client, tiny):
    chat = tiny["tiny-llama-chat"]
    final = run(client, [tiny["tiny-gpt2"], chat, chat], "Hello", preset="tiny-trio", max_new_tokens=2)
    guide = re.findall(r"<li>(.*?)</li>", final[GUIDE])
    assert "continues the prompt" in guide[0] and "wrapped in its chat template" in guide[1]
    assert "(plain prompt)" in guide[2] and "continues the prompt" in guide[2]
