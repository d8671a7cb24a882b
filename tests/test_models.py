"""Model references, kind detection, facts and every way loading can go wrong."""

import json
import shutil

import pytest

from playground.cache import ModelCache
from playground.errors import PlaygroundError
from playground.kinds import Kind
from playground.models import load_model
from playground.references import parse_reference

KINDS = {
    "gpt2": Kind.DECODER,
    "llama": Kind.DECODER,
    "t5": Kind.ENCODER_DECODER,
    "bert-mlm": Kind.MASKED_LM,
    "bert": Kind.ENCODER,
}


@pytest.mark.parametrize("name", KINDS)
def test_kind_is_detected_from_the_saved_config(loaded, name):
    assert loaded[name].kind is KINDS[name]


def test_facts_come_from_config_weights_and_tokenizer(loaded):
    facts = loaded["llama"].facts
    assert (facts.layers, facts.hidden_size, facts.heads, facts.kv_heads, facts.ffn_size) == (2, 32, 4, 2, 64)
    assert facts.context_length == 64 and facts.vocab_size == 260 and facts.dtype == "float32"
    assert facts.weight_bytes == facts.parameters * 4
    assert facts.tokenizer.startswith("byte-level BPE") and facts.document_start == "<|endoftext|>"
    assert loaded["bert"].facts.tokenizer.startswith("WordPiece, uncased")
    assert loaded["t5"].facts.decoder_layers == 2
    assert loaded["gpt2"].facts.ffn_size == 4 * 32  # GPT-2 configs leave it unset: 4 x width


def test_references_parse_to_their_source(tiny_folders):
    assert parse_reference("smollm2-135m-instruct").source == "packaged"
    assert parse_reference(tiny_folders["gpt2"]).source == "local"
    hub = parse_reference("openai-community/gpt2@v1.0")
    assert (hub.source, hub.name, hub.revision) == ("hub", "openai-community/gpt2", "v1.0")


@pytest.mark.parametrize("text", ["", "   ", "a/b/c", "../../etc/passwd", "bad id!", "x" * 300, "org/na me"])
def test_invalid_references_get_a_message_that_says_what_to_type(text):
    with pytest.raises(PlaygroundError) as error:
        parse_reference(text)
    assert any(word in str(error.value) for word in ("model id", "No model", "not a model folder", "Folder"))


@pytest.mark.parametrize("revision", ["../../x", "main/..", "a..b", "bad rev", "x" * 129])
def test_invalid_revisions_are_refused_before_any_download(revision):
    with pytest.raises(PlaygroundError, match="not a valid revision"):
        parse_reference(f"openai-community/gpt2@{revision}")


def test_unknown_hub_model_offline_says_so_and_lists_what_is_available():
    with pytest.raises(PlaygroundError) as error:
        load_model(parse_reference("nobody-here/no-such-model"))
    message = str(error.value)
    assert "not available offline" in message and "smollm2-135m-instruct" in message


def test_folder_without_a_model_is_refused_by_the_name_typed(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MODEL_DIRS", str(tmp_path))  # where models are kept: messages say why
    (tmp_path / "notes").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PlaygroundError, match=r"Folder './notes' holds no model \(no config.json\)"):
        load_model(parse_reference("./notes"))
    with pytest.raises(PlaygroundError, match=r"Folder './gone' does not exist"):
        parse_reference("./gone")


def test_truncated_weight_file_gives_a_clear_message(tiny_folders, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_folders["gpt2"], broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    with pytest.raises(PlaygroundError, match="could not be loaded.*corrupt or truncated"):
        ModelCache().get(str(broken))


def test_remote_code_in_a_model_folder_is_never_run(tiny_folders, tmp_path):
    evil = tmp_path / "evil"
    shutil.copytree(tiny_folders["gpt2"], evil)
    marker = tmp_path / "ran"
    (evil / "evil_model.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    config = json.loads((evil / "config.json").read_text())
    config |= {"model_type": "evil", "auto_map": {"AutoConfig": "evil_model.EvilConfig"}}
    (evil / "config.json").write_text(json.dumps(config))
    with pytest.raises(PlaygroundError):
        load_model(parse_reference(str(evil)))
    assert not marker.exists()


def test_transformer_xl_says_it_was_removed_and_what_to_use(tiny_folders, tmp_path):
    old = tmp_path / "transfo"
    old.mkdir()
    (old / "config.json").write_text(
        json.dumps({"model_type": "transfo-xl", "architectures": ["TransfoXLLMHeadModel"]})
    )
    with pytest.raises(PlaygroundError, match="Transformer-XL.*removed.*gpt2"):
        load_model(parse_reference(str(old)))


def test_cache_evicts_least_recently_used_and_refuses_what_cannot_fit(tiny_folders, loaded):
    sizes = {name: loaded[name].facts.weight_bytes for name in ("gpt2", "llama", "t5")}
    assert sizes["llama"] <= sizes["t5"]
    cache = ModelCache(budget_bytes=sizes["gpt2"] + sizes["t5"] + 1)
    cache.get(tiny_folders["gpt2"])
    cache.get(tiny_folders["llama"])
    assert cache.get(tiny_folders["gpt2"]).cached  # gpt2 is now the most recently used
    cache.get(tiny_folders["t5"])
    assert tiny_folders["llama"] not in cache.names() and tiny_folders["gpt2"] in cache.names()
    assert cache.held_bytes <= cache.budget
    with pytest.raises(PlaygroundError, match=r"needs .* GiB .* memory budget of"):
        ModelCache(budget_bytes=1000).get(tiny_folders["gpt2"])


def test_packaged_model_without_its_package_comes_from_the_hub(monkeypatch):
    from dataclasses import replace

    from playground import packaged

    missing = replace(packaged.PACKAGED["all-minilm-l6-v2"], package="not-an-installed-package")
    monkeypatch.setitem(packaged.PACKAGED, "all-minilm-l6-v2", missing)
    with pytest.raises(PlaygroundError) as error:
        load_model(parse_reference("all-minilm-l6-v2"))  # offline here, so the Hub fallback fails
    assert "not available offline" in str(error.value)


def test_device_map_auto_loads_through_accelerate_and_runs(tiny_folders):
    from playground.generation import GenerationSettings, generate

    lm = ModelCache(device_map="auto").get(tiny_folders["llama"]).model
    assert generate(lm, "The cat", GenerationSettings(max_new_tokens=3)).new_tokens <= 3
    assert lm.facts.device == str(lm.device)
