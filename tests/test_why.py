"""Why they differ: each cause on tiny models where it is the only difference, and the facts worth a row."""

import json
from dataclasses import asdict, replace

import pytest
import torch
from transformers import AutoModelForCausalLM, GenerationConfig

from playground.cache import ModelCache
from playground.compare import Column, Request, compare
from playground.facts import differences
from playground.generation import GenerationSettings
from playground.presets import get_preset
from playground.why import explain
from tests import tiny_models

TEXT = "The quick brown fox jumps over the lazy dog."
SHORT = "A cat sat on the mat."  # the tiny models read 64 tokens: a chat template leaves room for little
QUICK = GenerationSettings(max_new_tokens=6, speed="exact")
BEHAVIOUR = {"kind", "tokens", "training", "decoding", "size", "precision", "memory"}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("why")
    made = {
        "bpe": tiny_models.build_llama(root / "tiny-bpe"),
        "base": tiny_models.build_llama(root / "tiny-base"),
        "instruct": tiny_models.build_llama(root / "tiny-instruct", chat=True),
        "sure-a": tiny_models.build_llama(root / "sure-a", seed=1, init=1.0),
        "sure-b": tiny_models.build_llama(root / "sure-b", seed=7, init=1.0),
        "small": tiny_models.build_llama(root / "tinyfam-small", width=32),
        "large": tiny_models.build_llama(root / "tinyfam-large", width=128),
        "mute": tiny_models.build_llama(root / "tiny-mute"),
        "encoder": tiny_models.build_bert(root / "tiny-encoder", head=False),
    }
    # the same weights as tiny-bpe, read through a tokenizer without merges: one token per byte
    model = AutoModelForCausalLM.from_pretrained(made["bpe"])
    model.save_pretrained(root / "tiny-bytes")
    tiny_models.byte_bpe_tokenizer(257).save_pretrained(root / "tiny-bytes")
    made["bytes"] = root / "tiny-bytes"
    # every token ends the text: the model stops before its first word
    GenerationConfig(eos_token_id=list(range(260))).save_pretrained(made["mute"])
    return {name: str(path) for name, path in made.items()}


def run(cache, models, settings=QUICK, text=TEXT):
    request = Request(text, generation=settings)
    results = compare(models, request, cache)
    assert all(r.status == "done" for r in results), [r.error for r in results]
    causes = explain(results, request, models)
    return results, {c.cause: c for c in causes}


def test_tokens_when_only_the_tokenizer_differs(folders, cache):
    results, causes = run(cache, [folders["bpe"], folders["bytes"]])
    counts = {"tiny-bpe": results[0].text_tokens, "tiny-bytes": results[1].text_tokens}
    assert counts["tiny-bytes"] == len(TEXT.encode()) > counts["tiny-bpe"]
    tokens = causes["tokens"]
    assert tokens.numbers["tokens"] == counts and tokens.numbers["vocabulary"] == {"tiny-bpe": 260, "tiny-bytes": 257}
    assert f"tiny-bpe {counts['tiny-bpe']}, tiny-bytes {counts['tiny-bytes']}" in tokens.sentence
    assert "tiny-bpe has the largest vocabulary (260 vs 257)" in tokens.sentence
    assert not BEHAVIOUR - {"tokens"} & set(causes)


def test_surprise_when_only_the_weights_differ(folders, cache):
    results, causes = run(cache, [folders["sure-a"], folders["sure-b"]])
    per_byte = {"sure-a": results[0].score.bits_per_byte, "sure-b": results[1].score.bits_per_byte}
    surprise = causes["surprise"]
    assert surprise.numbers["bits per byte"] == per_byte
    least = min(per_byte, key=per_byte.get)
    assert f"{least} was least surprised" in surprise.sentence
    assert abs(surprise.numbers["fewer bits"] - (1 - min(per_byte.values()) / max(per_byte.values()))) < 1e-3
    word = causes["surprising word"]
    assert all(span in TEXT for span in word.numbers["span"].values()) and set(word.numbers["bits"]) == set(per_byte)
    assert not BEHAVIOUR & set(causes)


def test_training_when_only_the_template_differs(folders, cache):
    ref = folders["instruct"]
    columns = [Column(ref, use_chat_template=True), Column(ref, use_chat_template=False)]
    results, causes = run(cache, columns, text=SHORT)
    training = causes["training"]
    on, off = "tiny-instruct (chat template)", "tiny-instruct (plain prompt)"
    assert training.numbers["chat template"] == {on: True, off: False}
    assert training.numbers["prompt tokens"][on] > training.numbers["prompt tokens"][off]
    assert training.numbers["new tokens"] == {
        on: results[0].generation.new_tokens,
        off: results[1].generation.new_tokens,
    }
    assert f"{on} got its chat template" in training.sentence and f"{off} got plain text" in training.sentence
    assert not (BEHAVIOUR | {"surprise", "surprising word"}) - {"training"} & set(causes)


