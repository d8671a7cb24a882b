"""The page through its API: the launched app, called with gradio_client, on tiny real models.

The run endpoint is the one the page's Run button uses; its outputs are, in order, the three
model columns, the run status, the facts card, the input guide, the metrics table, the notes on
missing metrics, the charts, the size chart, the tokenizer and surprise views, the JSON and CSV
downloads and the share link. The teaching views have their own tests in test_teaching_ui.py.
"""

from __future__ import annotations

import csv
import html
import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from playground import report, share, views_facts
from playground.limits import Limits
from tests.conftest_app import build_tiny_models, launch_page, tiny_presets, wait_until_idle
from tests.conftest_app import run_args as page_run_args

COLUMNS = slice(0, 3)
STATUS, FACTS, GUIDE, METRICS, MISSING, CHARTS, SIZE, TOKENIZERS, SURPRISE, JSON_FILE, CSV_FILE, LINK = range(3, 15)
PROMPT = "The capital of France is"
MAX_PROMPT_CHARS = Limits().max_prompt_chars


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return build_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, tiny: dict[str, str]):
    import app

    interval, app.STREAM_INTERVAL_S = app.STREAM_INTERVAL_S, 0.0  # every token becomes an update
    tmp = tmp_path_factory.mktemp("page")
    demo, url = launch_page(tmp, tiny)
    yield url, tmp
    wait_until_idle()
    demo.close()
    app.STREAM_INTERVAL_S = interval


@pytest.fixture(scope="module")
def client(page) -> Client:
    return Client(page[0], verbose=False)


LECTURE = ("task", "source_lang", "target_lang", "column_decoding")


def settings_args(models: list[str], prompt: str = PROMPT, **overrides) -> dict:
    """Keyword arguments of the endpoints that take the share-link settings (/load_models, /share_link)."""
    return {k: v for k, v in run_args(models, prompt, **overrides).items() if k not in LECTURE}


def run_args(models: list[str], prompt: str = PROMPT, **overrides) -> dict:
    """Keyword arguments of the /run endpoint (the page's inputs)."""
    return page_run_args(models, prompt, **overrides)


def value(output):
    """The value inside a component update, or the plain value."""
    return output.get("value") if isinstance(output, dict) and "__type__" in output else output


def status(column_html: str) -> str:
    return re.search(r'class="pg-col" data-status="(\w+)"', column_html).group(1)


def column_text(column_html: str) -> str:
    found = re.search(r'<div class="pg-output">(.*?)(?:<span class="pg-cursor">|</div>)', column_html, re.S)
    return html.unescape(found.group(1)) if found else ""


