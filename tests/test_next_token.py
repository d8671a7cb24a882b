"""The next-token view: the same prompt the column read, what sampling cuts, and where the cut starts."""

import math
import time

import pytest
import torch

from playground.distribution import DEFAULT_TEMPERATURE, DEFAULT_TOP_P, next_token_distribution
from playground.errors import PlaygroundError, Stopped
from playground.generation import build_prompt, filter_logits
from playground.limits import Deadline, within
from playground.presets import get_preset
from tests import tiny_models


def reference_logits(lm, prefix):
    ids = [lm.document_start_id] + lm.tokenizer(prefix, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        return lm.model(input_ids=torch.tensor([ids])).logits[0, -1].float()


@pytest.mark.parametrize(
    ("temperature", "top_k", "top_p"), [(1.0, 0, 1.0), (0.7, 20, 1.0), (1.5, 0, 0.6), (1.0, 5, 0.3)]
)
def test_next_token_view_matches_the_sampler(loaded, temperature, top_k, top_p):
    lm = loaded["gpt2"]
    text = "The quick brown fox"
    view = next_token_distribution(lm, text, k=30, temperature=temperature, top_k=top_k, top_p=top_p)
    assert not view.chat_template and view.rendered_prompt == "<|endoftext|>" + text
    logits = reference_logits(lm, text)
    expected = logits.softmax(-1)
    kept = torch.isfinite(filter_logits(logits, temperature, top_k, top_p))
    probabilities = [c.probability for c in view.candidates]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1 + 1e-6
    assert len(view.candidates) == 30 and view.prefix == text and view.document_start == "<|endoftext|>"
    for c in view.candidates:
        assert math.isclose(c.probability, float(expected[c.token_id]), rel_tol=1e-4)
        assert c.cut == (not bool(kept[c.token_id])) and (c.sampling_probability == 0) == c.cut
    tempered = (logits / temperature).softmax(-1)
    assert math.isclose(view.cut_probability, float(tempered[~kept].sum()), abs_tol=1e-5)
    assert view.kept_tokens == int(kept.sum()) and 0 < view.effective_choices <= len(expected)
    assert sum(c.sampling_probability for c in view.candidates) <= 1 + 1e-6
    if top_k:
        assert view.kept_tokens <= top_k


def test_temperature_sharpens_and_flattens(loaded):
    lm = loaded["llama"]
    top = [next_token_distribution(lm, "A cat sat on the", temperature=t).candidates[0] for t in (0.5, 1.0, 2.0)]
    assert top[0].tempered_probability > top[1].tempered_probability > top[2].tempered_probability
    assert math.isclose(top[1].tempered_probability, top[1].probability, rel_tol=1e-6)
    assert len({c.token_id for c in top}) == 1  # temperature keeps the order


def test_position_cuts_the_text_and_a_trailing_space_is_flagged(loaded):
    lm = loaded["gpt2"]
    text = "The quick brown fox"
    at = next_token_distribution(lm, text, position=9)
    assert at.prefix == "The quick" and at.candidates == next_token_distribution(lm, "The quick").candidates
    assert "ends with a space" in next_token_distribution(lm, "The quick ").note
    with pytest.raises(PlaygroundError, match="outside the text"):
        next_token_distribution(lm, text, position=99)


def test_encoder_decoder_gives_its_first_target_token_and_encoders_refuse(loaded):
    first = next_token_distribution(loaded["t5"], "A cat sat on the mat.")
    later = next_token_distribution(loaded["t5"], "A cat sat on the mat.", target="The cat")
    assert first.prefix == "" and later.prefix == "The cat" and later.context_tokens > first.context_tokens
    assert sum(c.probability for c in first.candidates) <= 1 + 1e-6
    for name in ("bert", "bert-mlm"):
        with pytest.raises(PlaygroundError, match="writes text"):
            next_token_distribution(loaded[name], "A cat")


def test_real_smollm2_puts_paris_in_the_top_five_of_the_plain_text(cache):
    smol = cache.get("smollm2-135m-instruct").model
    started = time.perf_counter()
    view = next_token_distribution(smol, "The capital of France is", k=5, use_chat_template=False)
    assert " Paris" in [c.text for c in view.candidates] and not view.chat_template
    assert view.document_start == "<|endoftext|>" and time.perf_counter() - started < 60


@pytest.fixture(scope="module")
def chat(tmp_path_factory, cache):
    """A tiny decoder with a chat template, named as an instruct model: it uses its template by default."""
    return cache.get(
        str(tiny_models.build_llama(tmp_path_factory.mktemp("chat") / "tiny-chat-instruct", chat=True))
    ).model


def logits_after(lm, ids):
    with torch.no_grad():
        return lm.model(input_ids=torch.tensor([ids])).logits[0, -1].float()


def test_the_view_reads_the_prompt_the_column_read(chat):
    text = "A cat sat on the mat."
    for template in (None, True, False):
        prompt = build_prompt(chat, text, template)
        view = next_token_distribution(chat, text, k=5, use_chat_template=template)
        expected = logits_after(chat, prompt.ids).softmax(-1)
        assert view.chat_template == prompt.chat_template == (template is not False)
        assert view.context_tokens == len(prompt.ids) and view.rendered_prompt == prompt.rendered
        assert [c.token_id for c in view.candidates] == torch.topk(expected, 5).indices.tolist()
        assert math.isclose(view.candidates[0].probability, float(expected.max()), rel_tol=1e-5)
    templated = next_token_distribution(chat, text)
    assert templated.rendered_prompt.startswith("<|user|>") and templated.rendered_prompt.endswith("<|assistant|>")
    assert templated.document_start is None
    plain = next_token_distribution(chat, text, use_chat_template=False)
    assert plain.document_start == "<|endoftext|>" and plain.rendered_prompt == "<|endoftext|>" + text


def test_an_earlier_position_reads_the_template_up_to_that_character(chat):
    text = "A cat sat on the mat."
    view = next_token_distribution(chat, text, position=9)
    assert view.prefix == "A cat sat" and view.chat_template
    assert view.rendered_prompt == "<|user|>A cat sat"  # the opening of the turn, then the text so far
    ids = chat.tokenizer("<|user|>A cat sat", add_special_tokens=False)["input_ids"]
    assert view.context_tokens == len(ids)
    assert view.candidates[0].token_id == int(logits_after(chat, ids).argmax())


def test_a_template_the_model_lacks_is_refused(loaded):
    with pytest.raises(PlaygroundError, match="no chat template"):
        next_token_distribution(loaded["gpt2"], "A cat", use_chat_template=True)


def test_the_first_cut_token_is_where_the_shading_starts(loaded):
    lm = loaded["gpt2"]
    view = next_token_distribution(lm, "The quick brown fox", k=10, temperature=1.0, top_p=1.0, top_k=3)
    assert [c.cut for c in view.candidates] == [False] * 3 + [True] * 7
    assert view.first_cut == view.candidates[3] and view.kept_tokens == 3
    everything = next_token_distribution(lm, "The quick brown fox", temperature=1.0, top_p=1.0)
    assert everything.first_cut is None and everything.cut_probability == 0 and everything.kept_tokens > 250


def test_the_defaults_cut_the_tail(loaded):
    view = next_token_distribution(loaded["llama"], "A cat sat on the")
    assert (view.temperature, view.top_p) == (DEFAULT_TEMPERATURE, DEFAULT_TOP_P) == (0.8, 0.9)
    assert 0 < view.cut_probability < 0.1 + 1e-6 and view.first_cut is not None and view.first_cut.cut


def test_the_view_stops_at_the_request_deadline(loaded):
    expired = Deadline(1.0, time.monotonic() - 1)
    with within(expired), pytest.raises(Stopped, match="next-token view"):
        next_token_distribution(loaded["gpt2"], "The quick brown fox")


def test_real_smollm2_inside_its_template_starts_an_answer_and_the_defaults_cut_visibly(cache):
    """The decoding preset's columns use the instruct model's template; so does its next-token view."""
    smol = cache.get("smollm2-135m-instruct").model
    story = get_preset("decoding").prompts[0]
    view = next_token_distribution(smol, story)
    assert view.chat_template and "<|im_start|>assistant" in view.rendered_prompt
    assert view.context_tokens == len(build_prompt(smol, story, None).ids) > 30
    top = view.candidates[0]
    assert top.text.strip().isalpha() and top.token_id not in smol.tokenizer.all_special_ids
    assert view.cut_probability > 0.01 and any(c.cut for c in view.candidates)  # shaded among the ten shown
    # Read as plain text, the same question makes the chat model end its turn first
    plain = next_token_distribution(smol, story, use_chat_template=False)
    assert plain.candidates[0].text == "<|im_end|>" and plain.context_tokens < view.context_tokens
    capital = next_token_distribution(smol, "The capital of France is")
    assert capital.chat_template and capital.candidates[0].token_id not in smol.tokenizer.all_special_ids
    assert capital.cut_probability > 0.05 and capital.first_cut is not None
