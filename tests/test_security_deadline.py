"""The request time limit bounds every loop whose work grows with the input, and loading.

A request built to be slow (a long text through two pseudo-perplexities that would each run for
half a minute or more) must end within the limit plus a small margin, each column "stopped" with
what it had. Each loop is also checked on its own with a deadline that
has already passed.
"""

import threading
import time

import pytest
import torch

from playground.cache import ModelCache
from playground.compare import Request, compare
from playground.conditional import score_conditional, score_pseudo
from playground.encoders import similarity
from playground.entities import recognise_entities
from playground.errors import Stopped
from playground.extractive_qa import answer_question
from playground.heads import classify
from playground.limits import Deadline, Limits, within
from playground.packaged import PACKAGED, convert_gguf
from playground.text2text import text_to_text
from tests.attack import LONG_TEXT, slow_masked_lms
from tests.tiny_heads import TinyModels

LIMIT_S = 2.0
MARGIN_S = 2.5  # one batch of masked copies (about 0.6 s here) and the threads' hand-over


def expired() -> Deadline:
    return Deadline(1.0, time.monotonic() - 1.0)


@pytest.fixture(scope="module")
def slow(tmp_path_factory) -> list[str]:
    """Two masked LMs whose pseudo-perplexity over the long text takes half a minute or more here."""
    return slow_masked_lms(tmp_path_factory.mktemp("slow"))


def test_a_slow_request_ends_at_its_time_limit_and_keeps_what_it_had(slow):
    cache = ModelCache(device=torch.device("cpu"), dtype=torch.float32)
    for folder in slow:
        cache.get(folder)  # loaded before the clock starts: the limit is about the work
    started = time.perf_counter()
    results = compare(slow, Request(LONG_TEXT), cache, Limits(request_seconds=LIMIT_S))
    took = time.perf_counter() - started
    assert took < LIMIT_S + MARGIN_S, f"{took:.1f} s for a {LIMIT_S:g} s limit"
    for result in results:
        assert result.status == "stopped", (result.status, result.error)
        assert "request time limit of 2 s while scoring the text (pseudo-perplexity)" in result.error
        assert result.facts is not None and result.load_cached  # what the column had before the stop


def test_pseudo_perplexity_and_conditional_scoring_stop_between_pieces(loaded):
    with within(expired()):
        with pytest.raises(Stopped, match="request time limit of 1 s while scoring the text"):
            score_pseudo(loaded["bert-mlm"], "The quick brown fox jumps over the lazy dog.")
        with pytest.raises(Stopped, match="while scoring the target"):
            score_conditional(loaded["t5"], "The quick brown fox.", "A cat sat on the mat.")


def test_embedding_batches_stop_when_the_request_is_cancelled(loaded):
    cancelled = threading.Event()
    cancelled.set()
    with within(Deadline.after(60, cancelled)), pytest.raises(Stopped, match="cancelled"):
        similarity(loaded["bert"], ["A cat sat on the mat.", "A kitten rested on the rug."])


@pytest.fixture(scope="module")
def heads(tmp_path_factory):
    return TinyModels(tmp_path_factory.mktemp("heads"))


HEAD_RUNS = {
    "sequence": lambda model, tokenizer: classify(model, tokenizer, "Marie Curie was born in Warsaw."),
    "token": lambda model, tokenizer: recognise_entities(model, tokenizer, "Marie Curie was born in Warsaw."),
    "qa": lambda model, tokenizer: answer_question(model, tokenizer, "Where?", "Marie Curie was born in Warsaw."),
}


@pytest.mark.parametrize("head", HEAD_RUNS)
def test_encoder_head_windows_stop_at_the_deadline(heads, head):
    model, tokenizer = heads.load("BERT", head)
    with within(expired()), pytest.raises(Stopped, match="reading the text in windows"):
        HEAD_RUNS[head](model, tokenizer)


def test_text_to_text_stops_at_the_next_token_and_keeps_its_text(heads):
    model, tokenizer = heads.load("T5", "seq2seq")
    with within(expired()), pytest.raises(Stopped, match="request time limit") as stop:
        text_to_text(model, tokenizer, "summarization", "The quick brown fox jumps over the lazy dog.")
    assert isinstance(stop.value.output, str)  # what was generated before the stop (one token)


def test_loading_stops_before_it_starts_when_the_request_is_past_its_limit(tiny_folders):
    with within(expired()), pytest.raises(Stopped, match="while waiting to load"):
        ModelCache().get(tiny_folders["gpt2"])


def test_a_conversion_past_the_limit_stops_before_de_quantizing_and_leaves_nothing(tmp_path):
    with within(expired()), pytest.raises(Stopped, match="converting smollm2"):
        convert_gguf(PACKAGED["smollm2-135m-instruct"], tmp_path / "converted" / "x", lambda f, m: None)
    assert not (tmp_path / "converted" / "x").exists()