def metric_rows(table_html: str) -> list[dict[str, str]]:
    """The metrics table as {column: cell text} per model row."""
    headers = re.findall(r'<th scope="col">([^<]+)', table_html)
    rows = []
    for name, cells in re.findall(r'<tr data-status=.*?<span class="pg-dot"></span>([^<]*)</th>(.*?)</tr>', table_html):
        texts = [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", cells)]
        rows.append(dict(zip(headers, [name, *texts], strict=True)))
    return rows


def run(client: Client, **kwargs) -> list[tuple]:
    """Every update the run endpoint sent, the final one last."""
    job = client.submit(**kwargs, api_name="/run")
    final = job.result(timeout=120)
    updates = job.outputs()
    return updates if updates and updates[-1] == final else [*updates, final]  # the list may lag the result


# --- streaming --------------------------------------------------------------------------------


def test_run_streams_all_columns_at_once_and_each_text_only_grows(client, tiny):
    models = [tiny["tiny-gpt2"], tiny["tiny-llama-chat"], tiny["tiny-llama-chat"]]
    outputs = run(client, **run_args(models, preset="tiny-trio", max_new_tokens=24))

    columns = [[value(c) for c in out[COLUMNS]] for out in outputs]
    statuses = [[status(c) for c in cols] for cols in columns]
    assert statuses[0] == ["loading"] * 3
    assert statuses[-1] == ["done"] * 3
    assert any(row.count("running") >= 2 for row in statuses), "two columns never ran at the same time"
    finals = [column_text(c) for c in columns[-1]]
    for slot in range(3):
        partial = [
            column_text(cols[slot]) for cols, row in zip(columns, statuses, strict=True) if row[slot] == "running"
        ]
        assert len([p for p in partial if p]) >= 2, f"column {slot + 1} showed no intermediate text"
        assert all(finals[slot].startswith(p) for p in partial)
    assert len(outputs) >= 10


def test_preset_template_choice_is_kept_per_column(client, tiny):
    models = [tiny["tiny-gpt2"], tiny["tiny-llama-chat"], tiny["tiny-llama-chat"]]
    final = run(client, **run_args(models, preset="tiny-trio", max_new_tokens=4))[-1]
    gpt2, chat, plain = (value(c) for c in final[COLUMNS])
    assert "(chat template)" in chat and "&lt;|user|&gt;" in chat and "with its chat template" in chat
    assert "(plain prompt)" in plain and "&lt;|user|&gt;" not in plain
    assert "plain text after the document-start token" in gpt2


def test_finished_run_fills_metrics_charts_tokens_and_facts(client, tiny):
    models = [tiny["tiny-gpt2"], tiny["tiny-llama-chat"]]
    final = run(client, **run_args(models))[-1]

    rows = metric_rows(value(final[METRICS]))
    assert list(rows[0]) == list(report.COLUMNS)
    assert [row["model"] for row in rows] == ["tiny-gpt2", "tiny-llama-chat"]
    assert all(row["status"] == "done" and float(row["perplexity"].replace(",", "")) > 1 for row in rows)
    assert all(row["new tokens"] == "12" for row in rows)
    assert value(final[COLUMNS][2]) == "", "the unused third column should be empty and hidden"
    assert final[COLUMNS][2]["visible"] is False
    assert value(final[STATUS]).startswith("Finished")
    assert value(final[CHARTS]).count('class="pg-chart"') == 5
    tokens, surprise = value(final[TOKENIZERS]), value(final[SURPRISE])
    assert tokens.count('class="pg-blk"') >= 5 and "bits per byte" in tokens
    assert "surprisal" in surprise and "rank" in surprise
    assert "continues the prompt" in value(final[GUIDE])
    facts = value(final[FACTS])
    rows = {name.strip(): cells for name, cells in re.findall(r'<th scope="row">([^<]+).*?</th>(.*?)</tr>', facts)}
    assert rows["heads / KV heads"].count("pg-differs") == 2, "differing heads are not highlighted"
    assert "pg-differs" not in rows["layers"], "equal layer counts are highlighted"


def test_stop_ends_the_run_and_no_column_keeps_spinning(client, tiny):
    job = client.submit(**run_args([tiny["tiny-gpt2"], tiny["tiny-llama-chat"]], max_new_tokens=512), api_name="/run")
    while not any("running" in str(value(c)) for out in job.outputs() for c in out[COLUMNS]):
        assert not job.done(), "the run ended before it could be stopped"
        time.sleep(0.02)
    client.predict(api_name="/stop")
    final = job.result(timeout=60)
    statuses = [status(value(c)) for c in final[COLUMNS][:2]]
    assert "running" not in statuses and "loading" not in statuses
    assert "Stopped before it finished." in "".join(value(c) for c in final[COLUMNS])


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("   \n ", "The prompt is empty"),
        ("x" * 1_000_000, f"the limit is {MAX_PROMPT_CHARS:,}"),
    ],
)
def test_whole_request_problems_are_page_errors(client, tiny, prompt, message):
    models = [tiny["tiny-gpt2"], tiny["tiny-llama-chat"]]
    with pytest.raises(AppError, match=message):
        client.predict(**run_args(models, prompt=prompt), api_name="/run")
    with pytest.raises(AppError, match=message):
        client.predict(model_1=models[0], model_2=models[1], prompt=prompt, api_name="/compare")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_new_tokens": "many"}, "max new tokens must be a number"),
        ({"max_new_tokens": 4000}, "between 1 and 512 here \\(got 4,000\\)"),
        ({"max_new_tokens": 0}, "between 1 and 512 here \\(got 0\\)"),
        ({"seed": -1}, "seed must be between 0"),
        ({"chat_template": "Maybe"}, "chat template must be one of Auto, On, Off"),
        ({"sampling": True, "temperature": 0}, "temperature must be between"),
        ({"model_2": 42}, "model 2 must be text"),
    ],
)
def test_malformed_api_calls_are_explained(client, tiny, settings, message):
    call = {"model_1": tiny["tiny-gpt2"], "model_2": tiny["tiny-llama-chat"], "prompt": PROMPT} | settings
    with pytest.raises(AppError, match=message):
        client.predict(**call, api_name="/compare")


