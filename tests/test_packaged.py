"""The real packaged SmolLM2-135M-Instruct weights: conversion, cache, and known behaviour."""

import math
import os
import shutil
from pathlib import Path

import pytest

from playground.cache import ModelCache
from playground.generation import GenerationSettings, generate
from playground.packaged import MANIFEST, PACKAGED, is_complete, packaged_folder
from playground.scoring import score_causal

SMOL = PACKAGED["smollm2-135m-instruct"]


@pytest.fixture(scope="module")
def smol():
    return ModelCache().get("smollm2-135m-instruct").model


def test_conversion_is_cached_with_a_manifest_and_reused():
    folder = packaged_folder(SMOL)  # converts on first use in this session's cache
    assert is_complete(folder) and (folder / "model.safetensors").is_file()
    stamp = (folder / MANIFEST).stat().st_mtime_ns
    assert packaged_folder(SMOL) == folder and (folder / MANIFEST).stat().st_mtime_ns == stamp


def test_truncated_conversion_is_detected_and_rebuilt(tmp_path):
    cache = Path(os.environ["PLAYGROUND_CACHE"])
    source = packaged_folder(SMOL, cache)
    copy = tmp_path / "converted" / source.name
    shutil.copytree(source, copy)
    weights = copy / "model.safetensors"
    with weights.open("r+b") as handle:
        handle.truncate(1000)  # as if the disk filled or the process died mid-write
    assert not is_complete(copy)
    rebuilt = packaged_folder(SMOL, tmp_path)
    assert rebuilt == copy and is_complete(rebuilt)


def test_real_weights_score_a_sentence_as_a_document(smol):
    score = score_causal(smol, "The quick brown fox jumps over the lazy dog.")
    assert score.document_start == "<|endoftext|>"
    assert 8.0 < score.perplexity < 11.0  # 9.43 measured with <|endoftext|> first
    assert math.isclose(score.bits_per_byte * math.log(2) * score.scored_bytes, score.total_nll_nats)


def test_instruct_model_answers_with_its_chat_template_and_stops_without_it(smol):
    question = "Explain in two sentences why the sky is blue."
    with_template = generate(smol, question, GenerationSettings(max_new_tokens=12))
    assert with_template.prompt.chat_template and "<|im_start|>assistant" in with_template.prompt.rendered
    assert with_template.new_tokens > 0 and with_template.text.strip()
    plain = generate(smol, question, GenerationSettings(max_new_tokens=12, use_chat_template=False))
    assert plain.new_tokens == 0 and "stopped at once" in plain.note and "chat template" in plain.note
