"""The page through its API: the launched app, called with gradio_client, on tiny real models.

The run endpoint is the one the page's Run button uses; its outputs are named in
``web.results.RUN_OUTPUTS`` (the three model columns, the run status, the facts card, ...). The
teaching views have their own tests in test_teaching_ui.py.
"""

from __future__ import annotations

import csv
import html
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from playground import report
from playground.limits import Limits
from tests.conftest_app import build_tiny_models, launch_page, tiny_presets, wait_until_idle
from tests.conftest_app import run_args as page_run_args
from web import share
from web.render import columns
from web.render import facts as facts_view
from web.render.metrics import METRICS as METRIC_ROWS
from web.results import RUN_OUTPUTS

COLUMNS = slice(0, 3)
API_OUTPUTS = tuple(name for name in RUN_OUTPUTS if name != "switch")
"""/run's outputs as an API client receives them (a button's update is the page's only)."""
STATUS, FACTS, GUIDE, METRICS, MISSING, CHARTS, SIZE, TOKENIZERS, SURPRISE, JSON_FILE, CSV_FILE, LINK = (
    API_OUTPUTS.index(name)
    for name in (
        "status", "facts", "guide", "metrics", "missing", "charts", "size", "tokens", "surprise", "json", "csv",
        "share",
    )
)  # fmt: skip
PROMPT = "The capital of France is"
MAX_PROMPT_CHARS = Limits().max_prompt_chars


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return build_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, tiny: dict[str, str]):
    from web import handlers

    interval, handlers.STREAM_INTERVAL_S = handlers.STREAM_INTERVAL_S, 0.0  # every token becomes an update
    tmp = tmp_path_factory.mktemp("page")
    demo, url = launch_page(tmp, tiny)
    yield url, tmp
    wait_until_idle()
    demo.close()
    handlers.STREAM_INTERVAL_S = interval


@pytest.fixture(scope="module")
def client(page) -> Client:
    return Client(page[0], verbose=False)