def test_one_model_is_not_a_comparison(client, tiny):
    with pytest.raises(AppError, match="Compare 2 or 3 models; 1 given"):
        client.predict(**run_args([tiny["tiny-gpt2"]]), api_name="/run")


def test_a_bad_model_fails_in_its_own_column_while_the_others_finish(client, tiny):
    final = run(client, **run_args([tiny["tiny-gpt2"], tiny["not-a-model"], "no such model!"]))[-1]
    good, empty_folder, bad_id = (value(c) for c in final[COLUMNS])
    assert status(good) == "done" and column_text(good)
    assert status(empty_folder) == "error" and "holds no model (no config.json)" in empty_folder
    assert status(bad_id) == "error" and "is not a valid model id" in bad_id
    assert value(final[STATUS]).endswith("2 of 3 failed")
    assert "holds no model" in value(final[MISSING])
    rows = metric_rows(value(final[METRICS]))
    assert [row["status"] for row in rows] == ["done", "error", "error"]
    assert 'class="pg-na" title="Folder' in value(final[METRICS]), "an empty cell does not say why"


# --- exports and the JSON API -----------------------------------------------------------------


def test_exports_have_one_result_and_one_csv_row_per_model(client, tiny):
    models = [tiny["tiny-gpt2"], tiny["tiny-llama-chat"], tiny["not-a-model"]]
    final = run(client, **run_args(models, preset="tiny-trio"))[-1]
    exported = json.loads(Path(value(final[JSON_FILE])).read_text())
    assert [r["status"] for r in exported["results"]] == ["done", "done", "error"]
    assert exported["request"]["prompt"] == PROMPT and exported["request"]["max_new_tokens"] == 12
    assert exported["results"][0]["score"]["tokens"], "per-token detail is missing from the JSON"
    rows = list(csv.reader(Path(value(final[CSV_FILE])).read_text().splitlines()))
    assert len(rows) == 1 + len(models)
    assert rows[0][0] == "model" and len(rows[0]) == len(report.COLUMNS)


def test_compare_endpoint_returns_the_comparison_as_json(client, tiny):
    result = client.predict(
        model_1=tiny["tiny-gpt2"],
        model_2=tiny["tiny-llama-chat"],
        prompt=PROMPT,
        max_new_tokens=6,
        api_name="/compare",
    )
    assert [r["status"] for r in result["results"]] == ["done", "done"]
    for r in result["results"]:
        assert 1 <= r["generation"]["new_tokens"] <= 6
        assert r["score"]["perplexity"] > 1
    streamed = run(client, **run_args([tiny["tiny-gpt2"], tiny["tiny-llama-chat"]], max_new_tokens=6))[-1]
    assert [column_text(value(c)) for c in streamed[COLUMNS][:2]] == [r["output"] for r in result["results"]]


def test_a_seed_reproduces_sampled_outputs(client, tiny):
    def sample(seed: int) -> list[str]:
        result = client.predict(
            model_1=tiny["tiny-gpt2"],
            model_2=tiny["tiny-llama-chat"],
            prompt=PROMPT,
            max_new_tokens=16,
            sampling=True,
            temperature=1.0,
            top_p=1.0,
            seed=seed,
            api_name="/compare",
        )
        return [r["output"] for r in result["results"]]

    first = sample(7)
    assert sample(7) == first
    assert sample(8) != first


# --- models, presets and links ----------------------------------------------------------------


def test_load_models_shows_facts_and_reports_each_model(client, tiny):
    facts, guide, status_md = client.predict(
        **settings_args([tiny["tiny-gpt2"], tiny["tiny-llama-chat"], tiny["not-a-model"]]), api_name="/load_models"
    )
    assert facts.count('<th scope="row">') == len(views_facts.FACT_ROWS)
    assert "holds no model" in facts and "holds no model" in status_md
    assert "continues the prompt" in guide


def test_choosing_a_preset_fills_slots_prompt_and_examples(client, tiny):
    out = client.predict("tiny-trio", api_name="/select_preset")
    m1, m2, m3, info, prompt, target, examples, template, notes, task, source, target_lang, columns = out
    preset = tiny_presets(tiny)["tiny-trio"]
    assert [m1, m2, m3] == [m.id for m in preset.models]
    assert value(prompt) == preset.prompts[0] and template == "Auto"
    assert notes.startswith("**What to look for:**") and preset.notes in notes
    assert (task, source, target_lang, columns) == ("", "", "", "Same for every column")
    assert [s[0] for s in examples["samples"]] == preset.prompts
    assert "without its chat template" in info


