"""Encoder heads, text-to-text and the lecture table, on tiny models loaded from folders."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import AutoConfig

from playground.entities import aggregate_entities, recognise_entities
from playground.errors import PlaygroundError
from playground.extractive_qa import QAWindow, answer_question, find_answer_span
from playground.heads import classify
from playground.lecture import LECTURE_TABLE, REMOVED_FAMILIES, check_family_supported
from playground.text2text import marian_pair, prepare_text2text, text_to_text
from tests.tiny_heads import (
    DECODER_FAMILIES,
    ENCODER_FAMILIES,
    ENTITY_LABELS,
    FAMILIES,
    SEQ2SEQ_FAMILIES,
    SEQUENCE_LABELS,
    WINDOW,
    TinyModels,
)

TEXT = "Marie Curie was born in Warsaw and later worked in Paris."
LONG_TEXT = " ".join([TEXT] * 12)
QUESTION = "Where was Marie Curie born?"

# MarianTokenizer asks for sacremoses, which only normalises punctuation.
pytestmark = pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return TinyModels(tmp_path_factory.mktemp("tiny"))


# --- the lecture table -------------------------------------------------------------


def test_lecture_table_has_every_family_and_a_tiny_model_for_each_loadable_one():
    assert set(LECTURE_TABLE) == set(FAMILIES) | {"Transformer-XL"}
    assert {LECTURE_TABLE[f].architecture for f in ENCODER_FAMILIES} == {"encoder"}
    assert {LECTURE_TABLE[f].architecture for f in DECODER_FAMILIES} == {"decoder"}
    assert {LECTURE_TABLE[f].architecture for f in SEQ2SEQ_FAMILIES} == {"encoder-decoder"}
    assert LECTURE_TABLE["Marian"].tasks == ("translation",)
    assert "only translation" in LECTURE_TABLE["Marian"].note.lower()
    assert LECTURE_TABLE["Transformer-XL"].removed


@pytest.mark.parametrize("family", sorted(set(FAMILIES)))
def test_table_model_type_matches_the_saved_config(tiny: TinyModels, family: str):
    row = LECTURE_TABLE[family]
    head = {"encoder": "sequence", "decoder": "causal"}.get(row.architecture, "seq2seq")
    config = AutoConfig.from_pretrained(tiny.folder(family, head))
    assert config.model_type == row.model_type


@pytest.mark.parametrize("name", ["transfo-xl", "transfo_xl", "Transformer-XL"])
def test_transformer_xl_is_refused_with_what_to_use_instead(name: str):
    with pytest.raises(PlaygroundError, match="removed from transformers") as error:
        check_family_supported(name)
    assert "GPT-2" in str(error.value)
    assert "SmolLM2" in str(error.value)


def test_transformer_xl_really_is_gone_from_transformers():
    with pytest.raises(ValueError):
        AutoConfig.for_model("transfo-xl")
    assert "transfo-xl" in REMOVED_FAMILIES
    check_family_supported("gpt2")


@pytest.mark.parametrize("family", DECODER_FAMILIES)
def test_decoder_families_generate(tiny: TinyModels, family: str):
    model, tokenizer = tiny.load(family, "causal")
    inputs = tokenizer(TEXT, return_tensors="pt")
    pad = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    out = model.generate(**inputs, max_new_tokens=5, do_sample=False, pad_token_id=pad)
    assert out.shape == (1, inputs["input_ids"].shape[1] + 5)


# --- classification ------------------------------------------------------------------


@pytest.mark.parametrize("family", ENCODER_FAMILIES)
def test_classify_gives_the_config_labels_sorted(tiny: TinyModels, family: str):
    model, tokenizer = tiny.load(family, "sequence")
    result = classify(model, tokenizer, TEXT)
    assert {s.label for s in result.labels} == set(SEQUENCE_LABELS.values())
    scores = [s.score for s in result.labels]
    assert scores == sorted(scores, reverse=True)
    assert sum(scores) == pytest.approx(1.0, abs=1e-5)
    assert result.activation == "softmax"
    assert result.tokens_read == result.tokens_total
    assert result.notes == ()
    assert len(classify(model, tokenizer, TEXT, top_k=2).labels) == 2


def test_classify_truncates_long_text_and_says_how_much_was_kept(tiny: TinyModels):
    model, tokenizer = tiny.load("BERT", "sequence")
    result = classify(model, tokenizer, LONG_TEXT)
    assert result.tokens_read == WINDOW < result.tokens_total
    assert any(f"first {WINDOW} tokens" in note for note in result.notes)


def test_classify_without_label_names_says_so(tiny: TinyModels):
    model, tokenizer = tiny.load("BERT", "sequence", "no-labels")
    result = classify(model, tokenizer, TEXT)
    assert {s.label for s in result.labels} == {"LABEL_0", "LABEL_1", "LABEL_2"}
    assert any("no label names" in note for note in result.notes)


def test_multi_label_head_uses_independent_sigmoids(tiny: TinyModels):
    model, tokenizer = tiny.load("RoBERTa", "sequence", "multi-label")
    result = classify(model, tokenizer, TEXT)
    assert result.activation == "sigmoid"
    assert all(0 < s.score < 1 for s in result.labels)
    assert sum(s.score for s in result.labels) != pytest.approx(1.0, abs=1e-3)


def test_classify_rejects_empty_text_and_bad_top_k(tiny: TinyModels):
    model, tokenizer = tiny.load("BERT", "sequence")
    with pytest.raises(PlaygroundError, match="text to classify is empty"):
        classify(model, tokenizer, "  ")
    with pytest.raises(PlaygroundError, match="top_k"):
        classify(model, tokenizer, TEXT, top_k=0)


# --- entities: aggregation on hand-made probabilities --------------------------------

LABELS = ENTITY_LABELS
INDEX = {name: i for i, name in LABELS.items()}


def _rows(*tags: tuple[str, float]) -> np.ndarray:
    """One probability row per token: ``p`` on the named label, the rest shared evenly."""
    rows = np.zeros((len(tags), len(LABELS)))
    for row, (tag, p) in zip(rows, tags, strict=True):
        row[:] = (1 - p) / (len(LABELS) - 1)
        row[INDEX[tag]] = p
    return rows


def test_aggregation_groups_sub_words_by_their_first_token():
    text = "Marie Curie visited Paris"
    offsets = [(0, 0), (0, 3), (3, 5), (6, 9), (9, 11), (12, 19), (20, 25), (0, 0)]
    word_ids = [None, 0, 0, 1, 1, 2, 3, None]
    # "ie" of Marie is tagged O, but a word takes its first sub-token's label.
    probabilities = _rows(
        ("O", 0.9), ("B-PER", 0.8), ("O", 0.7), ("I-PER", 0.9), ("I-PER", 0.5), ("O", 0.95), ("B-LOC", 0.7), ("O", 0.9)
    )
    entities = aggregate_entities(text, offsets, probabilities, LABELS, word_ids)
    assert [(e.type, e.start, e.end, e.text) for e in entities] == [
        ("PER", 0, 11, "Marie Curie"),
        ("LOC", 20, 25, "Paris"),
    ]
    assert entities[0].score == pytest.approx((0.8 + 0.7 + 0.9 + 0.5) / 4)
    assert entities[1].score == pytest.approx(0.7)


def test_aggregation_starts_a_new_entity_on_b_and_on_a_type_change():
    text = "Paris London Marie"
    offsets = [(0, 5), (6, 12), (13, 18)]
    probabilities = _rows(("B-LOC", 0.9), ("B-LOC", 0.9), ("I-PER", 0.9))
    entities = aggregate_entities(text, offsets, probabilities, LABELS, [0, 1, 2])
    assert [e.text for e in entities] == ["Paris", "London", "Marie"]
    assert [e.type for e in entities] == ["LOC", "LOC", "PER"]


def test_aggregation_joins_plain_tags_and_trims_space_tokens():
    labels = {0: "O", 1: "PER", 2: "LOC"}
    text = "Hi  Marie Curie"
    # A byte-level BPE gives the space before "Marie" a zero-width token of its own.
    offsets = [(0, 2), (3, 3), (3, 9), (10, 15)]
    probabilities = np.array([[0.9, 0.05, 0.05], [0.2, 0.6, 0.2], [0.1, 0.8, 0.1], [0.1, 0.8, 0.1]])
    entities = aggregate_entities(text, offsets, probabilities, labels, [0, 1, 1, 2])
    assert [(e.type, e.text) for e in entities] == [("PER", "Marie Curie")]
    assert text[entities[0].start : entities[0].end] == "Marie Curie"


# --- entities: real models ---------------------------------------------------------


@pytest.mark.parametrize("family", ENCODER_FAMILIES)
def test_entities_are_exact_slices_with_config_types(tiny: TinyModels, family: str):
    model, tokenizer = tiny.load(family, "token")
    for text in (TEXT, LONG_TEXT):
        result = recognise_entities(model, tokenizer, text)
        for entity in result.entities:
            assert text[entity.start : entity.end] == entity.text
            assert entity.text == entity.text.strip() != ""
            assert entity.type in {"PER", "LOC"}
            assert 0 < entity.score <= 1
        starts = [e.start for e in result.entities]
        assert starts == sorted(starts)
    assert result.windows > 1


def test_entities_without_label_names_say_so(tiny: TinyModels):
    model, tokenizer = tiny.load("BERT", "token", "no-labels")
    result = recognise_entities(model, tokenizer, TEXT)
    assert any("no label names" in note for note in result.notes)


def test_entities_need_a_fast_tokenizer(tiny: TinyModels):
    model, _ = tiny.load("BERT", "token")
    _, slow = tiny.load("Marian", "seq2seq")
    with pytest.raises(PlaygroundError, match="character offsets"):
        recognise_entities(model, slow, TEXT)


# --- extractive QA: span search on hand-made logits --------------------------------

# [CLS] where born [SEP] Marie Curie lived Rome [SEP]
CONTEXT = "Marie Curie lived Rome"
SEQUENCE_IDS = [None, 0, 0, None, 1, 1, 1, 1, None]
OFFSETS = [(0, 0), (0, 5), (6, 10), (0, 0), (0, 5), (6, 11), (12, 17), (18, 22), (0, 0)]


def _window(start: list[float], end: list[float], offsets=OFFSETS) -> QAWindow:
    return QAWindow(start, end, offsets, SEQUENCE_IDS, null_index=0)


def test_span_search_scores_context_softmax_products_exactly():
    # The question tokens get the highest logits but can never be part of an answer.
    start = [0.0, 9.0, 9.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0]
    end = [0.0, 9.0, 9.0, 0.0, 0.0, 3.0, 0.0, 4.0, 0.0]
    span = find_answer_span([_window(start, end)], max_answer_tokens=2)
    # Softmax runs over the context tokens plus CLS: positions 0, 4, 5, 6, 7.
    z_start = 1 + math.e**2 + math.e + 1 + 1
    z_end = 1 + 1 + math.e**3 + 1 + math.e**4
    assert (span.start_token, span.end_token) == (4, 5)
    assert CONTEXT[span.start : span.end] == "Marie Curie"
    assert span.score == pytest.approx(math.e**2 / z_start * math.e**3 / z_end)
    assert span.null_score == pytest.approx(1 / z_start / z_end)
    # With room for four tokens the end logit of "Rome" wins.
    wide = find_answer_span([_window(start, end)], max_answer_tokens=30)
    assert CONTEXT[wide.start : wide.end] == "Marie Curie lived Rome"


def test_span_search_never_ends_before_it_starts():
    start = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0, 0.0]
    end = [0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0]
    span = find_answer_span([_window(start, end)])
    assert span.start_token <= span.end_token


def test_null_answer_wins_when_cls_scores_highest():
    start = [6.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    end = [6.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    span = find_answer_span([_window(start, end)])
    assert span.null_score > span.score
    # The best candidate stays visible.
    assert CONTEXT[span.start : span.end] == "Marie Curie"


def test_best_span_can_come_from_the_second_window():
    # A long context read in two windows; chars 0-22 then 18-40 (one shared token).
    second_offsets = [(0, 0), (0, 5), (6, 10), (0, 0), (18, 22), (23, 28), (29, 34), (35, 40), (0, 0)]
    first = _window([3.0, 0, 0, 0, 1.0, 1.0, 1.0, 1.0, 0], [3.0, 0, 0, 0, 1.0, 1.0, 1.0, 1.0, 0])
    second = _window([0.0, 0, 0, 0, 0.0, 6.0, 0.0, 0.0, 0], [0.0, 0, 0, 0, 0.0, 0.0, 6.0, 0.0, 0], second_offsets)
    span = find_answer_span([first, second])
    assert span.window == 1
    assert (span.start, span.end) == (23, 34)
    # The first window, which holds no answer, favours CLS; the smallest null score counts.
    assert span.null_score < span.score


@settings(max_examples=60, deadline=None, database=None)
@given(
    st.lists(st.floats(-5, 5), min_size=9, max_size=9),
    st.lists(st.floats(-5, 5), min_size=9, max_size=9),
    st.integers(1, 4),
)
def test_span_search_matches_brute_force(start, end, max_answer_tokens):
    span = find_answer_span([_window(start, end)], max_answer_tokens)
    context = [i for i, seq in enumerate(SEQUENCE_IDS) if seq == 1]
    allowed = [0, *context]
    p_start = np.exp(start)[allowed] / np.exp(start)[allowed].sum()
    p_end = np.exp(end)[allowed] / np.exp(end)[allowed].sum()
    best = max(
        p_start[allowed.index(s)] * p_end[allowed.index(e)]
        for s in context
        for e in context
        if s <= e < s + max_answer_tokens
    )
    assert span.score == pytest.approx(best)
    assert span.start_token in context and span.end_token in context
    assert 0 <= span.end_token - span.start_token < max_answer_tokens


# --- extractive QA: real models ----------------------------------------------------


@pytest.mark.parametrize("family", ENCODER_FAMILIES)
def test_answer_is_a_span_of_the_context(tiny: TinyModels, family: str):
    model, tokenizer = tiny.load(family, "qa")
    answer = answer_question(model, tokenizer, QUESTION, TEXT, max_answer_tokens=5)
    assert answer.windows == 1
    assert 0 <= answer.start < answer.end <= len(TEXT)
    assert TEXT[answer.start : answer.end] == answer.text
    assert 0 < answer.score <= 1
    assert answer.found == (answer.score >= answer.null_score)


def test_long_context_is_read_in_overlapping_windows(tiny: TinyModels):
    model, tokenizer = tiny.load("BERT", "qa")
    answer = answer_question(model, tokenizer, QUESTION, LONG_TEXT)
    assert answer.windows > 1
    assert LONG_TEXT[answer.start : answer.end] == answer.text
    if not answer.found:
        assert "No answer found" in answer.notes[0]


@pytest.mark.parametrize(
    ("question", "context", "what"), [("", TEXT, "question"), ("  ", TEXT, "question"), (QUESTION, "", "context")]
)
def test_qa_rejects_empty_input(tiny: TinyModels, question: str, context: str, what: str):
    model, tokenizer = tiny.load("BERT", "qa")
    with pytest.raises(PlaygroundError, match=f"The {what} is empty"):
        answer_question(model, tokenizer, question, context)


def test_qa_rejects_a_question_that_fills_the_window(tiny: TinyModels):
    model, tokenizer = tiny.load("BERT", "qa")
    with pytest.raises(PlaygroundError, match="shorten the question"):
        answer_question(model, tokenizer, LONG_TEXT, TEXT)


# --- text-to-text ------------------------------------------------------------------


def test_t5_prompts_use_task_prefixes(tiny: TinyModels):
    _, tokenizer = tiny.load("T5", "seq2seq")
    assert prepare_text2text("t5", tokenizer, "summarization", TEXT).text == ("summarize: " + TEXT)
    for source, target in [("English", "German"), ("en", "de")]:
        prompt = prepare_text2text("t5", tokenizer, "translation", TEXT, source, target)
        assert prompt.text == "translate English to German: " + TEXT
        assert prompt.notes == ()
    prompt = prepare_text2text("t5", tokenizer, "generative_qa", TEXT, question=QUESTION)
    assert prompt.text == f"question: {QUESTION} context: {TEXT}"
    odd = prepare_text2text("t5", tokenizer, "translation", TEXT, "German", "Spanish")
    assert "trained to translate English" in odd.notes[0]


def test_t5_prefers_the_checkpoints_own_prefixes(tiny: TinyModels):
    model, tokenizer = tiny.load("T5", "seq2seq")
    model.config.task_specific_params = {"summarization": {"prefix": "sum: "}}
    prompt = prepare_text2text(model.config, tokenizer, "summarization", TEXT)
    assert prompt.text == "sum: " + TEXT


@pytest.mark.parametrize(
    ("family", "task", "languages"),
    [
        ("BART", "summarization", {}),
        ("T5", "translation", {"source_lang": "English", "target_lang": "German"}),
        ("T5", "generative_qa", {"question": QUESTION}),
        ("Marian", "translation", {"source_lang": "en", "target_lang": "de"}),
        ("mBART", "translation", {"source_lang": "en_XX", "target_lang": "ro_RO"}),
    ],
)
def test_text_to_text_runs_end_to_end(tiny: TinyModels, family, task, languages):
    model, tokenizer = tiny.load(family, "seq2seq")
    result = text_to_text(model, tokenizer, task, TEXT, max_new_tokens=6, **languages)
    expected = prepare_text2text(model.config, tokenizer, task, TEXT, **languages)
    assert result.prompt == expected.text
    assert result.input_tokens == len(tokenizer(result.prompt)["input_ids"])
    assert 1 <= result.output_tokens <= 6
    assert isinstance(result.output, str)


def test_mbart_sets_source_code_and_forces_the_target_code(tiny: TinyModels):
    model, tokenizer = tiny.load("mBART", "seq2seq")
    prompt = prepare_text2text(model.config, tokenizer, "translation", TEXT, "en", "ro")
    assert prompt.src_lang == "en_XX"
    assert prompt.forced_bos_token_id == tokenizer.convert_tokens_to_ids("ro_RO")
    result = text_to_text(model, tokenizer, "translation", TEXT, "de_DE", "ro_RO", max_new_tokens=3)
    assert result.model_input.endswith("de_DE")


def test_mbart_unknown_code_lists_valid_ones(tiny: TinyModels):
    model, tokenizer = tiny.load("mBART", "seq2seq")
    with pytest.raises(PlaygroundError, match="no target language code 'xx_YY'") as error:
        prepare_text2text(model.config, tokenizer, "translation", TEXT, "en_XX", "xx_YY")
    assert "en_XX" in str(error.value)


def test_marian_pair_is_fixed_by_the_checkpoint(tiny: TinyModels):
    model, tokenizer = tiny.load("Marian", "seq2seq")
    prompt = prepare_text2text(model.config, tokenizer, "translation", TEXT)
    assert prompt.text == TEXT
    with pytest.raises(PlaygroundError, match="translates en to de only") as error:
        prepare_text2text(model.config, tokenizer, "translation", TEXT, "French", "de")
    assert "opus-mt-fr-de" in str(error.value)
    with pytest.raises(PlaygroundError, match="only translate"):
        prepare_text2text(model.config, tokenizer, "summarization", TEXT)


def test_multi_target_marian_picks_the_language_with_a_prefix_token(tiny: TinyModels):
    model, tokenizer = tiny.load("Marian", "seq2seq", "multi-target")
    prompt = prepare_text2text(model.config, tokenizer, "translation", TEXT, "en", "French")
    assert prompt.text == ">>fr<< " + TEXT
    result = text_to_text(model, tokenizer, "translation", TEXT, target_lang="es", max_new_tokens=3)
    assert result.model_input.startswith(">>es<<")
    for target in ("German", None):
        with pytest.raises(PlaygroundError, match="several languages") as error:
            prepare_text2text(model.config, tokenizer, "translation", TEXT, "en", target)
        assert "es, fr, it" in str(error.value)


def test_marian_pair_from_hub_names_cache_folders_and_the_tokenizer(tiny: TinyModels):
    _, tokenizer = tiny.load("Marian", "seq2seq")
    assert marian_pair("Helsinki-NLP/opus-mt-tc-big-en-fr", tokenizer) == ("en", "fr")
    cache = "hub/models--Helsinki-NLP--opus-mt-de-en/snapshots/0123abc"
    assert marian_pair(cache, tokenizer) == ("de", "en")
    # A folder with another name: the tokenizer config still records the pair.
    assert marian_pair("/tmp/my-translator", tokenizer) == ("en", "de")


def test_text_to_text_truncates_to_the_window_and_says_so(tiny: TinyModels):
    model, tokenizer = tiny.load("BART", "seq2seq")
    result = text_to_text(model, tokenizer, "summarization", LONG_TEXT, max_new_tokens=2)
    assert result.input_tokens == WINDOW
    assert any(f"at most {WINDOW}" in note for note in result.notes)


def test_text_to_text_bad_requests(tiny: TinyModels):
    model, tokenizer = tiny.load("T5", "seq2seq")
    with pytest.raises(PlaygroundError, match="Unknown text-to-text task 'poetry'"):
        text_to_text(model, tokenizer, "poetry", TEXT)
    with pytest.raises(PlaygroundError, match="target language"):
        text_to_text(model, tokenizer, "translation", TEXT)
    with pytest.raises(PlaygroundError, match="question is empty"):
        text_to_text(model, tokenizer, "generative_qa", TEXT)
    decoder, decoder_tokenizer = tiny.load("GPT-2", "causal")
    with pytest.raises(PlaygroundError, match="not an encoder-decoder"):
        text_to_text(decoder, decoder_tokenizer, "summarization", TEXT)
    with pytest.raises(PlaygroundError, match="removed from transformers"):
        prepare_text2text("transfo-xl", tokenizer, "summarization", TEXT)