def test_training_when_only_the_tuning_differs(folders, cache):
    _, causes = run(cache, [folders["instruct"], folders["base"]], text=SHORT)
    training = causes["training"]
    assert training.numbers["instruct"] == {"tiny-instruct": True, "tiny-base": False}
    assert "tiny-base is a base model (it continues text)" in training.sentence
    assert not {"tokens", "surprise", "size", "memory", "decoding"} & set(causes)  # the same weights and tokenizer


def test_an_encoder_decoder_next_to_an_instruct_model_is_not_called_a_base_model(folders, tiny_folders, cache):
    _, causes = run(cache, [folders["instruct"], tiny_folders["t5"]], text=SHORT)
    assert "t5 is an encoder-decoder (it writes an output for its input)" in causes["training"].sentence


def test_a_model_that_stops_at_once_is_named(folders, cache):
    results, causes = run(cache, [folders["mute"], folders["base"]])
    assert results[0].generation.new_tokens == 0
    assert "tiny-mute is a base model (it continues text) and stopped at once" in causes["training"].sentence


def test_decoding_when_only_the_decoding_differs(folders, cache):
    ref = folders["sure-a"]
    settings = replace(QUICK, temperature=1.0, top_p=1.0, seed=3)
    results, causes = run(cache, [Column(ref, do_sample=False), Column(ref, do_sample=True)], settings)
    decoding = causes["decoding"]
    assert decoding.numbers["sampled"] == {"sure-a (greedy)": False, "sure-a (sampled)": True}
    assert decoding.numbers["seed"] == 3 and "samples (temperature 1, top-p 1, seed 3" in decoding.sentence
    words = [r.output.split() for r in results]
    shared = next((i for i, (a, b) in enumerate(zip(*words, strict=False)) if a != b), min(map(len, words)))
    assert decoding.numbers["words in common"] == shared
    assert not BEHAVIOUR - {"decoding"} & set(causes)


def test_size_memory_and_latency_of_one_family(folders, cache):
    results, causes = run(cache, [folders["small"], folders["large"]])
    small, large = (r.facts for r in results)
    size = causes["size"]
    assert size.numbers["one family"] and size.numbers["ratio"] == round(large.parameters / small.parameters, 2) >= 5
    assert "one family, so size is the difference" in size.sentence
    per_byte = [f"{r.score.bits_per_byte:.2f}" for r in reversed(results)]
    assert f"({per_byte[0]} vs {per_byte[1]} bits per byte)" in size.sentence
    names = ("tinyfam-small", "tinyfam-large")
    weights = dict(zip(names, (small.weight_bytes, large.weight_bytes), strict=True))
    assert causes["memory"].numbers["weight bytes"] == weights
    # Tiny weights are written with two figures, not rounded to "0 MB".
    shown = [f"{n} {w / 1e6:.2g} MB" if w < 1e7 else f"{n} {w / 1e6:,.0f} MB" for n, w in weights.items()]
    assert all(part in causes["memory"].sentence for part in shown), causes["memory"].sentence
    assert " 0 MB" not in causes["memory"].sentence
    latency = causes["latency"]
    rates = {n: round(r.generation.decode_tokens_per_s, 2) for n, r in zip(names, results, strict=True)}
    assert latency.numbers["tokens per second"] == rates
    if rates["tinyfam-large"] < rates["tinyfam-small"]:  # the usual case: more bytes of weights read per token
        assert "tinyfam-large's weights are" in latency.sentence and "reads every weight once" in latency.sentence
    else:
        assert "tinyfam-large is faster though its weights are" in latency.sentence
    assert not {"tokens", "training", "decoding", "precision", "kind"} & set(causes)


def test_size_across_families_is_not_a_size_comparison(folders, tiny_folders, cache):
    _, causes = run(cache, [tiny_folders["gpt2"], folders["large"]])
    size = causes["size"]
    assert not size.numbers["one family"] and "architecture" in size.numbers["also differ"]
    assert size.sentence.endswith("Different families: not a size comparison.")