def test_share_link_carries_the_settings(client, tiny):
    args = settings_args(
        [tiny["tiny-gpt2"], tiny["tiny-llama-chat"]], prompt="Why & how?", seed=42, decoding="Sampling"
    )
    link = client.predict(**args, api_name="/share_link")
    parts = urlsplit(link)
    assert parts.scheme == "http" and parts.netloc
    decoded, warnings = share.decode(dict(parse_qsl(parts.query)), tiny_presets(tiny), "tiny-pair")
    assert warnings == []
    assert decoded.prompt == "Why & how?" and decoded.seed == 42 and decoded.decoding == "Sampling"
    assert decoded.models == (tiny["tiny-gpt2"], tiny["tiny-llama-chat"], "")


def test_a_broken_link_falls_back_to_defaults_and_says_why(tiny):
    query = {"preset": "nope", "temperature": "hot", "seed": "-5", "decoding": "beam", "prompt": "p" * 30_000}
    settings, warnings = share.decode(query, tiny_presets(tiny), "tiny-pair")
    assert settings.preset == "tiny-pair" and settings.temperature == share.Settings().temperature
    assert settings.seed == 0 and settings.decoding == "Greedy" and len(settings.prompt) == MAX_PROMPT_CHARS
    assert len(warnings) == 5 and any("Unknown preset 'nope'" in w for w in warnings)


def test_text_from_users_and_models_is_escaped(client, tiny):
    final = run(client, **run_args([tiny["tiny-gpt2"], tiny["tiny-llama-chat"]], prompt="<b>bold</b> ${x}"))[-1]
    for part in [*(value(c) for c in final[COLUMNS][:2]), value(final[TOKENIZERS]), value(final[SURPRISE])]:
        assert "<b>bold" not in part and "${" not in part
    assert "&lt;" in value(final[TOKENIZERS]) and "&lt;" in value(final[SURPRISE])
    assert "&lt;b&gt;bold&lt;/b&gt; &#36;&#123;x&#125;" in value(final[COLUMNS][0])


# --- what the server allows beyond the page's events (README, Security) -------------------------


def test_the_server_takes_no_uploads_and_has_no_monitoring(page):
    import httpx

    url = page[0]
    upload = httpx.post(f"{url}/gradio_api/upload", files={"files": ("a.txt", b"x" * 4096)}, timeout=30)
    assert upload.status_code == 413, upload.text[:200]
    for path in ("/monitoring", "/monitoring/summary"):
        assert httpx.get(url + path, timeout=30).status_code in (403, 404), path
    for path in ("/gradio_api/file=/etc/passwd", "/gradio_api/file=app.py"):
        assert httpx.get(url + path, timeout=30).status_code in (403, 404), path


def test_compare_refuses_sampling_given_as_text(client, tiny):
    with pytest.raises(AppError, match="sampling must be true or false"):
        client.predict(
            model_1=tiny["tiny-gpt2"], model_2=tiny["tiny-gpt2"], prompt=PROMPT, sampling="false", api_name="/compare"
        )


def test_old_exports_are_pruned_and_fresh_ones_kept(client, tiny, page):
    import os

    import app

    exports = page[1] / "exports"
    exports.mkdir(exist_ok=True)
    old, fresh = exports / "old-run", exports / "fresh-run"
    for folder in (old, fresh):
        folder.mkdir(exist_ok=True)
        (folder / "comparison.json").write_text("{}")
    hours_ago = time.time() - app.EXPORT_SECONDS - 60
    os.utime(old, (hours_ago, hours_ago))
    run(client, **run_args([tiny["tiny-gpt2"], tiny["tiny-llama-chat"]], max_new_tokens=2))
    assert not old.exists() and fresh.exists()


def test_a_full_disk_costs_the_downloads_not_the_comparison(client, tiny, page, monkeypatch):
    import errno

    import app

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(app.tempfile, "mkdtemp", full)
    final = run(client, **run_args([tiny["tiny-gpt2"], tiny["tiny-llama-chat"]], max_new_tokens=2))[-1]
    assert [status(value(c)) for c in final[COLUMNS][:2]] == ["done", "done"]
    assert value(final[JSON_FILE]) is None and value(final[CSV_FILE]) is None
