"""Messages a visitor of a shared page sees: no server paths, no safety-off advice, no escape codes.

The model field is the probe: a visitor types "./", "~", "/proc/self" or a hidden folder in the
home, and must learn nothing about the server's disk from the answer.
"""

import json
import os
import pickle
import re
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from playground.cache import ModelCache
from playground.compare import Request, compare
from playground.errors import SERVER_PATH, PlaygroundError, for_visitor
from playground.generation import GenerationSettings
from playground.limits import Limits
from playground.references import parse_reference

ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/[\w.-]+")


def leaks(message: str, typed: str = "") -> list[str]:
    """What in a message should not reach a visitor: escape codes, tracebacks, server paths."""
    found = []
    if "\x1b" in message:
        found.append("an ANSI escape code")
    if "Traceback" in message or 'File "' in message:
        found.append("a traceback")
    shown = message.replace(typed, "") if typed else message
    found += [f"the path {path}" for path in ABSOLUTE_PATH.findall(shown)]
    found += [f"the server folder {p}" for p in (str(Path.cwd()), str(Path.home())) if len(p) > 1 and p in shown]
    return found


class Evil:
    def __reduce__(self):
        return (os.system, ("true",))


def test_a_library_message_is_cleaned_for_a_visitor(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_s3cretvalue")
    raw = (
        "\x1b[1mTraceback (most recent call last):\n"
        '  File "/srv/app/playground/models.py", line 3, in _load\n'
        "OSError: cannot open /home/alice/.cache/m/model.safetensors with token hf_s3cretvalue\x1b[0m"
    )
    message = for_visitor(raw)
    assert leaks(message) == [] and "hf_s3cretvalue" not in message
    assert message == f"OSError: cannot open {SERVER_PATH} with token ***"


def test_the_models_folder_is_named_as_typed_and_names_with_slashes_stay():
    message = for_visitor("no file /srv/models/m/config.json", typed="./m", folder="/srv/models/m")
    assert message == "no file ./m/config.json"
    kept = "openai-community/gpt2 at 12 tokens/s, see https://huggingface.co/docs"
    assert for_visitor(kept) == kept


def test_torch_advice_to_turn_off_weights_only_becomes_the_projects_words(tmp_path):
    path = tmp_path / "evil.bin"
    torch.save({"w": torch.zeros(2), "evil": Evil()}, path)
    with pytest.raises(pickle.UnpicklingError) as raw:
        torch.load(path, weights_only=True)
    assert "weights_only" in str(raw.value)  # what torch says: re-run with weights_only=False
    message = for_visitor(str(raw.value))
    assert "weights_only" not in message and "will likely succeed" not in message
    assert "safetensors" in message and leaks(message) == []


def test_a_pickle_checkpoint_is_refused_in_the_projects_words(tmp_path, tiny_folders, monkeypatch):
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_folders["gpt2"], folder)
    state = load_file(folder / "model.safetensors") | {"evil": Evil()}
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PlaygroundError) as error:
        ModelCache().get("./pickled")
    message = str(error.value)
    assert message.startswith("Model './pickled' could not be loaded: its weights are a pickle file")
    assert "weights_only" not in message and leaks(message, "./pickled") == []


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A home folder with a hidden folder in it, and a working directory that is not the home."""
    home = tmp_path / "home"
    (home / ".secret").mkdir(parents=True)
    (home / ".secret" / "notes.txt").write_text("private")
    work = tmp_path / "app"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    monkeypatch.delenv("PLAYGROUND_MODEL_DIRS", raising=False)
    return home


PROBES = ["~", "~/.secret", "~/.missing", "/proc/self", "/etc", "/no/such/folder", "../", "~/.secret/notes.txt"]


def test_folders_outside_the_model_places_all_get_one_message(home):
    messages = {}
    for typed in PROBES:
        with pytest.raises(PlaygroundError) as error:
            parse_reference(typed)
        messages[typed] = str(error.value)
        assert leaks(messages[typed], typed) == [], messages[typed]
        assert str(os.getpid()) not in messages[typed] and str(home) not in messages[typed]
    shapes = {message.replace(f"'{typed}'", "'X'") for typed, message in messages.items()}
    assert len(shapes) == 1, shapes  # an existing hidden folder reads exactly like a missing one
    assert "is not a model folder the playground can read" in shapes.pop()


def test_inside_the_model_places_messages_say_what_is_wrong_by_the_name_typed(home):
    Path("empty").mkdir()
    with pytest.raises(PlaygroundError, match=r"^Folder './empty' holds no model \(no config\.json\)"):
        parse_reference("./empty")
    with pytest.raises(PlaygroundError, match=r"^Folder './.hidden' does not exist|not a model folder"):
        parse_reference("./.hidden")  # hidden folders never count as a model place


def test_a_loaded_folder_is_labelled_as_typed(tmp_path, tiny_folders, monkeypatch):
    shutil.copytree(tiny_folders["gpt2"], tmp_path / "mine")
    monkeypatch.chdir(tmp_path)
    request = Request("The cat", generation=GenerationSettings(max_new_tokens=2))
    results = compare(["./mine", tiny_folders["gpt2"]], request, ModelCache())
    assert results[0].status == "done" and results[0].model == "./mine" and results[0].facts.name == "./mine"


def test_probes_through_a_comparison_leak_nothing(home, tiny_folders):
    request = Request("The cat", generation=GenerationSettings(max_new_tokens=1))
    for typed in ("~/.secret", "/proc/self", "./"):
        probe, _ = compare([typed, tiny_folders["gpt2"]], request, ModelCache())
        assert probe.status == "error" and leaks(probe.error, typed) == [], probe.error


def test_repository_code_refusal_does_not_advise_trusting_it(tmp_path, tiny_folders):
    folder = tmp_path / "custom"
    shutil.copytree(tiny_folders["gpt2"], folder)
    config = json.loads((folder / "config.json").read_text())
    config |= {"model_type": "evil", "auto_map": {"AutoConfig": "evil.EvilConfig"}}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(PlaygroundError) as error:
        ModelCache().get(str(folder))
    message = str(error.value)
    assert "trust_remote_code" not in message and leaks(message, str(folder)) == [], message


def test_limits_name_the_field_they_are_about():
    limits = Limits(max_prompt_chars=10, max_prompt_tokens=100)
    with pytest.raises(PlaygroundError, match="^The target has 11 characters; the limit is 10. Shorten the target."):
        limits.check_prompt("x" * 11, "target")
    with pytest.raises(PlaygroundError, match="^The prompt is 101 tokens for gemma-3-270m; the limit is 100 tokens"):
        limits.check_tokens(101, "gemma-3-270m")
    limits.check_tokens(100, "gemma-3-270m")
