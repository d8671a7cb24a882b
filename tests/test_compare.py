"""Comparisons: one result per model, failures kept to their own column, bad input explained."""

import pytest

from playground.compare import Column, Request, compare, compare_stream
from playground.errors import PlaygroundError
from playground.generation import GenerationSettings

SHORT = GenerationSettings(max_new_tokens=6)


def run(cache, models, text, **kwargs):
    return compare(models, Request(text, generation=SHORT, **kwargs), cache)


def test_each_kind_returns_its_own_output_and_metrics(tiny_folders, cache):
    results = run(cache, [tiny_folders["gpt2"], tiny_folders["t5"], tiny_folders["bert"]], "A cat sat.\nA dog ran.")
    decoder, seq2seq, encoder = results
    assert [r.status for r in results] == ["done"] * 3
    assert decoder.generation.new_tokens <= 6 and decoder.score.kind == "causal"
    assert decoder.text_tokens > 0 and decoder.special_tokens == 1  # the document-start token
    assert seq2seq.generation is not None and "perplexity" in seq2seq.not_defined
    assert encoder.embeddings.dimension == 32 and len(encoder.embeddings.similarity) == 2
    assert "no probability" in encoder.not_defined["perplexity"]


def test_masked_lm_fills_the_blank_and_labels_pseudo_perplexity(tiny_folders, cache):
    results = run(cache, [tiny_folders["bert-mlm"], tiny_folders["gpt2"]], "the cat sat on the [MASK].")
    mlm = results[0]
    assert mlm.status == "done" and len(mlm.fill_mask.blanks) == 1 and len(mlm.fill_mask.blanks[0]) == 5
    assert mlm.score.kind == "pseudo"


def test_encoder_decoder_with_a_target_gets_conditional_perplexity(tiny_folders, cache):
    results = run(cache, [tiny_folders["t5"], tiny_folders["gpt2"]], "summarize: the cat sat", target="a cat")
    assert results[0].score.kind == "conditional" and results[0].score.perplexity > 1


def test_one_failing_model_becomes_its_column_error_and_the_others_complete(tiny_folders, cache):
    results = run(cache, [tiny_folders["gpt2"], "nobody-here/missing", tiny_folders["llama"]], "The quick fox")
    assert [r.status for r in results] == ["done", "error", "done"]
    assert "not available offline" in results[1].error
    assert results[0].output is not None and results[2].score is not None


def test_a_prompt_too_long_for_one_model_fails_only_that_column(tiny_folders, cache):
    text = "The quick brown fox jumps over the lazy dog. " * 8
    results = run(cache, [tiny_folders["gpt2"], tiny_folders["bert"]], text)
    assert results[0].status == "error" and "reads at most 64 tokens" in results[0].error
    assert results[1].status == "done"


def test_stream_reports_every_column_as_it_changes(tiny_folders, cache):
    request = Request("The quick", generation=GenerationSettings(max_new_tokens=8))
    snapshots = list(compare_stream([tiny_folders["gpt2"], tiny_folders["llama"]], request, cache))
    assert snapshots[0][0].status == "loading"
    assert any(s[0].status == "running" for s in snapshots)
    assert all(r.status == "done" for r in snapshots[-1])


def test_same_model_twice_with_different_settings_is_two_columns(tiny_folders, cache):
    columns = [Column(tiny_folders["gpt2"], False), Column(tiny_folders["gpt2"], False)]
    results = compare(columns, Request("Hello", generation=SHORT), cache)
    assert results[0].output == results[1].output and results[0].model.endswith("(plain prompt)")


@pytest.mark.parametrize("count", [1, 4])
def test_wrong_number_of_models_is_refused(tiny_folders, cache, count):
    with pytest.raises(PlaygroundError, match=f"Compare 2 or 3 models; {count} given"):
        run(cache, [tiny_folders["gpt2"]] * count, "Hello")


@pytest.mark.parametrize("text", ["", "   \n\t ", "x" * 1_000_000])
def test_empty_or_huge_prompts_are_refused_with_what_to_do(tiny_folders, cache, text):
    with pytest.raises(PlaygroundError, match="empty|limit is"):
        run(cache, [tiny_folders["gpt2"], tiny_folders["llama"]], text)


