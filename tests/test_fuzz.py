"""Property-based tests over the engine's inputs: any Unicode, any size, any type.

Each property runs at least 500 cases. The only acceptable outcomes are a result or a
PlaygroundError whose message says what was wrong; an unexpected exception fails the test.
Every message is also scanned for what must not reach a visitor of a shared page: escape codes,
tracebacks, and paths on the server other than the one the visitor typed.
"""

import json
import os
import re
import shutil
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.cache import ModelCache
from playground.compare import Request, compare
from playground.errors import PlaygroundError
from playground.generation import GenerationSettings
from playground.models import inspect_model
from playground.presets import load_preset
from playground.references import parse_reference

MANY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/[\w.-]+")
SERVER_FOLDERS = {str(Path.cwd()), str(Path.home()), f"/proc/{os.getpid()}"} - {"/"}


def clear(error: PlaygroundError | str, typed: object = "") -> bool:
    """Says something (more than a few words), with no escape code, traceback or server path
    (what the visitor typed is theirs to see again)."""
    message = str(error)
    typed = typed if isinstance(typed, str) else ""
    shown = message.replace(typed, "") if typed else message
    return (
        len(message) > 15
        and "\x1b" not in message
        and "Traceback" not in message
        and 'File "' not in message
        and all(path in typed for path in ABSOLUTE_PATH.findall(message))
        and not any(folder in shown for folder in SERVER_FOLDERS)
    )


@MANY
@given(
    st.one_of(
        st.text(),
        st.text(alphabet="/.-_@~ab", max_size=40),
        st.binary().map(lambda b: b.decode("latin-1")),
        st.text(max_size=20).map(lambda t: "remote:" + t),
    )
)
def test_any_model_reference_is_parsed_or_refused_clearly(text):
    try:
        ref = parse_reference(text)
    except PlaygroundError as error:
        assert clear(error, text.strip()), str(error)
    else:
        assert ref.source in ("packaged", "local", "hub", "remote") and ref.name
        assert ref.name == ref.name.strip()


@MANY
@given(
    text=st.one_of(ANYTHING, st.text()),
    target=ANYTHING,
    max_new_tokens=ANYTHING,
    do_sample=ANYTHING,
    temperature=ANYTHING,
    top_p=ANYTHING,
    top_k=ANYTHING,
    seed=ANYTHING,
)
def test_any_request_values_are_accepted_or_refused_clearly(
    text, target, max_new_tokens, do_sample, temperature, top_p, top_k, seed
):
    settings_ = GenerationSettings(max_new_tokens, do_sample, temperature, top_p, top_k, seed)
    try:
        Request(text, target, settings_).check()
    except PlaygroundError as error:
        assert clear(error)


@MANY
@given(
    text=st.one_of(
        st.text(max_size=200),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
        st.builds(lambda piece, n: piece * n, st.text(min_size=1, max_size=8), st.integers(1, 40_000)),
    )
)
def test_any_text_through_a_comparison_gives_results_or_clear_messages(tiny_folders, cache, text):
    models = [tiny_folders["gpt2"], tiny_folders["bert"]]
    try:
        results = compare(models, Request(text, generation=GenerationSettings(max_new_tokens=2)), cache)
    except PlaygroundError as error:
        assert clear(error)
        return
    for model, result in zip(models, results, strict=True):
        assert result.status in ("done", "error")
        if result.status == "error":
            assert " failed: " not in result.error, result.error  # only anticipated, explained failures
            assert clear(result.error, model), result.error  # the folders here are typed by the test


PATHS = st.one_of(
    st.sampled_from(["/", "~", "./", "../", "/proc/self", "/proc/self/cwd", "/etc", "~/.ssh", "~/.cache", "/tmp"]),
    st.builds(lambda a, b: a + b, st.sampled_from(["/", "~/", "./", "../", "~/."]), st.text("abc./~_-", max_size=12)),
)


@MANY
@given(PATHS)
def test_any_folder_typed_as_a_model_is_refused_without_naming_the_server(typed):
    """Folders are parsed and loaded through the model cache, where every column's model loads."""
    try:
        ModelCache().get(typed)
    except PlaygroundError as error:
        assert clear(error, typed.strip()), str(error)


@MANY
@given(
    st.dictionaries(
        st.sampled_from(
            ["title", "purpose", "models", "prompts", "notes", "offline", "order", "task", "target", "colour"]
        ),
        ANYTHING,
        max_size=8,
    )
)
def test_any_preset_file_loads_or_names_what_is_wrong(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("presets") / "fuzz.yaml"
    path.write_text(yaml.safe_dump(data))
    try:
        load_preset(path)
    except PlaygroundError as error:
        assert clear(error) and "fuzz.yaml" in str(error)


CONFIG_FIELDS = ["architectures", "attn_implementation", "experts_implementation", "auto_map"]
CONFIG_FIELDS += ["quantization_config", "n_layer", "vocab_size", "model_type", "tie_word_embeddings"]


@MANY
@given(st.dictionaries(st.sampled_from(CONFIG_FIELDS), ANYTHING, min_size=1, max_size=4))
def test_any_config_values_are_loaded_locally_or_refused_clearly(tmp_path_factory, tiny_folders, changes):
    """A model folder's config.json is the visitor's too: whatever it says, the size and code
    checks before loading give a count or a message, never a library's exception."""
    folder = tmp_path_factory.mktemp("config") / "model"
    shutil.copytree(tiny_folders["gpt2"], folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(config | changes))
    try:
        kind, parameters, _ = inspect_model(parse_reference(str(folder)))
    except PlaygroundError as error:
        assert clear(error, str(folder)), str(error)
    else:
        assert parameters is None or parameters > 0
