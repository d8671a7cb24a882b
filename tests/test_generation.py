"""Generation: seeds, limits, streaming and the token filters."""

import threading

import pytest
import torch

from playground.errors import PlaygroundError
from playground.generation import GenerationSettings, filter_logits, generate, stream

SAMPLED = GenerationSettings(max_new_tokens=12, do_sample=True, temperature=1.5, seed=7)


def test_seeded_sampling_is_reproducible_even_with_another_model_sampling_beside_it(loaded):
    lm, other = loaded["gpt2"], loaded["llama"]
    alone = generate(lm, "The quick", SAMPLED)
    noise = threading.Thread(target=lambda: [generate(other, "A cat", SAMPLED) for _ in range(3)])
    noise.start()
    torch.manual_seed(123)  # the global RNG must not matter either
    beside = generate(lm, "The quick", SAMPLED)
    noise.join()
    assert beside.text == alone.text
    other_seed = generate(lm, "The quick", GenerationSettings(**{**SAMPLED.__dict__, "seed": 8}))
    assert other_seed.text != alone.text


def test_max_new_tokens_is_respected(loaded):
    lm = loaded["llama"]
    for limit in (1, 5, 9):
        result = generate(lm, "The quick brown fox", GenerationSettings(max_new_tokens=limit))
        assert result.new_tokens <= limit
        if result.stop_reason == "max new tokens":
            assert result.new_tokens == limit


def test_greedy_is_deterministic_and_streaming_adds_up_to_the_text(loaded):
    lm = loaded["gpt2"]
    settings = GenerationSettings(max_new_tokens=10)
    updates = list(stream(lm, "A cat sat", settings))
    final = updates[-1].result
    again = generate(lm, "A cat sat", settings)
    assert final is not None and (final.text, final.new_tokens) == (again.text, again.new_tokens)
    assert "".join(u.piece for u in updates) == final.text
    assert final.time_to_first_token_s > 0 and final.total_s >= final.time_to_first_token_s


def test_prompt_is_rendered_with_the_document_start(loaded):
    lm = loaded["gpt2"]
    result = generate(lm, "Hello there", GenerationSettings(max_new_tokens=2))
    assert result.prompt.rendered.startswith("<|endoftext|>Hello there")
    assert result.prompt.ids[0] == lm.document_start_id and not result.prompt.chat_template


def test_chat_template_requested_for_a_model_without_one_is_refused(loaded):
    with pytest.raises(PlaygroundError, match="no chat template"):
        generate(loaded["gpt2"], "Hi", GenerationSettings(use_chat_template=True))


def test_prompt_longer_than_the_context_gets_a_clear_message(loaded):
    with pytest.raises(PlaygroundError, match="reads at most 64 tokens"):
        generate(loaded["gpt2"], "The quick brown fox jumps over the lazy dog. " * 20, GenerationSettings())


@pytest.mark.parametrize(
    "settings",
    [
        GenerationSettings(max_new_tokens=0),
        GenerationSettings(do_sample=True, temperature=0),
        GenerationSettings(top_p=0),
        GenerationSettings(top_k=-1),
        GenerationSettings(max_new_tokens=10**6),
    ],
)
def test_out_of_range_settings_are_refused_with_the_value(loaded, settings):
    with pytest.raises(PlaygroundError, match="got"):
        generate(loaded["gpt2"], "Hi", settings)


def test_top_k_and_top_p_keep_the_expected_tokens():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = lambda out: (out > float("-inf")).nonzero()[:, 1].tolist()  # noqa: E731
    assert kept(filter_logits(logits, 1.0, 2, 1.0)) == [0, 1]
    assert kept(filter_logits(logits, 1.0, 0, 0.8)) == [0, 1]  # 0.5 + 0.3 reaches 0.8
    assert kept(filter_logits(logits, 1.0, 0, 0.81)) == [0, 1, 2]
    assert kept(filter_logits(logits, 1.0, 0, 0.4)) == [0]  # the top token is always kept
    sharp = filter_logits(logits, 0.5, 0, 1.0).softmax(-1)
    assert sharp[0, 0] > 0.5  # lower temperature sharpens the distribution


def test_encoder_decoder_generates_a_target(loaded):
    result = generate(loaded["t5"], "summarize: the cat sat on the mat", GenerationSettings(max_new_tokens=5))
    assert result.new_tokens <= 5 and result.prompt.rendered.endswith("</s>")
