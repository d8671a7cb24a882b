"""Size without confounds: published figures of one family by size, and when a size chart may draw a line."""

import math
from dataclasses import replace
from pathlib import Path

import pytest

from playground.errors import PlaygroundError
from playground.presets import PRESET_DIR, get_preset, load_preset
from playground.published import (
    NOT_A_SIZE_COMPARISON,
    PUBLISHED,
    families,
    series_name,
    size_comparison,
    size_series,
)
from tests import tiny_models


def test_every_published_figure_says_where_it_was_published():
    figures = size_series()
    assert len(figures) >= 18
    for figure in figures:
        assert figure.label == PUBLISHED and math.isfinite(figure.value) and figure.unit
        assert figure.source.paper and figure.source.where and figure.source.url.startswith("https://")
    for family in families().values():
        assert family.members and family.note and family.training and family.tokenizer
        assert all(m.source.where and m.parameters > 0 and m.layers > 0 for m in family.members)


def test_gpt2_gets_better_with_size_on_every_published_test_set():
    gpt2 = families()["GPT-2"]
    assert gpt2.same_recipe and set(gpt2.metrics) == {
        "LAMBADA perplexity",
        "LAMBADA accuracy",
        "WikiText-103 perplexity",
        "enwik8 bits per byte",
    }
    for metric in gpt2.metrics:
        series = size_series("GPT-2", metric)
        assert [f.parameters for f in series] == [117e6, 345e6, 762e6, 1542e6]
        values = [f.value for f in series]
        better = sorted(values, reverse=series[0].lower_is_better)
        assert values == better, metric  # every step up in size improves the metric
        assert all(f.source.where == "Table 3" and f.setting == "zero-shot" for f in series)
    lambada = size_series("GPT-2", "LAMBADA perplexity")
    assert (lambada[0].value, lambada[-1].value) == (35.13, 8.63)


def test_the_live_size_preset_is_the_published_family():
    hub_ids = {m.hub_id for m in families()["GPT-2"].members}
    assert {m.id for m in get_preset("gpt2-sizes").models} <= hub_ids


def test_chinchilla_is_marked_as_more_than_a_size_difference():
    chinchilla = families()["Chinchilla and Gopher"]
    assert not chinchilla.same_recipe
    gopher, small = chinchilla.members
    assert gopher.parameters > small.parameters and small.training_tokens > gopher.training_tokens
    mmlu = {f.model: f for f in size_series("Chinchilla and Gopher", "MMLU accuracy")}
    assert mmlu["Chinchilla 70B"].value > mmlu["Gopher 280B"].value  # the smaller model, trained on more tokens
    assert mmlu["Chinchilla 70B"].source.where == "abstract" and mmlu["Gopher 280B"].source.where == "Table 6"


def test_families_without_tabulated_figures_list_their_sizes_only():
    for name in ("GPT-3", "Pythia"):
        family = families()[name]
        assert family.same_recipe and not family.figures and len(family.members) == 8
        assert len({m.training_tokens for m in family.members}) == 1  # one data budget for every size
        sizes = [m.parameters for m in family.members]
        assert sizes == sorted(sizes)


def test_unknown_family_or_metric_names_the_known_ones():
    with pytest.raises(PlaygroundError, match="Families: GPT-2"):
        size_series("GPT-5")
    with pytest.raises(PlaygroundError, match="enwik8 bits per byte"):
        size_series("GPT-2", "HellaSwag accuracy")


@pytest.mark.parametrize(
    ("names", "same"),
    [
        (["openai-community/gpt2", "openai-community/gpt2-medium", "openai-community/gpt2-large"], True),
        (["HuggingFaceTB/SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-360M-Instruct@main"], True),
        (["Qwen/Qwen2.5-0.5B", "Qwen/Qwen2.5-1.5B"], True),
        (["/tmp/x/tinyfam-small", "/tmp/y/tinyfam-large"], True),
        (["EleutherAI/pythia-160m", "EleutherAI/pythia-410m-deduped"], False),  # other data
        (["HuggingFaceTB/SmolLM2-135M", "HuggingFaceTB/SmolLM2-135M-Instruct"], False),
        (["openai-community/gpt2", "distilbert/distilgpt2"], False),
        (["smollm2-135m-instruct", "gemma-3-270m"], False),
    ],
)
def test_series_name_drops_only_the_size(names, same):
    assert (len({series_name(n) for n in names}) == 1) == same


@pytest.fixture(scope="module")
def family(tmp_path_factory, cache):
    """Tiny decoders: one family at two widths, an instruct member, and a same-size sibling."""
    root = tmp_path_factory.mktemp("family")
    folders = {
        "small": tiny_models.build_llama(root / "tinyfam-small", width=32),
        "large": tiny_models.build_llama(root / "tinyfam-large", width=96),
        "large-instruct": tiny_models.build_llama(root / "tinyfam-large-instruct", chat=True, width=96),
        "twin": tiny_models.build_llama(root / "tinyfam-base", width=32, seed=5),
    }
    return {name: cache.get(str(folder)).model.facts for name, folder in folders.items()}


def test_one_family_at_two_sizes_may_draw_a_trend(family):
    verdict = size_comparison([family["small"], family["large"]])
    assert verdict.trend and not verdict.differences and "one family" in verdict.label
    assert family["large"].parameters > 1.5 * family["small"].parameters


def test_anything_besides_size_withholds_the_trend(family, loaded):
    tuned = size_comparison([family["small"], family["large-instruct"]])
    assert not tuned.trend and tuned.label == NOT_A_SIZE_COMPARISON
    assert [d.split(":")[0] for d in tuned.differences] == ["tuning", "family name"]
    other = size_comparison([family["small"], loaded["gpt2"].facts])
    assert not other.trend and {"architecture", "tokenizer"} <= {d.split(":")[0] for d in other.differences}
    stated = size_comparison([family["small"], family["large"]], training=["The Pile", "C4"])
    assert not stated.trend and stated.differences == ("training data: the pile vs c4",)
    halved = size_comparison([family["small"], replace(family["large"], dtype="bfloat16")])
    assert not halved.trend and halved.differences == ("precision: float32 vs bfloat16",)


def test_one_size_or_one_model_draws_nothing(family):
    same = size_comparison([family["small"], family["twin"]])
    assert not same.trend and not same.differences and "one size" in same.label
    assert not size_comparison([family["small"]]).trend


def test_the_offline_size_point_is_not_a_size_comparison(cache):
    preset = load_preset(Path(PRESET_DIR) / "size-offline.yaml")
    facts = [cache.get(m.id).model.facts for m in preset.models]
    verdict = size_comparison(facts, [m.training for m in preset.models])
    assert not verdict.trend and verdict.label == NOT_A_SIZE_COMPARISON
    assert {"architecture", "tokenizer", "tuning", "training data"} <= {d.split(":")[0] for d in verdict.differences}
    # the note quotes the published series it shows; its figures are the data's
    lambada = size_series("GPT-2", "LAMBADA perplexity")
    enwik8 = size_series("GPT-2", "enwik8 bits per byte")
    notes = " ".join(preset.notes.split())
    quoted = [f"{lambada[0].value:.1f} to {lambada[-1].value:.1f}", f"{enwik8[0].value:.2f} to {enwik8[-1].value:.2f}"]
    assert all(q in notes for q in quoted) and NOT_A_SIZE_COMPARISON in notes
    live = get_preset("gpt2-sizes")
    assert "size-offline" in live.offline_alternative
    assert len({m.training for m in live.models}) == 1  # one statement: a size comparison once loaded
