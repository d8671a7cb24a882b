"""Preset files and the command line."""

import json
import shutil
from pathlib import Path

import pytest

import playground
from playground.__main__ import main
from playground.errors import PlaygroundError
from playground.packaged import PACKAGED
from playground.presets import DEFAULT_PRESET, PRESET_DIR, get_preset, load_preset, load_presets

GOOD = """title: T
purpose: P
models: [a/b, c/d]
prompts: [Hello]
"""


def test_every_preset_file_loads_and_the_default_is_offline():
    presets = load_presets()
    assert len(presets) >= 5
    default = presets[DEFAULT_PRESET]
    assert default.offline and all(m.id in PACKAGED for m in default.models)
    for preset in presets.values():
        assert 2 <= len(preset.models) <= 3 and preset.prompts and preset.purpose
        assert preset.offline or preset.offline_alternative  # online presets point to an offline one


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (GOOD.replace("models: [a/b, c/d]", "models: [a/b]"), "'models' must list 2 or 3 models (found 1)"),
        (GOOD.replace("models: [a/b, c/d]", "models: [a, b, c, d]"), "(found 4)"),
        (GOOD + "colour: red\n", "'colour' is not a known key"),
        (GOOD.replace("models: [a/b, c/d]", "models: [a/b, {id: c/d, tempo: 3}]"), "'models[1].tempo'"),
        (GOOD.replace("prompts: [Hello]", "prompts: []"), "'prompts'"),
        (GOOD.replace("title: T\n", ""), "'title' is required"),
        (GOOD + "offline: maybe\n", "'offline' must be true or false"),
        ("title: [unclosed", "could not be read"),
        (GOOD + "task: poetry\n", "'task' must be one of summarization"),
    ],
)
def test_bad_presets_name_the_file_and_the_key(tmp_path, text, key):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(PlaygroundError) as error:
        load_preset(path)
    assert "broken.yaml" in str(error.value) and key in str(error.value)


def test_command_line_compares_models_and_writes_json(tiny_folders, tmp_path, capsys):
    out = tmp_path / "out.json"
    code = main(
        [
            "--models",
            tiny_folders["gpt2"],
            tiny_folders["bert"],
            "--prompt",
            "A cat sat.",
            "--max-new-tokens",
            "4",
            "--json",
            str(out),
            "--quiet",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0 and "perplexity" in printed and "bits per byte" in printed
    data = json.loads(out.read_text())
    assert [r["status"] for r in data["results"]] == ["done", "done"]
    assert data["prompts"] == ["A cat sat."] and data["results"][0]["score"]["tokens"]


def test_command_line_reports_user_errors_without_a_traceback(capsys):
    assert main(["--preset", "no-such-preset", "--quiet"]) == 2
    assert "Unknown preset 'no-such-preset'" in capsys.readouterr().err


def test_a_mistyped_preset_name_gets_the_closest_name():
    with pytest.raises(PlaygroundError, match="Did you mean 'offline-default'"):
        get_preset("ofline-default")
    with pytest.raises(PlaygroundError) as error:
        get_preset("zzzz")
    assert "Did you mean" not in str(error.value) and "offline-default" in str(error.value)


def test_the_preset_folder_is_found_from_the_package():
    """In a checkout the folder is presets/ beside the package; installed, it is inside it
    (tests/test_install.py checks the installed case)."""
    assert Path(playground.__file__).resolve().parent.parent / "presets" == PRESET_DIR
    assert (PRESET_DIR / f"{DEFAULT_PRESET}.yaml").is_file()


def test_command_line_lists_presets(capsys):
    assert main(["--list"]) == 0
    assert DEFAULT_PRESET in capsys.readouterr().out


def test_preset_folder_copy_is_independent(tmp_path):
    copy = tmp_path / "presets"
    shutil.copytree(PRESET_DIR, copy)
    assert set(load_presets(copy)) == set(load_presets())


def test_command_line_plans_memory_without_loading(tiny_folders, capsys):
    models = [tiny_folders["gpt2"], tiny_folders["llama"]]
    assert main(["--plan", "--quiet", "--dtype", "float32", "--models", *models]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.startswith("fits") and "at float32" in line for line in lines)
    assert main(["--plan", "--quiet", "--context", "10000000000", "--models", tiny_folders["gpt2"]]) == 1
    assert capsys.readouterr().out.startswith("does not fit")
