"""The versioned JSON export: every export the command line and the report write validates against
the published JSON Schema, and docs/export-schema.md describes every field of it."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
import torch

from playground import api, export, report
from playground.cli import main
from playground.compare import Column, Request, compare
from playground.generation import GenerationSettings
from web.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads(export.SCHEMA_FILE.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
LINE = jsonschema.Draft202012Validator({"$schema": SCHEMA["$schema"], "$defs": SCHEMA["$defs"], "$ref": "#/$defs/line"})


def valid(document: dict) -> dict:
    errors = sorted(VALIDATOR.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    return document


@pytest.fixture(scope="module")
def mixed(tiny_folders, cache):
    """Every kind in one comparison: decoders, a masked LM, an embedding encoder, an encoder-decoder."""
    request = Request("A cat sat on the [MASK].", generation=GenerationSettings(max_new_tokens=3))
    first = compare([tiny_folders["gpt2"], tiny_folders["bert-mlm"], tiny_folders["bert"]], request, cache)
    second = compare([tiny_folders["llama"], tiny_folders["t5"]], request, cache)
    return request, first, second


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert re.fullmatch(SCHEMA["properties"]["schema_version"]["pattern"], export.SCHEMA_VERSION)


def test_every_command_line_export_validates(cli_run, tiny_folders, tmp_path):
    models = [tiny_folders["gpt2"], tiny_folders["bert"], tiny_folders["bert-mlm"]]
    out = tmp_path / "runs.json"
    options = ["--models", *models, "--prompt", "One [MASK]", "--prompt", "Two", "--max-new-tokens", "2", "--quiet"]
    code, printed = cli_run(*options, "--json", out, "--format", "json")
    assert code == 0
    written, shown = valid(json.loads(out.read_text())), valid(json.loads(printed))
    assert written["results"] == shown["results"] and written["producer"] == "command line"
    code, printed = cli_run(*options, "--format", "jsonl")
    lines = [json.loads(line) for line in printed.splitlines()]
    assert code == 0 and len(lines) == 6
    for line in lines:
        errors = list(LINE.iter_errors(line))
        assert not errors, errors[0].message


def test_a_failed_model_still_gives_a_valid_export(cli_run, tiny_folders, tmp_path):
    broken = tmp_path / "no-weights"  # a config with no weights beside it: it fails when it loads
    broken.mkdir()
    shutil.copy(Path(tiny_folders["gpt2"]) / "config.json", broken / "config.json")
    code, printed = cli_run("--models", tiny_folders["gpt2"], broken, "--prompt", "Hi", "--format", "json", "--quiet")
    data = valid(json.loads(printed))
    failed = data["results"][1]
    assert code == 1 and failed["status"] == "error" and "weight" in failed["error"]
    assert failed["facts"] is None and failed["metrics"]["perplexity"]["missing"] == failed["error"]


def test_the_reports_json_follows_the_schema_for_every_kind(mixed):
    request, first, second = mixed
    for results in (first, second):
        data = valid(json.loads(report.to_json(results, {"text": request.text}, request=request)))
        assert [r["status"] for r in data["results"]] == ["done"] * len(results)
    data = json.loads(report.to_json(first, request=request))
    gpt2, mlm, encoder = data["results"]
    assert gpt2["score"]["covers"]["text"].startswith("the prompt")
    assert gpt2["score"]["covers"]["document_start"] == gpt2["facts"]["document_start"] == "<|endoftext|>"
    assert gpt2["metrics"]["perplexity"]["covers"] == gpt2["score"]["covers"]["text"]
    assert mlm["score"]["kind"] == "pseudo" and "masked" in mlm["metrics"]["perplexity"]["covers"]
    assert mlm["fill_mask"]["blanks"] and encoder["embeddings"]["dimension"] == 32
    assert encoder["metrics"]["perplexity"] == {
        "value": None,
        "unit": None,
        "missing": encoder["metrics"]["bits_per_byte"]["missing"],
    }
    assert "no probability" in encoder["metrics"]["perplexity"]["missing"]
    assert gpt2["metrics"]["time_to_first_token"]["unit"] == "s" and gpt2["metrics"]["weights"]["unit"] == "bytes"
    assert gpt2["source"] == {"type": "local", "name": gpt2["reference"], "revision": None, "package": None}


def test_the_pages_export_keeps_its_fields_and_reads_the_engine_settings(mixed, tiny_folders):
    _, first, _ = mixed
    models = (tiny_folders["gpt2"], tiny_folders["bert-mlm"], tiny_folders["bert"])
    form = Settings(
        preset="tiny",
        model_1=models[0],
        model_2=models[1],
        model_3=models[2],
        prompt="A cat sat on the [MASK].",
        max_new_tokens=3,
        decoding="Sampling",
        chat_template="Off",
    )
    data = valid(json.loads(report.to_json(first, form.as_dict())))  # the form alone, without the engine's request
    assert data["request"]["prompt"] == form.prompt and data["request"]["max_new_tokens"] == 3
    assert data["preset"] == "tiny" and data["prompts"] == [form.prompt]
    assert data["settings"]["do_sample"] is True and data["settings"]["use_chat_template"] is False
    assert [r["reference"] for r in data["results"]] == list(models)
    assert data["results"][0]["score"]["tokens"] and data["results"][0]["generation"]["new_tokens"] <= 3


def test_the_envelope_says_when_where_and_with_what(mixed):
    request, first, _ = mixed
    data = json.loads(report.to_json(first, request=request, producer="api"))
    created = datetime.fromisoformat(data["created"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60
    assert data["versions"]["torch"] == torch.__version__ and data["versions"]["playground"]
    assert data["machine"]["cpu_count"] == os.cpu_count() and data["machine"]["device"] == "cpu"
    assert data["machine"]["torch_threads"] == torch.get_num_threads()
    assert data["machine"]["threads_per_model"] == max(1, (os.cpu_count() or 1) // 3)
    assert data["settings"]["max_new_tokens"] == 3 and data["producer"] == "api"


def test_numbers_that_are_not_finite_are_written_as_null(mixed):
    request, first, _ = mixed
    broken = replace(first[0], score=replace(first[0].score, perplexity=math.inf))
    text = report.to_json([broken, *first[1:]], request=request)
    data = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
    assert data["results"][0]["score"]["perplexity"] is None
    valid(data)


def test_the_csv_has_one_row_per_model_and_units_said_once(mixed):
    _, first, _ = mixed
    rows = report.to_csv(first).splitlines()
    assert len(rows) == 1 + len(first) and rows[0].startswith("model,")
    assert "bits per byte (bits)" not in rows[0] and "time to first token (s)" in rows[0]


def test_every_export_says_why_the_models_differ(cli_run, tiny_folders):
    models = [tiny_folders["gpt2"], tiny_folders["llama"]]
    options = ["--models", *models, "--prompt", "A cat sat on the mat.", "--prompt", "Hello", "--max-new-tokens", "3"]
    code, printed = cli_run(*options, "--format", "json", "--quiet")
    data = valid(json.loads(printed))
    assert code == 0 and data["schema_version"] == "1.1"
    assert {c["prompt_index"] for c in data["why"]} == {0, 1}
    tokens = next(c for c in data["why"] if c["prompt_index"] == 0 and c["cause"] == "tokens")
    counted = {"gpt2": data["results"][0]["text_tokens"], "llama": data["results"][1]["text_tokens"]}
    assert tokens["numbers"]["tokens"] == counted and counted["gpt2"] != counted["llama"]
    assert f"gpt2 {counted['gpt2']}, llama {counted['llama']}" in tokens["sentence"]
    code, printed = cli_run(*options, "--format", "jsonl", "--quiet")
    lines = [json.loads(line) for line in printed.splitlines()]
    for line, neighbour in zip(lines[::2], lines[1::2], strict=True):  # two models: two lines per prompt
        assert not list(LINE.iter_errors(line)) and not list(LINE.iter_errors(neighbour))
        assert line["why"] == neighbour["why"] and {c["prompt_index"] for c in line["why"]} == {line["prompt_index"]}
        # another run: the same causes (its timings differ)
        same_prompt = [c for c in data["why"] if c["prompt_index"] == line["prompt_index"]]
        assert [c["cause"] for c in line["why"]] == [c["cause"] for c in same_prompt]
    assert lines[0]["why"][0] == tokens, "a tokenizer's counts do not change from run to run"


def test_the_reports_why_reads_the_request_and_each_columns_decoding(tiny_folders, cache):
    gpt2 = tiny_folders["gpt2"]
    columns = [Column(gpt2, do_sample=False), Column(gpt2, do_sample=True)]
    request = Request("The quick brown fox", generation=GenerationSettings(max_new_tokens=6, temperature=1.5, seed=3))
    results = compare(columns, request, cache)
    data = valid(json.loads(report.to_json(results, request=request, columns=columns)))
    decoding = next(c for c in data["why"] if c["cause"] == "decoding")
    assert decoding["numbers"]["sampled"] == {"gpt2 (greedy)": False, "gpt2 (sampled)": True}
    assert decoding["numbers"]["seed"] == 3 and "temperature 1.5" in decoding["sentence"]
    assert "tokens" not in {c["cause"] for c in data["why"]}, "one tokenizer: no token cause"
    # the page's form alone: no decoding settings, so no decoding cause, and still a valid document
    form = valid(json.loads(report.to_json(results, {"prompt": request.text, "models": [gpt2, gpt2]})))
    assert "decoding" not in {c["cause"] for c in form["why"]}


def test_the_schema_requires_why_from_version_1_1_on(mixed):
    request, first, _ = mixed
    data = json.loads(report.to_json(first, request=request))
    assert data["why"] and all(c["prompt_index"] == 0 for c in data["why"])
    without = {k: v for k, v in data.items() if k != "why"}
    assert any("'why' is a required property" in e.message for e in VALIDATOR.iter_errors(without))
    valid({**without, "schema_version": "1.0"})  # a file written before why still validates
    unknown = {**data, "why": [{**data["why"][0], "cause": "mood"}]}
    assert list(VALIDATOR.iter_errors(unknown)), "a cause the documentation does not name"


def test_the_documentation_describes_every_field():
    text = (ROOT / "docs" / "export-schema.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+)`", text))

    def names(node) -> set[str]:
        found = set()
        if isinstance(node, dict):
            found |= set(node.get("properties", {}))
            for value in node.values():
                found |= names(value)
        elif isinstance(node, list):
            for value in node:
                found |= names(value)
        return found

    missing = sorted(names(SCHEMA) - documented)
    assert not missing, f"docs/export-schema.md does not describe: {missing}"
    assert "playground/export-schema.json" in text and export.SCHEMA_VERSION in text


@pytest.fixture
def cli_run(monkeypatch, capsys):
    monkeypatch.setattr(api, "_caches", {})
    for name in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        monkeypatch.delenv(name, raising=False)

    def run(*args) -> tuple[int, str]:
        code = main([str(a) for a in args])
        return code, capsys.readouterr().out

    yield run
    import transformers

    transformers.utils.logging.enable_progress_bar()
