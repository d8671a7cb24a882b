"""``playground.compare_many`` as a notebook calls it: plain strings in, a DataFrame out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import playground
from playground.api import check_models_argument, check_prompts_argument, check_sampling
from playground.compare import Column
from playground.errors import PlaygroundError
from playground.presets import get_preset

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def models(tiny_folders):
    return [tiny_folders["gpt2"], tiny_folders["llama"]]


def test_one_call_gives_one_row_per_prompt_and_model_with_units(models, cache):
    runs = playground.compare_many(models, ["A cat sat.", "The quick brown fox"], max_new_tokens=3, cache=cache)
    frame = runs.to_frame()
    assert len(frame) == 4 and list(frame["prompt #"]) == [1, 1, 2, 2]
    assert list(frame["model"]) == models * 2 and set(frame["status"]) == {"done"}
    for column in ("time to first token (s)", "total time (s)", "weights (MB)", "decode speed (tokens/s)"):
        assert column in frame.columns
    assert (frame["perplexity"] > 1).all() and (frame["bits per byte"] > 0).all()
    assert set(frame["perplexity of"]) == {"the prompt"}
    assert (frame["new tokens"] <= 3).all() and (frame["weights (MB)"] > 0).all()


def test_a_single_string_is_one_prompt(models, cache):
    runs = playground.compare_many(models, "Hello there", max_new_tokens=2, cache=cache)
    assert [run.prompt for run in runs.runs] == ["Hello there"] and len(runs.results) == 2


def test_columns_keep_their_own_decoding(tiny_folders, cache):
    gpt2 = tiny_folders["gpt2"]
    columns = [Column(gpt2, do_sample=False), Column(gpt2, do_sample=True)]
    outputs = [
        [
            r.output
            for r in playground.compare_many(columns, "The quick", max_new_tokens=12, seed=s, cache=cache).results
        ]
        for s in (1, 2, 3)
    ]
    assert len({greedy for greedy, _ in outputs}) == 1 and len({sampled for _, sampled in outputs}) > 1


@pytest.mark.parametrize(
    ("models", "prompts", "settings", "said"),
    [
        ("gemma-3-270m", "Hi", {}, "models must be a list of 2 or 3 models"),
        ("offline-default", "Hi", {}, "pass playground.presets.get_preset('offline-default')"),
        (["a/b"], "Hi", {}, "Compare 2 or 3 models; 1 given"),
        (["a/b", 3], "Hi", {}, "Each model must be a name or a Column"),
        (None, "Hi", {}, "models must be a list"),
        (["a/b", "c/d"], 5, {}, "prompts must be a text or a non-empty list"),
        (["a/b", "c/d"], [], {}, "prompts must be a text or a non-empty list"),
        (["a/b", "c/d"], ["ok", None], {}, "Prompt 2 must be text"),
        (["a/b", "c/d"], "Hi", {"max_tokens": 5}, "Did you mean 'max_new_tokens'?"),
        (["a/b", "c/d"], "Hi", {"temperature": 0.5}, "pass do_sample=True"),
        (["a/b", "c/d"], "Hi", {"device": "gpu"}, "no CUDA GPU"),
        (["a/b", "c/d"], "Hi", {"max_new_tokens": "5"}, "max new tokens must be a whole number"),
        (["a/b", "c/d"], "", {}, "The prompt is empty"),
    ],
)
def test_argument_mistakes_get_a_message(models, prompts, settings, said):
    with pytest.raises(PlaygroundError) as error:
        playground.compare_many(models, prompts, **settings)
    assert said in str(error.value)


def test_a_preset_gives_its_columns_and_its_first_prompt():
    preset = get_preset("decoding")
    columns, given = check_models_argument(preset)
    assert given is preset and [c.do_sample for c in columns] == [False, True]
    assert check_prompts_argument(None, preset) == [preset.prompts[0]]
    check_sampling(columns, {"temperature": 0.7})  # a sampled column: the temperature applies to it


def test_torch_threads_are_as_they_were(models, cache):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        playground.compare_many(models, "Hi", max_new_tokens=2, cache=cache)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_an_offline_hub_id_fails_at_once_without_retries(models, tmp_path):
    """The Hub is not reachable here: the probe must notice it, with HF_HUB_OFFLINE unset."""
    script = (
        "import json, playground\n"
        f"runs = playground.compare_many(['openai-community/gpt2', {models[0]!r}], 'Hi', max_new_tokens=2)\n"
        "print(json.dumps([(r.status, r.error) for r in runs.results]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env["PYTHONPATH"] = str(ROOT)
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    seconds = time.monotonic() - start
    assert done.returncode == 0, done.stderr[-2000:]
    (hub_status, hub_error), (tiny_status, _) = json.loads(done.stdout.splitlines()[-1])
    assert hub_status == "error" and "not available offline" in hub_error and tiny_status == "done"
    assert "Retrying" not in done.stderr and seconds < 60, f"took {seconds:.0f} s"


def test_results_export_as_the_versioned_json(models, cache):
    runs = playground.compare_many(models, ["One", "Two"], max_new_tokens=2, cache=cache)
    data = json.loads(runs.to_json())
    assert data["schema_version"].startswith("1.") and data["producer"] == "python"
    assert data["prompts"] == ["One", "Two"] and len(data["results"]) == 4
    assert data["settings"]["max_new_tokens"] == 2 and data["request"] == {"max_new_tokens": 2}


def test_why_lists_each_prompts_causes_as_the_export_does(models, cache):
    runs = playground.compare_many(models, ["A cat sat on the mat.", "Hello"], max_new_tokens=3, cache=cache)
    why = runs.why()
    assert len(why) == 2 and all(why)
    tokens = next(c for c in why[0] if c.cause == "tokens")
    assert tokens.numbers["tokens"] == {
        "gpt2": runs.runs[0].results[0].text_tokens,
        "llama": runs.runs[0].results[1].text_tokens,
    }
    exported = json.loads(runs.to_json())["why"]
    assert [(c["prompt_index"], c["cause"], c["sentence"]) for c in exported] == [
        (index, c.cause, c.sentence) for index, causes in enumerate(why) for c in causes
    ]


def test_the_version_comes_from_the_package():
    assert playground.__version__ and playground.__version__ != "0+unknown"
    assert playground.__version__[0].isdigit()


def test_the_readme_chart_draws_without_matplotlib(models, cache):
    runs = playground.compare_many(models, ["One", "Two"], max_new_tokens=2, cache=cache)
    chart = runs.to_frame().pivot(index="prompt", columns="model", values="bits per byte")
    assert chart.shape == (2, 2) and (chart > 0).all().all()
    html = chart.style.bar(color="#8ab4f8", vmin=0).format("{:.3f}").to_html()
    assert "linear-gradient" in html and all(f"{v:.3f}" in html for v in chart.to_numpy().ravel())
