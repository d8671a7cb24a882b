"""The command line as a student uses it: many prompts in one process, tables, formats, exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import transformers

from playground import api
from playground.cli import EXIT_CODES, main
from playground.cli_inputs import parse_prompt_file, read_prompts
from playground.cli_table import format_table
from playground.compare import Request, compare
from playground.errors import PlaygroundError

ROOT = Path(__file__).resolve().parent.parent
MISSING_MARK = re.compile(r"—\[(\d+)\]")


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run the command in this process with a fresh model cache; undo what --quiet turns off."""
    monkeypatch.setattr(api, "_caches", {})
    for name in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        monkeypatch.delenv(name, raising=False)  # restored (unset) after the test

    def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    transformers.utils.logging.enable_progress_bar()


@pytest.fixture
def two(tiny_folders):
    return ["--models", tiny_folders["gpt2"], tiny_folders["llama"], "--max-new-tokens", "3"]


def test_many_prompts_run_in_one_process_and_the_models_load_once(cli, two, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("A cat sat.\n\nThe quick brown fox\nPhotosynthesis turns sunlight\n", encoding="utf-8")
    out_json = tmp_path / "runs.json"
    code, out, _ = cli(*two, "--prompt", "First", "--prompt", "Second", "--prompts", prompts, "--json", out_json)
    assert code == 0
    data = json.loads(out_json.read_text())
    expected = ["First", "Second", "A cat sat.", "The quick brown fox", "Photosynthesis turns sunlight"]
    assert data["prompts"] == expected
    assert [(r["prompt_index"], r["prompt"]) for r in data["results"]] == [
        (i, p) for i, p in enumerate(expected) for _ in range(2)
    ]
    assert [r["load_cached"] for r in data["results"]] == [False, False] + [True, True] * 4
    for number, prompt in enumerate(expected, start=1):
        assert f"Prompt {number} of 5: {prompt}" in out


def test_csv_and_jsonl_have_one_row_per_prompt_and_model(cli, two):
    code, out, _ = cli(*two, "--prompt", "One", "--prompt", "Two", "--format", "csv", "--quiet")
    rows = list(csv.reader(io.StringIO(out)))
    assert code == 0 and rows[0][:3] == ["prompt #", "prompt", "model"] and "time to first token (s)" in rows[0]
    assert [(r[0], r[1]) for r in rows[1:]] == [("1", "One"), ("1", "One"), ("2", "Two"), ("2", "Two")]
    code, out, _ = cli(*two, "--prompt", "One", "--prompt", "Two", "--format", "jsonl", "--quiet")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [(x["prompt"], x["status"]) for x in lines] == [("One", "done")] * 2 + [("Two", "done")] * 2


def test_standard_input_is_one_prompt_or_a_prompt_file(cli, two):
    code, out, _ = cli(*two, "--prompt", "-", "--format", "json", "--quiet", stdin="Line one\nline two\n")
    assert code == 0 and json.loads(out)["prompts"] == ["Line one\nline two\n"]
    jsonl = '{"prompt": "Bonjour", "id": 1}\n{"prompt": "Hello\\nthere"}\n'
    code, out, _ = cli(*two, "--prompts", "-", "--format", "json", "--quiet", stdin=jsonl)
    assert code == 0 and json.loads(out)["prompts"] == ["Bonjour", "Hello\nthere"]


def test_prompt_files_are_lines_or_json_lines(tmp_path):
    assert parse_prompt_file("a\n\n  b  \n", "f", jsonl=None) == ["a", "b"]
    assert parse_prompt_file('{"prompt": "x"}\n\n{"prompt": "y", "tag": 2}', "f", jsonl=None) == ["x", "y"]
    assert parse_prompt_file('{"prompt": "x"}\nplain', "f", jsonl=None) == ['{"prompt": "x"}', "plain"]
    with pytest.raises(PlaygroundError, match=r"f, line 3: each JSON line needs a \"prompt\" key"):
        parse_prompt_file('{"prompt": "x"}\n\n{"text": "y"}', "f", jsonl=True)
    with pytest.raises(PlaygroundError, match="f, line 1: not a JSON object"):
        parse_prompt_file("not json", "f", jsonl=True)
    path = tmp_path / "p.jsonl"
    path.write_text('{"prompt": "one"}\n', encoding="utf-8")
    assert read_prompts(["first"], [str(path)]) == ["first", "one"]
    with pytest.raises(PlaygroundError, match="Standard input can be read once"):
        read_prompts(["-"], ["-"])


def test_the_table_fits_100_columns_with_numbers_right_aligned_and_empty_cells_explained(cli, tiny_folders):
    models = [tiny_folders["gpt2"], tiny_folders["llama"], tiny_folders["bert"]]
    code, out, _ = cli("--models", *models, "--prompt", "A cat sat on the mat.", "--max-new-tokens", "4", "--quiet")
    lines = out.splitlines()
    assert code == 0 and max(len(line) for line in lines) <= 100
    rows = {line[:24].strip(): line for line in lines if line[:24].strip() and not line.startswith("[")}
    for label in ("perplexity of the prompt", "bits per byte", "time to first token (ms)", "total time (s)"):
        assert label in rows, f"no row '{label}'"
    assert re.search(r"\d+\.\d{3}\b", rows["bits per byte"]) and re.search(r"\d+\.\d{2}\b", rows["total time (s)"])
    # right-aligned: each column's numbers end where its header column ends
    ends = [[m.end() for m in re.finditer(r"(—\[\d+\]|[\d,.]+)(?=\s|$)", rows[label])] for label in rows if label]
    number_rows = [e for e, label in zip(ends, rows, strict=True) if label.endswith(("(ms)", "(s)", "byte", "tokens"))]
    assert len({tuple(e) for e in number_rows}) == 1, "numbers of one column should end at the same place"
    marks = set(MISSING_MARK.findall(out))
    assert marks, "the encoder has no perplexity: its cell should carry a footnote mark"
    for mark in marks:
        assert any(line.startswith(f"[{mark}] ") for line in lines), f"footnote [{mark}] is not explained"
    flat = " ".join(out.split())
    assert "assigns no probability" in flat and "document-start token in front" in flat


def test_each_prompts_table_ends_with_why_the_models_differ(cli, tiny_folders, tmp_path):
    models = [tiny_folders["gpt2"], tiny_folders["llama"], tiny_folders["bert"]]
    options = ["--models", *models, "--prompt", "A cat sat on the mat.", "--prompt", "Hello", "--max-new-tokens", "3"]
    code, out, _ = cli(*options, "--quiet", "--json", tmp_path / "runs.json")
    data = json.loads((tmp_path / "runs.json").read_text())  # the same run: the same timings
    assert code == 0 and out.count("Why they differ:") == 2
    second = out.index("Prompt 2 of 2")
    for index, part in enumerate((out[:second], out[second:])):
        block = part[part.index("Why they differ:") :].strip().splitlines()[1:]
        assert part.index("bits per byte") < part.index("Why they differ:"), "under the table"
        bullets = [line for line in block if line.startswith("• ")]
        assert all(line.startswith(("• ", "  ")) and len(line) <= 100 for line in block)
        sentences = [c["sentence"] for c in data["why"] if c["prompt_index"] == index]
        assert len(bullets) == len(sentences) >= 2
        assert [" ".join(b) for b in _bullets(block)] == sentences
    assert "Kind: gpt2 and llama: decoder" in " ".join(out.split())
    code, out, _ = cli(*options, "--quiet", "--no-why")
    assert code == 0 and "Why they differ" not in out and "• " not in out and "bits per byte" in out
    code, out, _ = cli(*options, "--quiet", "--format", "csv")
    assert code == 0 and "Why" not in out and "Kind:" not in out


def _bullets(lines: list[str]) -> list[list[str]]:
    """The wrapped lines of each bullet, without the bullet and the indent."""
    found: list[list[str]] = []
    for line in lines:
        if line.startswith("• "):
            found.append([])
        found[-1].append(line[2:])
    return found


def test_progress_goes_to_standard_error_and_quiet_prints_none(tiny_folders, tmp_path):
    command = [sys.executable, "-m", "playground", "--models", tiny_folders["gpt2"], tiny_folders["llama"]]
    command += ["--prompt", "Hello", "--max-new-tokens", "2"]
    env = {k: v for k, v in os.environ.items() if k not in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS")}
    env["PYTHONPATH"] = str(ROOT)
    loud = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert loud.returncode == 0 and "prompt 1 of 1" in loud.stderr and "prompt 1 of 1" not in loud.stdout
    assert "Loading weights" in loud.stderr, "transformers shows a progress bar unless quiet"
    quiet = subprocess.run([*command, "--quiet"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert quiet.returncode == 0 and quiet.stderr == "" and "perplexity of the prompt" in quiet.stdout


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--device", "gpu"], "no CUDA GPU"),
        (["--device", "cuda"], "no CUDA GPU"),
        (["--device", "tpu"], "Unknown device 'tpu'"),
        (["--dtype", "float8"], "Unknown dtype 'float8'"),
        (["--json", "/no/such/folder/out.json"], "the folder /no/such/folder does not exist"),
        (["--temperature", "0.7"], "--temperature only changes sampled columns"),
        (["--top-k", "3", "--top-p", "0.9"], "add --sample"),
        (["--max-new-tokens", "1000"], "between 1 and 512 here (got 1,000)"),
        (["--max-new-tokens", "0"], "between 1 and 512 here (got 0)"),
        (["--prompts", "/no/such/prompts.txt"], "no such file"),
        (["--prompt", "   "], "Prompt 2 is empty"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_any_model_loads(cli, two, options, said):
    code, out, err = cli(*two, "--prompt", "Hello", *options)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and said in err and err.count("\n") == 1 and "Traceback" not in err
    assert all(not cache.names() for cache in api._caches.values()), "a model was loaded before the check"


def test_the_new_token_cap_comes_from_the_environment(cli, two, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_NEW_TOKENS", "8")
    code, _, err = cli(*two, "--prompt", "Hello", "--max-new-tokens", "10")
    assert code == 2 and "between 1 and 8 here (got 10)" in err


def test_names_get_a_did_you_mean(cli, tiny_folders):
    code, _, err = cli("--preset", "ofline-default", "--prompt", "x")
    assert code == 2 and "Did you mean 'offline-default'?" in err
    typo = tiny_folders["gpt2"][:-1]  # ".../gpt" beside ".../gpt2"
    code, _, err = cli("--models", typo, tiny_folders["llama"], "--prompt", "x")
    assert code == 2 and f"Did you mean '{tiny_folders['gpt2']}'?" in err
    code, _, err = cli("--models", tiny_folders["gpt2"], "--prompt", "x")
    assert code == 2 and "Compare 2 or 3 models; 1 given" in err


def test_a_hub_model_offline_is_exit_3_with_the_closest_packaged_name(cli, tiny_folders):
    code, out, err = cli("--models", "smollm2-135m-instruc", tiny_folders["gpt2"], "--prompt", "x")
    assert code == 3 and out == "" and "cannot be reached" in err
    assert "Did you mean 'smollm2-135m-instruct'?" in err
    code, _, err = cli("--models", "openai-community/gpt2", tiny_folders["gpt2"], "--prompt", "x")
    assert code == 3 and "openai-community/gpt2 must come from the Hugging Face Hub" in err


def test_a_model_that_fails_is_exit_1_and_its_reason_is_under_the_table(cli, tiny_folders, tmp_path):
    broken = tmp_path / "no-weights"  # a config with no weights beside it: it fails when it loads
    broken.mkdir()
    shutil.copy(Path(tiny_folders["gpt2"]) / "config.json", broken / "config.json")
    code, out, _ = cli("--models", tiny_folders["gpt2"], broken, "--prompt", "Hi", "--max-new-tokens", "2", "--quiet")
    assert code == 1
    mark = re.search(r"error\[(\d+)\]", out).group(1)
    assert re.search(rf"^\[{mark}\] [^[]*weight", out, re.M)


def test_a_preset_file_decides_greedy_or_sampled_per_column(cli, tiny_folders, tmp_path):
    preset = tmp_path / "decoding-tiny.yaml"
    gpt2 = tiny_folders["gpt2"]
    preset.write_text(
        f"title: T\npurpose: P\nmodels:\n  - {{id: {gpt2}, do_sample: false}}\n  - {{id: {gpt2}, do_sample: true}}\n"
        "prompts: [The quick brown fox]\n",
        encoding="utf-8",
    )
    outputs = []
    for seed in range(1, 4):
        options = ["--preset", preset, "--max-new-tokens", "12", "--seed", seed, "--temperature", "1.5"]
        code, out, _ = cli(*options, "--format", "json", "--quiet")
        data = json.loads(out)
        assert code == 0 and [r["column"]["do_sample"] for r in data["results"]] == [False, True]
        assert "greedy" in data["results"][0]["model"] and "sampled" in data["results"][1]["model"]
        outputs.append([r["output"] for r in data["results"]])
    greedy, sampled = zip(*outputs, strict=True)
    assert len(set(greedy)) == 1, "the greedy column does not depend on the seed"
    assert len(set(sampled)) > 1, "the sampled column should change with the seed"


def test_help_states_the_exit_codes_defaults_and_examples(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    text = capsys.readouterr().out
    assert done.value.code == 0
    for code, meaning in EXIT_CODES.items():
        assert f"  {code}  {meaning}" in text
    flat = " ".join(text.split())  # argparse wraps the option help to the terminal's width
    for default in ("(default: 48)", "(default: 1.0)", "(default: 0, off)", "(default: table)"):
        assert default in flat
    assert "examples:" in text and "next-token" in text and "PLAYGROUND_MAX_NEW_TOKENS" in text
    for command in ("next-token", "surprise"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "exit codes:" in capsys.readouterr().out


def test_next_token_lists_each_models_candidates_after_the_cuts(cli, tiny_folders):
    models = [tiny_folders["gpt2"], tiny_folders["llama"]]
    code, out, _ = cli("next-token", "--models", *models, "--prompt", "The quick", "-k", "6", "--top-k", "3", "--quiet")
    assert code == 0 and out.count("== ") == 2
    rows = re.findall(r"^\s+(\d+)\s+\".*\"\s+([\d.]+)%\s+([\d.]+)%\s+(cut|[\d.]+%)$", out, re.M)
    assert len(rows) == 12
    for model_rows in (rows[:6], rows[6:]):
        probabilities = [float(p) for _, p, _, _ in model_rows]
        assert probabilities == sorted(probabilities, reverse=True)
        assert [sampled == "cut" for *_, sampled in model_rows] == [False] * 3 + [True] * 3  # top-k 3


def test_next_token_says_why_an_encoder_has_none(cli, tiny_folders):
    code, out, _ = cli(
        "next-token", "--models", tiny_folders["gpt2"], tiny_folders["bert"], "--prompt", "Hi", "--quiet"
    )
    assert code == 1 and "needs a model that writes text" in out


def test_surprise_aligns_the_models_and_lists_the_biggest_disagreements(cli, tiny_folders):
    text = "The quick brown fox jumps over the lazy dog."
    models = [tiny_folders["gpt2"], tiny_folders["llama"]]
    code, out, _ = cli("surprise", "--models", *models, "--prompt", text, "--top", "3", "--quiet")
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 100
    spans = re.findall(r'^"(.*?)"\s+[\d.]+\s+[\d.]+\s+[\d.]+$', out, re.M)
    assert "".join(spans) == text, "the spans should tile the text"
    hot = re.findall(r"^\s+\d\. .*\(spread ([\d.]+)\)$", out, re.M)
    assert len(hot) == 3 and [float(s) for s in hot] == sorted((float(s) for s in hot), reverse=True)


def test_memory_that_fell_is_explained_not_shown_as_growth(tiny_folders, cache):
    results = compare([tiny_folders["gpt2"], tiny_folders["llama"]], Request("Hi"), cache)
    table = format_table([replace(results[0], memory_growth_bytes=-25_700_000), results[1]])
    row = next(line for line in table.splitlines() if line.startswith("memory growth (MB)"))
    mark = re.search(r"—\[(\d+)\]", row).group(1)
    assert "-25.7" not in row and re.search(rf"^\[{mark}\] the process's memory fell by 25.7 MB", table, re.M)