@pytest.mark.parametrize(
    "text", ["a\x00b\x07c\x1b[31m", "😀🎉 emoji only", "مرحبا بالعالم", "שלום עולם", "\u202eevil\u202c"]
)
def test_control_characters_emoji_and_right_to_left_text_work(tiny_folders, cache, text):
    results = run(cache, [tiny_folders["gpt2"], tiny_folders["bert"]], text)
    assert [r.status for r in results] == ["done", "done"]
    assert results[0].score.scored_bytes == len(text.encode())


def test_many_sentences_for_an_embedding_encoder_are_capped_not_squared(tiny_folders, cache):
    text = "\n".join(f"line {i}." for i in range(100))
    results = run(cache, [tiny_folders["bert"], tiny_folders["gpt2"]], text)
    encoder = results[0]
    assert encoder.status == "done" and len(encoder.embeddings.similarity) == 32
    assert "the first 32 of" in encoder.output


def test_each_column_decodes_its_own_way_greedy_next_to_sampled(tiny_folders, cache):
    """The decoding lecture point: the same model greedy in one column and sampled in another, in one
    comparison; the greedy column equals a greedy run on its own and the sampled one follows its seed."""
    model = tiny_folders["llama"]
    sampled = GenerationSettings(max_new_tokens=12, temperature=1.5, seed=3)
    request = Request("The quick", generation=sampled)
    greedy_col, sampled_col = Column(model, do_sample=False), Column(model, do_sample=True)
    first = compare([greedy_col, sampled_col], request, cache)
    again = compare([sampled_col, greedy_col], request, cache)
    alone = compare([model, model], Request("The quick", generation=GenerationSettings(max_new_tokens=12)), cache)
    assert first[0].output == alone[0].output  # greedy
    assert first[1].output == again[0].output  # the seed reproduces the sampled text in any column order
    assert first[1].output != first[0].output
    assert first[0].model.endswith("(greedy)")
    assert first[1].model.endswith("(sampled: T 1.5, top-p 1, seed 3)")


def test_a_plain_prompt_column_keeps_its_plain_prompt_when_sampled(tiny_folders, cache, tmp_path):
    """A column marked "(plain prompt)" gets no chat template, whatever its decoding."""
    from tests import tiny_models

    chat = str(tiny_models.build_llama(tmp_path / "chat", chat=True))
    columns = [Column(chat, True, do_sample=False), Column(chat, False, do_sample=True)]
    results = compare(columns, Request("Hello there", generation=SHORT), cache)
    assert [r.status for r in results] == ["done", "done"], [r.error for r in results]
    assert results[0].generation.prompt.chat_template is True
    assert results[1].generation.prompt.chat_template is False
    assert "plain prompt" in results[1].model and "sampled" in results[1].model


def test_preset_columns_carry_their_decoding(tmp_path):
    from playground.presets import get_preset, load_preset

    decoding = get_preset("decoding")
    assert [c.do_sample for c in decoding.columns] == [False, True]
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: t\npurpose: p\nmodels:\n  - id: a\n    do_sample: maybe\n  - b\nprompts: [x]\n")
    with pytest.raises(PlaygroundError, match=r"models\[0\].do_sample' must be true or false"):
        load_preset(bad)


def test_a_comparison_leaves_the_callers_thread_setting_as_it_was(tiny_folders, cache):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        run(cache, [tiny_folders["gpt2"], tiny_folders["llama"], tiny_folders["bert"]], "Hello")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("models", "request_", "message"),
    [
        ("gemma-3-270m", Request("Hi"), "models must be a list of 2 or 3 models"),
        (None, Request("Hi"), "models must be a list"),
        (["a/b", "c/d"], "Hi", "The request must be a Request"),
    ],
)
def test_argument_mistakes_get_a_message_not_an_attribute_error(cache, models, request_, message):
    with pytest.raises(PlaygroundError, match=message):
        compare(models, request_, cache)
