"""Perplexity, bits per byte and surprisal, checked against independent computations."""

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from playground import metrics
from playground.conditional import score_conditional, score_pseudo
from playground.scoring import score_causal, window_plan

TEXT = "The quick brown fox jumps over the lazy dog. A cat sat on the mat."
LONG = " ".join(["The quick brown fox jumps over the lazy dog."] * 12)


def reference_nll(lm, text):
    """Token NLLs by the library's own loss, on the whole sequence at once (text must fit)."""
    ids = [lm.document_start_id] + lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    x = torch.tensor([ids])
    with torch.no_grad():
        logits = lm.model(input_ids=x).logits[0, :-1]
    return torch.nn.functional.cross_entropy(logits, x[0, 1:], reduction="none")


def test_perplexity_is_exp_of_token_weighted_mean_nll(loaded):
    lm = loaded["gpt2"]
    score = score_causal(lm, TEXT)
    nll = reference_nll(lm, TEXT)
    assert score.scored_tokens == len(nll)
    assert math.isclose(score.perplexity, math.exp(float(nll.mean())), rel_tol=1e-4)
    assert math.isclose(score.total_nll_nats, float(nll.sum()), rel_tol=1e-4)


def test_strided_equals_unstrided_when_the_text_fits(loaded):
    lm = loaded["llama"]
    whole = score_causal(lm, TEXT)
    for window, stride in [(64, 1), (64, 7), (64, 64)]:
        strided = score_causal(lm, TEXT, window=window, stride=stride)
        assert strided.windows == 1
        assert math.isclose(strided.perplexity, whole.perplexity, rel_tol=1e-5)


def test_long_text_scores_every_token_once_with_its_window_of_context(loaded):
    lm = loaded["gpt2"]
    window, stride = 16, 4
    score = score_causal(lm, LONG, window=window, stride=stride)
    ids = [lm.document_start_id] + lm.tokenizer(LONG, add_special_tokens=False)["input_ids"]
    assert len(ids) > lm.facts.context_length  # longer than the model can read at once
    assert score.windows > 1 and score.scored_tokens == len(ids) - 1
    expected = 0.0
    for begin, end, first in window_plan(len(ids), window, stride):
        x = torch.tensor([ids[begin:end]])
        with torch.no_grad():
            log_probs = lm.model(input_ids=x).logits[0].log_softmax(-1)
        for p in range(first, end):
            expected -= float(log_probs[p - 1 - begin, ids[p]])
    assert math.isclose(score.total_nll_nats, expected, rel_tol=1e-4)


@settings(max_examples=200, deadline=None)
@given(length=st.integers(2, 300), window=st.integers(2, 80), data=st.data())
def test_window_plan_covers_each_position_exactly_once(length, window, data):
    stride = data.draw(st.integers(1, window))
    plan = window_plan(length, window, stride)
    scored = [p for begin, end, first in plan for p in range(first, end)]
    assert scored == list(range(1, length))
    assert plan[0][0] == 0  # the first window starts at the document-start token
    assert all(end - begin <= window and begin < first for begin, end, first in plan)


def test_bits_per_byte_is_consistent_with_perplexity_and_bytes(loaded):
    score = score_causal(loaded["gpt2"], "Café naïve 😀 مرحبا")
    assert score.scored_bytes == len("Café naïve 😀 مرحبا".encode())
    from_ppl = math.log(score.perplexity) * score.scored_tokens / (math.log(2) * score.scored_bytes)
    assert math.isclose(score.bits_per_byte, from_ppl, rel_tol=1e-9)


def test_random_model_perplexity_is_near_its_vocabulary_size(loaded):
    lm = loaded["gpt2"]
    score = score_causal(lm, TEXT)
    assert len(lm.tokenizer) / 2 < score.perplexity < len(lm.tokenizer) * 2


def test_surprisal_tokens_carry_rank_probability_and_character_spans(loaded):
    text = "Café, naïve 😀 résumé"
    score = score_causal(loaded["llama"], text)
    assert all(0 <= t.start <= t.end <= len(text) for t in score.tokens)
    assert all(a.end <= b.start for a, b in zip(score.tokens, score.tokens[1:], strict=False))  # in order, no overlap
    assert "".join(text[t.start : t.end] for t in score.tokens) == text
    for t in score.tokens:
        assert t.rank >= 1 and 0 < t.probability <= 1
        assert math.isclose(t.surprisal_bits, -math.log2(t.probability), rel_tol=1e-4)


def test_metric_definitions():
    assert math.isclose(metrics.perplexity(10 * math.log(7), 10), 7.0)
    assert math.isclose(metrics.bits_per_byte(8 * math.log(2), 4), 2.0)
    assert metrics.characters_per_token("abcdef", 3) == 2.0
    assert metrics.tokens_per_word("two words", 3) == 1.5


def test_conditional_perplexity_of_a_target_given_a_source(loaded):
    lm = loaded["t5"]
    score = score_conditional(lm, "summarize: The quick brown fox.", "A fox.")
    assert score.kind == "conditional" and "not comparable" in score.note
    labels = lm.tokenizer(text_target="A fox.", return_tensors="pt")["input_ids"]
    source = lm.tokenizer("summarize: The quick brown fox.", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        loss = lm.model(input_ids=source, labels=labels).loss
    assert score.scored_tokens == labels.shape[1]
    assert math.isclose(score.perplexity, math.exp(float(loss)), rel_tol=1e-4)


def test_pseudo_perplexity_masks_each_token_and_is_labelled(loaded):
    lm = loaded["bert-mlm"]
    score = score_pseudo(lm, "the cat sat on the mat")
    assert score.kind == "pseudo" and "Not comparable" in score.note
    assert score.scored_tokens == len(lm.tokenizer("the cat sat on the mat", add_special_tokens=False)["input_ids"])
    assert score.perplexity > 1
