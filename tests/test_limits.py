"""Limits, model policy and injected faults: clear messages, and the other columns carry on."""

import errno

import pytest
import torch

from playground.cache import ModelCache
from playground.compare import Request, compare, compare_stream
from playground.errors import PlaygroundError
from playground.generation import GenerationSettings
from playground.limits import Limits
from playground.packaged import PACKAGED, convert_gguf


def test_prompt_and_token_limits_name_the_limit_and_the_value(tiny_folders, cache):
    limits = Limits(max_prompt_chars=10, max_new_tokens=8)
    models = [tiny_folders["gpt2"], tiny_folders["llama"]]
    with pytest.raises(PlaygroundError, match="has 11 characters; the limit is 10"):
        compare(models, Request("x" * 11), cache, limits)
    for asked in (9, 0):
        with pytest.raises(PlaygroundError, match=rf"between 1 and 8 here \(got {asked}\)"):
            compare(models, Request("hi", generation=GenerationSettings(max_new_tokens=asked)), cache, limits)


def test_allow_list_refuses_other_models_in_their_column_only(tiny_folders, cache):
    limits = Limits(allowed_models=frozenset({tiny_folders["gpt2"]}))
    results = compare([tiny_folders["gpt2"], "someone/anything"], Request("The cat"), cache, limits)
    assert results[0].status == "done"
    assert results[1].status == "error" and "not one of the models this playground allows" in results[1].error


def test_allow_list_is_on_by_default_on_spaces_and_off_locally(monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.delenv("PLAYGROUND_PRESET_MODELS_ONLY", raising=False)
    assert Limits.from_env({"a/b"}).allowed_models is None
    monkeypatch.setenv("SPACE_ID", "someone/playground")
    allowed = Limits.from_env({"a/b"}).allowed_models
    assert "a/b" in allowed and set(PACKAGED) <= allowed
    monkeypatch.setenv("PLAYGROUND_MAX_NEW_TOKENS", "lots")
    with pytest.raises(PlaygroundError, match="PLAYGROUND_MAX_NEW_TOKENS='lots' is not a number"):
        Limits.from_env()


def test_request_time_limit_stops_a_column_and_keeps_its_text(tiny_folders, cache):
    limits = Limits(request_seconds=1e-9)
    request = Request("The quick", generation=GenerationSettings(max_new_tokens=40))
    results = compare([tiny_folders["gpt2"], tiny_folders["bert"]], request, cache, limits)
    assert results[0].status == "stopped" and "request time limit" in results[0].error
    assert results[0].output  # the text produced before the limit


def test_closing_the_stream_cancels_the_workers(tiny_folders, cache):
    request = Request("The quick", generation=GenerationSettings(max_new_tokens=60))
    stream = compare_stream([tiny_folders["gpt2"], tiny_folders["llama"]], request, cache)
    next(stream)
    stream.close()  # the browser tab was closed
    again = compare([tiny_folders["gpt2"], tiny_folders["llama"]], Request("The cat"), cache)
    assert all(r.status == "done" for r in again)


def test_out_of_memory_in_one_column_is_reported_and_the_next_request_works(tiny_folders, monkeypatch):
    cache = ModelCache()
    lm = cache.get(tiny_folders["llama"]).model

    def exhausted(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(lm.model, "forward", exhausted)  # inject the fault into this model only
    results = compare([tiny_folders["llama"], tiny_folders["gpt2"]], Request("The cat"), cache)
    assert results[0].status == "error" and "ran out of memory" in results[0].error
    assert results[1].status == "done"
    monkeypatch.undo()
    assert all(
        r.status == "done" for r in compare([tiny_folders["llama"], tiny_folders["gpt2"]], Request("The cat"), cache)
    )


def test_full_disk_during_conversion_gives_a_clear_message(tmp_path, monkeypatch):
    import transformers

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", no_space)
    with pytest.raises(PlaygroundError, match="disk is full.*PLAYGROUND_CACHE"):
        convert_gguf(PACKAGED["smollm2-135m-instruct"], tmp_path / "converted" / "x", lambda f, m: None)
    assert not any((tmp_path / "converted").iterdir())  # no half-written folder left behind