def test_precision_when_only_the_dtype_differs(folders, cache):
    ref = folders["base"]
    half = ModelCache(device=torch.device("cpu"), dtype=torch.bfloat16)
    request = Request(TEXT, generation=QUICK)
    results = [compare([ref, ref], request, c)[0] for c in (cache, half)]
    causes = {c.cause: c for c in explain(results, request, [ref, ref])}
    precision = causes["precision"]
    full, halved = "tiny-base (column 1)", "tiny-base (column 2)"
    assert precision.numbers["dtype"] == {full: "float32", halved: "bfloat16"}
    assert f"{full} float32 (4 bytes)" in precision.sentence and f"{halved} bfloat16 (2 bytes)" in precision.sentence
    assert causes["memory"].numbers["bytes per weight"] == {full: 4.0, halved: 2.0}
    assert not {"tokens", "training", "decoding", "size", "kind"} & set(causes)


def test_kind_with_an_encoder_says_what_each_does(folders, cache):
    text = "A cat sat on the mat. A kitten rested on the rug."
    results, causes = run(cache, [folders["base"], folders["encoder"]], text=text)
    kind = causes["kind"]
    assert kind.numbers["kind"] == {"tiny-base": "decoder", "tiny-encoder": "encoder (embeddings)"}
    assert kind.numbers["cosine similarity"] == {"tiny-encoder": round(results[1].embeddings.similarity[0][1], 3)}
    assert "tiny-encoder: encoder (embeddings), turns text into vectors and writes nothing" in kind.sentence
    assert "latency" not in causes  # one model wrote: there is no speed to compare


def test_failed_columns_take_no_part_and_the_causes_are_json(folders, cache, tmp_path):
    request = Request(TEXT, generation=QUICK)
    models = [folders["sure-a"], str(tmp_path / "missing"), folders["sure-b"]]
    results = compare(models, request, cache)
    assert results[1].status == "error"
    causes = explain(results, request, models)
    assert causes and not any("missing" in json.dumps(c.numbers) for c in causes)
    data = json.loads(json.dumps([asdict(c) for c in causes]))
    assert {"cause", "sentence", "numbers"} == set(data[0])
    bare = explain(results)  # without the request: no decoding and no surprising word
    assert {c.cause for c in bare} == {c.cause for c in causes} - {"decoding", "surprising word"}


def test_differences_keep_only_the_rows_that_matter(folders, loaded, cache):
    small, large = (cache.get(folders[n]).model.facts for n in ("small", "large"))
    rows = {d.fact: d for d in differences([small, large])}
    assert set(rows) == {"parameters", "hidden size"}  # same layers, vocabulary, context and tokenizer
    assert rows["hidden size"].values == ("32", "128") and rows["hidden size"].ratio == 4.0
    assert rows["parameters"].why.endswith("tinyfam-large can store more, and needs more memory and time per token.")
    mixed = {d.fact: d for d in differences([loaded["gpt2"].facts, None, loaded["bert"].facts])}
    assert {"kind", "tokenizer"} <= set(mixed) and mixed["kind"].values[1] == "—"
    assert mixed["tokenizer"].values == ("byte-level BPE", "—", "WordPiece, uncased")
    assert differences([small, None]) == [] and differences([small, small]) == []


def test_packaged_facts_differ_in_what_explains_their_behaviour(cache):
    smol, gemma = (cache.get(n).model.facts for n in ("smollm2-135m-instruct", "gemma-3-270m"))
    rows = {d.fact: d for d in differences([smol, gemma])}
    assert set(rows) == {"tuning", "tokenizer", "vocabulary", "parameters", "layers", "context"}
    assert (
        rows["vocabulary"].why == "49k vs 262k vocabulary: gemma-3-270m usually needs fewer tokens for the same text."
    )
    assert rows["tuning"].values == ("instruct", "base") and rows["context"].values == ("8,192", "32,768")
    assert all(d.why and len(d.why) < 120 for d in rows.values())  # one projector line each


def test_the_offline_size_point_explains_itself(cache):
    preset = get_preset("size-offline")
    request = Request(preset.prompts[0], generation=QUICK)
    results = compare(preset.columns, request, cache)
    causes = {c.cause: c for c in explain(results, request, preset.columns)}
    assert causes["size"].sentence.startswith("Size: gemma-3-270m has 2.0x the parameters of smollm2-135m-instruct")
    assert causes["size"].sentence.endswith("Different families: not a size comparison.")
    assert causes["surprise"].numbers["bits per byte"] == {r.model: r.score.bits_per_byte for r in results}
    assert causes["memory"].numbers["weight bytes"]["gemma-3-270m"] > 1.9 * results[0].facts.weight_bytes