def link_args(models: list[str], prompt: str = PROMPT, **overrides) -> dict:
    """Keyword arguments of /share_link: the settings of a run and the display mode."""
    return run_args(models, prompt, **overrides) | {"projector": overrides.get("projector", False)}


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
    """The metrics table (one row per metric, one column per model) as {metric heading: cell text}
    per model, with the model's short name under "model"."""
    models = re.findall(r'<th scope="col" title="[^"]*"[^>]*><span class="pg-dot"></span>([^<]*)</th>', table_html)
    by_model = [{"model": html.unescape(name)} for name in models]
    for heading, cells in re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', table_html):
        texts = [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", cells)]
        for row, text in zip(by_model, texts, strict=True):
            row[html.unescape(heading)] = text
    return by_model


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
    assert list(rows[0]) == ["model", *(metric.heading for metric in METRIC_ROWS)]
    assert all("(" in metric.heading for metric in METRIC_ROWS if metric.label not in ("kind", "status", "dtype"))
    assert [row["model"] for row in rows] == ["tiny-gpt2", "tiny-llama-chat"]
    assert all(row["status"] == "done" and float(row["perplexity (per token)"].replace(",", "")) > 1 for row in rows)
    assert all(row["new tokens (tokens)"] == "12" for row in rows)
    assert all(float(row["time to first token (ms)"].replace(",", "")) > 0 for row in rows)
    # the decode path the lecture on deployment speed needs: the precision and the method, per model
    assert all(" · " in row["decoded with (precision · method)"] for row in rows), rows
    assert value(final[COLUMNS][2]) == columns.UNUSED, "the unused third column should be empty (and hidden)"
    assert "Finished in" in value(final[STATUS]) and f"for the prompt “{PROMPT}”" in value(final[STATUS])
    assert value(final[CHARTS]).count('class="pg-chart"') == 5
    tokens, surprise = value(final[TOKENIZERS]), value(final[SURPRISE])
    assert tokens.count('class="pg-blk"') >= 5 and "bits per byte" in tokens
    assert "surprisal" in surprise and "rank" in surprise
    assert "continues the prompt" in value(final[GUIDE])
    facts = value(final[FACTS])
    rows = {name.strip(): cells for name, cells in re.findall(r'<th scope="row">([^<]+).*?</th>(.*?)</tr>', facts)}
    # only a difference that explains the behaviour is highlighted (facts.differences): not 2 vs 4 heads
    assert "pg-differs" not in rows["heads / KV heads"], "a difference of heads is highlighted"
    assert "pg-differs" not in rows["layers"], "equal layer counts are highlighted"


def test_stop_keeps_the_text_so_far_in_a_neutral_stopped_state(client, tiny):
    job = client.submit(**run_args([tiny["tiny-gpt2"], tiny["tiny-llama-chat"]], max_new_tokens=512), api_name="/run")
    while not any(column_text(value(c)) for out in job.outputs() for c in out[COLUMNS][:2]):
        assert not job.done(), "the run ended before it could be stopped"
        time.sleep(0.02)
    client.predict(api_name="/stop")
    final = job.result(timeout=60)
    columns = [value(c) for c in final[COLUMNS][:2]]
    assert [status(c) for c in columns] == ["stopped", "stopped"]
    assert any(column_text(c) for c in columns), "the text so far should stay in the columns"
    assert "pg-error" not in "".join(columns) and "pg-badge-stopped" in columns[0]
    line = value(final[STATUS])
    assert 'data-phase="stopped"' in line and "Stopped after" in line and "failed" not in line
    assert [row["status"] for row in metric_rows(value(final[METRICS]))] == ["stopped", "stopped"]


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
        ({"max_new_tokens": "many"}, "max new tokens must be a finite number"),
        ({"max_new_tokens": 4000}, "between 1 and 512 here \\(got 4,000\\)"),
        ({"max_new_tokens": 0}, "between 1 and 512 here \\(got 0\\)"),
        ({"seed": -1}, "seed must be between 0"),
        ({"chat_template": "Maybe"}, "chat template must be one of 'Auto', 'On', 'Off'"),
        ({"decoding": "Sampling", "temperature": 0}, "temperature must be between 0.05 and 2"),
        ({"decoding": "beam"}, "decoding must be one of 'Greedy', 'Sampling'"),
        ({"seed": "7"}, "seed must be a finite number \\(got '7'\\)"),
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
    assert "2 of 3 failed" in value(final[STATUS])
    assert "holds no model" in value(final[MISSING])
    rows = metric_rows(value(final[METRICS]))
    assert [row["status"] for row in rows] == ["done", "error", "error"]
    assert "<li><b>no metrics</b>" in value(final[MISSING]), "the reasons are an HTML list, not Markdown"
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


def test_compare_says_why_the_columns_differ_with_the_columns_own_decoding(client, tiny):
    """/compare returns the "why" paragraph as {cause, sentence, numbers}, computed from what the
    engine ran: here the same model greedy in one column and sampled in the other."""
    result = client.predict(
        model_1=tiny["tiny-llama-chat"],
        model_2=tiny["tiny-llama-chat"],
        prompt=PROMPT,
        max_new_tokens=6,
        column_decoding="Column 1 greedy, the others sampled",
        api_name="/compare",
    )
    why = {c["cause"]: c for c in result["why"]}
    assert {"sentence", "numbers"} <= set(why["decoding"]) and "greedy" in why["decoding"]["sentence"]
    assert result["producer"] == "api" and result["results"][1]["reference"] == tiny["tiny-llama-chat"]


def test_a_seed_reproduces_sampled_outputs(client, tiny):
    def sample(seed: int) -> list[str]:
        result = client.predict(
            model_1=tiny["tiny-gpt2"],
            model_2=tiny["tiny-llama-chat"],
            prompt=PROMPT,
            max_new_tokens=16,
            decoding="Sampling",
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
    models = {"model_1": tiny["tiny-gpt2"], "model_2": tiny["tiny-llama-chat"], "model_3": tiny["not-a-model"]}
    facts, guide, loaded = client.predict(preset="tiny-pair", **models, api_name="/load_models")
    assert facts.count('<th scope="row">') == len(facts_view.FACT_ROWS)
    assert "holds no model" in facts and "holds no model" in loaded
    assert "continues the prompt" in guide


def test_choosing_a_preset_fills_slots_prompt_and_examples_and_clears_the_results(client, tiny):
    from web.selection import PRESET_OUTPUTS

    names = [name for name in PRESET_OUTPUTS if name not in ("tabs", "task_row")] + list(API_OUTPUTS)
    out = dict(zip(names, client.predict("tiny-trio", api_name="/select_preset"), strict=True))
    preset = tiny_presets(tiny)["tiny-trio"]
    assert [out["model_1"], out["model_2"], out["model_3"]] == [m.id for m in preset.models]
    assert value(out["prompt"]) == preset.prompts[0] and out["chat_template"] == "Auto"
    assert "What to look for:" in out["notes"] and html.escape(preset.notes, quote=False) in out["notes"]
    assert (out["task"], out["source_lang"], out["target_lang"]) == ("", "", "")
    assert out["column_decoding"] == "Same for every column"
    assert [s[0] for s in out["examples"]["samples"]] == preset.prompts
    assert "without its chat template" in out["preset_info"]
    assert out["target"]["visible"] is False, "nothing uses the second box yet"
    assert 'data-status="idle"' in value(out["column_1"]) and 'data-phase="idle"' in out["status"]
    assert "Run a comparison" in out["metrics"]


def test_share_link_carries_the_settings(client, tiny):
    args = link_args(
        [tiny["tiny-gpt2"], tiny["tiny-llama-chat"]],
        prompt="Why & how?",
        seed=42,
        decoding="Sampling",
        column_decoding="Column 1 greedy, the others sampled",
    )
    link = client.predict(**args, api_name="/share_link")
    parts = urlsplit(link)
    assert parts.scheme == "http" and parts.netloc
    decoded, warnings = share.decode(dict(parse_qsl(parts.query)), tiny_presets(tiny), "tiny-pair")
    assert warnings == []
    assert decoded.prompt == "Why & how?" and decoded.seed == 42 and decoded.decoding == "Sampling"
    assert decoded.models == (tiny["tiny-gpt2"], tiny["tiny-llama-chat"], "")
    assert decoded.column_decoding == "Column 1 greedy, the others sampled"


def test_a_broken_link_falls_back_to_defaults_and_says_why(tiny):
    query = {"preset": "nope", "temperature": "hot", "seed": "-5", "decoding": "beam", "prompt": "p" * 30_000}
    settings, warnings = share.decode(query, tiny_presets(tiny), "tiny-pair")
    assert settings.preset == "tiny-pair" and settings.temperature == 0.8
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
    # An empty file too (Gradio's size check alone let it through), and a multipart body anywhere.
    empty = httpx.post(f"{url}/gradio_api/upload", files={"files": ("empty.txt", b"")}, timeout=30)
    assert empty.status_code == 413 and "takes no uploads" in empty.text, empty.text[:200]
    elsewhere = httpx.post(f"{url}/gradio_api/queue/join", files={"files": ("e.txt", b"")}, timeout=30)
    assert elsewhere.status_code == 413
    for path in ("/monitoring", "/monitoring/summary"):
        assert httpx.get(url + path, timeout=30).status_code in (403, 404), path
    for path in ("/gradio_api/file=/etc/passwd", "/gradio_api/file=app.py"):
        assert httpx.get(url + path, timeout=30).status_code in (403, 404), path


def test_compare_refuses_a_decoding_it_does_not_know(client, tiny):
    with pytest.raises(AppError, match="The decoding must be one of 'Greedy', 'Sampling' \\(got 'false'\\)"):
        client.predict(
            model_1=tiny["tiny-gpt2"], model_2=tiny["tiny-gpt2"], prompt=PROMPT, decoding="false", api_name="/compare"
        )


def test_old_exports_are_pruned_and_fresh_ones_kept(client, tiny, page):
    import os

    from web.exports import EXPORT_SECONDS

    exports = page[1] / "exports"
    exports.mkdir(exist_ok=True)
    old, fresh = exports / "old-run", exports / "fresh-run"
    for folder in (old, fresh):
        folder.mkdir(exist_ok=True)
        (folder / "comparison.json").write_text("{}")
    hours_ago = time.time() - EXPORT_SECONDS - 60
    os.utime(old, (hours_ago, hours_ago))
    run(client, **run_args([tiny["tiny-gpt2"], tiny["tiny-llama-chat"]], max_new_tokens=2))
    assert not old.exists() and fresh.exists()


def test_a_full_disk_costs_the_downloads_not_the_comparison(client, tiny, page, monkeypatch):
    import errno

    from web import exports

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(exports.tempfile, "mkdtemp", full)
    final = run(client, **run_args([tiny["tiny-gpt2"], tiny["tiny-llama-chat"]], max_new_tokens=2))[-1]
    assert [status(value(c)) for c in final[COLUMNS][:2]] == ["done", "done"]
    assert value(final[JSON_FILE]) is None and value(final[CSV_FILE]) is None


# --- per-column decoding goes through the engine ------------------------------------------------


def test_greedy_next_to_sampled_keeps_each_columns_chat_template(client, tiny):
    """Column 1 greedy, the others sampled, on a preset that shows one model with and without its
    template: the plain column reads the plain prompt, the template column its template."""
    models = [tiny["tiny-gpt2"], tiny["tiny-llama-chat"], tiny["tiny-llama-chat"]]
    greedy_first = "Column 1 greedy, the others sampled"
    final = run(client, **run_args(models, preset="tiny-trio", column_decoding=greedy_first, max_new_tokens=3))[-1]
    gpt2, chat, plain = (value(c) for c in final[COLUMNS])
    assert "(greedy)" in gpt2
    assert "(chat template, sampled: T 0.8, top-p 0.95, seed 0)" in chat and "&lt;|user|&gt;" in chat
    assert "(plain prompt, sampled: T 0.8, top-p 0.95, seed 0)" in plain and "&lt;|user|&gt;" not in plain
    assert [status(c) for c in (gpt2, chat, plain)] == ["done"] * 3


class Completions(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that streams a three-piece answer and returns no prompt log-probabilities."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self._json(200, {"object": "list", "data": [{"id": "fake"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        if self.path != "/v1/completions":
            return self._json(404, {"error": {"message": "not here"}})
        if body.get("echo"):  # no prompt log-probabilities: the column says it has no perplexity
            return self._json(200, {"choices": [{"text": "", "logprobs": {}}]})
        events = [{"choices": [{"text": word, "finish_reason": None}]} for word in ("Once", " upon", " a")]
        events.append({"choices": [{"text": "", "finish_reason": "length"}]})
        payload = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(payload.encode())))
        self.end_headers()
        self.wfile.write(payload.encode())

    def _json(self, code: int, answer: dict):
        body = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_remote_column_runs_beside_a_local_one(client, tiny, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Completions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("PLAYGROUND_REMOTE_FAKE_URL", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        final = run(client, **run_args([tiny["tiny-gpt2"], "remote:fake", "remote:nobody"], max_new_tokens=3))[-1]
    finally:
        server.shutdown()
        server.server_close()
    local, remote_column, missing = (value(c) for c in final[COLUMNS])
    assert status(local) == "done" and status(remote_column) == "done", remote_column
    assert column_text(remote_column) == "Once upon a"
    assert status(missing) == "error" and "PLAYGROUND_REMOTE_NOBODY_URL" in missing


# --- one run, one set of views ------------------------------------------------------------------


def test_editing_the_prompt_during_a_run_stops_it_and_clears_its_views(client, tiny):
    job = client.submit(**run_args([tiny["tiny-gpt2"], tiny["tiny-llama-chat"]], max_new_tokens=512), api_name="/run")
    while not any(column_text(value(c)) for out in job.outputs() for c in out[COLUMNS][:2]):
        assert not job.done(), "the run ended before the prompt was edited"
        time.sleep(0.02)
    started = time.monotonic()
    cleared = dict(zip(API_OUTPUTS, client.predict(api_name="/prompt_edited"), strict=True))
    assert [status(value(cleared[f"column_{i}"])) for i in (1, 2)] == ["idle", "idle"]
    assert 'data-phase="idle"' in cleared["status"] and "Run a comparison" in value(cleared["tokens"])
    wait_until_idle(timeout=15)  # the engine stopped at its next token instead of writing 512
    assert time.monotonic() - started < 15
    nothing = client.predict(api_name="/prompt_edited")  # no run in flight: the results stay as they are
    assert all(isinstance(part, dict) and part.get("__type__") == "update" and "value" not in part for part in nothing)


@pytest.mark.parametrize(
    "payload",
    ['<img src="/favicon.ico?beacon">', '"><a href="https://example.org/phish">Log in</a>', "[Log in](javascript:x)"],
)
def test_a_crafted_model_name_is_shown_as_text_everywhere(client, tiny, payload):
    final = run(client, **run_args([tiny["tiny-gpt2"], tiny["tiny-llama-chat"], payload], max_new_tokens=2))[-1]
    shown = "".join(str(value(part)) for part in final)
    assert "<img" not in shown and "<a " not in shown, "a tag from the model field reached the page"
    assert html.escape(payload, quote=False).replace('"', "&quot;") in value(final[COLUMNS][2])


def test_the_views_drawn_after_the_comparison_stop_at_the_request_deadline():
    """Why they differ and the size, tokenizer and surprise views run under the request's deadline:
    past it, each says where it stopped instead of holding the queue."""
    from playground.compare import Request, Result
    from playground.limits import Deadline
    from web.results import final_views

    cut = []
    past = Deadline(180.0, time.monotonic() - 1)
    results = [Result("a", "done"), Result("b", "done")]
    views = final_views(Request(PROMPT), results, ["a", "b"], lambda ref, text: cut.append(ref) or [], past)
    assert set(views) == {"why", "size", "tokens", "surprise"}
    assert all("Stopped at the request time limit of 180 s" in view for view in views.values()), views
    assert cut == [], "no tokenizer ran past the deadline"


def test_the_status_line_shows_the_load_progress_and_a_neutral_stop():
    from playground.compare import Result
    from web.render import status as line

    loading = line.run_status([Result("a", "loading"), Result("b", "running")], 12.0, "Hi", load_fraction=0.4)
    assert 'data-phase="loading"' in loading and '<progress class="pg-load" max="1" value="0.400"' in loading
    assert "Loading models… 40%" in loading
    stopped = [Result("a", "stopped", output="so far", error="Stopped"), Result("b", "done")]
    shown = line.run_status(stopped, 3.2, "Hi", final=True, stopped=True)
    assert 'data-phase="stopped"' in shown and "Stopped after 3.2 s · 1 of 2 columns keep their text" in shown
    assert "failed" not in shown and "<progress" not in shown
    crafted = line.run_status([Result("a", "done")], 1.0, '"><img src=x>', final=True)
    assert "<img" not in crafted and 'data-prompt="&quot;&gt;&lt;img src=x&gt;"' in crafted
