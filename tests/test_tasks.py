"""Lecture-table tasks inside a comparison, loaded through the same path as Hub models."""

import pytest

from playground.compare import Request, compare
from playground.generation import GenerationSettings
from playground.lecture import LECTURE_TABLE
from tests.tiny_heads import TinyModels

CONTEXT = "Marie Curie was born in Warsaw and later worked in Paris."


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return TinyModels(tmp_path_factory.mktemp("tasks"))


def test_encoder_heads_run_side_by_side(tiny, cache):
    columns = [
        str(tiny.folder("BERT", "sequence")),
        str(tiny.folder("RoBERTa", "token")),
        str(tiny.folder("DistilBERT", "qa")),
    ]
    results = compare(columns, Request(CONTEXT, target="Where was Marie Curie born?"), cache)
    classifier, tagger, reader = results
    assert [r.status for r in results] == ["done"] * 3, [r.error for r in results]
    assert classifier.task == "classification" and classifier.task_result.labels[0].label in {
        "negative",
        "neutral",
        "positive",
    }
    assert tagger.task == "ner" and all(CONTEXT[e.start : e.end] == e.text for e in tagger.task_result.entities)
    answer = reader.task_result
    assert reader.task == "extractive_qa" and 0 <= answer.start <= answer.end <= len(CONTEXT)
    assert "no language-model head" in classifier.not_defined["perplexity"]


def test_extractive_qa_without_a_question_fails_in_its_own_column(tiny, cache):
    columns = [str(tiny.folder("ELECTRA", "qa")), str(tiny.folder("ALBERT", "sequence"))]
    results = compare(columns, Request(CONTEXT), cache)
    assert results[0].status == "error" and "question in the second box" in results[0].error
    assert results[1].status == "done"


def test_encoder_decoders_get_their_family_prompt_for_a_task(tiny, cache):
    columns = [str(tiny.folder("T5", "seq2seq")), str(tiny.folder("BART", "seq2seq"))]
    request = Request(CONTEXT, generation=GenerationSettings(max_new_tokens=5), task="summarization")
    t5, bart = compare(columns, request, cache)
    assert t5.status == bart.status == "done"
    assert t5.task_result.prompt.startswith("summarize: ") and t5.task_result.output_tokens <= 6
    assert bart.task_result.prompt == CONTEXT


def test_unknown_task_and_missing_language_pair_are_explained(tiny, cache):
    columns = [str(tiny.folder("T5", "seq2seq")), str(tiny.folder("mBART", "seq2seq"))]
    bad = compare(columns, Request(CONTEXT, task="poetry"), cache)
    assert all("Unknown task 'poetry'" in r.error for r in bad)
    request = Request(CONTEXT, task="translation", source_lang="en", target_lang="xx")
    results = compare(columns, request, cache)
    assert results[1].status == "error" and "xx" in results[1].error  # mBART has no such language code


HEAD_OF_TASK = {"classification": "sequence", "ner": "token", "extractive_qa": "qa", "generation": "causal"}
LANGUAGES = {"Marian": ("en", "de"), "mBART": ("en_XX", "ro_RO")}
CELLS = [(family, task) for family, row in LECTURE_TABLE.items() if not row.removed for task in row.tasks]


@pytest.mark.parametrize(("family", "task"), CELLS, ids=[f"{f}-{t}" for f, t in CELLS])
def test_every_cell_of_the_lecture_table_runs_through_a_comparison(tiny, cache, family, task):
    """Each family x task, loaded by the playground's cache like a Hub id, next to a second column."""
    head = HEAD_OF_TASK.get(task, "seq2seq")
    folder = str(tiny.folder(family, head))
    source, target = LANGUAGES.get(family, ("en", "de"))
    request = Request(
        CONTEXT,
        target="Where was Marie Curie born?",
        generation=GenerationSettings(max_new_tokens=4),
        task=task if head == "seq2seq" else None,
        source_lang=source,
        target_lang=target,
    )
    result, other = compare([folder, str(tiny.folder("BERT", "sequence"))], request, cache)
    assert result.status == "done", result.error
    assert other.status == "done"
    if task == "generation":
        assert result.generation.new_tokens <= 4 and result.score.kind == "causal"
    elif head == "seq2seq":
        assert result.task == task and result.task_result.output_tokens >= 1
    else:
        assert result.task == task and result.task_result is not None


def test_transformer_xl_keeps_its_row_marked_removed():
    row = LECTURE_TABLE["Transformer-XL"]
    assert row.removed and "removed" in row.note
