"""The teaching layer: surprisal aligned across tokenizers and its heat map, training compute, the
lecture's points and their presets."""

import math
import random
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.alignment import BUCKETS, align, rank_bucket
from playground.compute import (
    ACCELERATORS,
    estimate,
    gpu_days,
    model_flops_utilisation,
    training_days,
    training_flops,
)
from playground.conditional import score_conditional
from playground.errors import PlaygroundError, Stopped
from playground.heat import heat
from playground.lecture import LECTURE_POINTS
from playground.limits import Deadline, within
from playground.packaged import PACKAGED
from playground.presets import PRESET_DIR, get_preset, load_preset
from playground.scoring import TokenScore, score_causal, token_spans
from web.render.teaching import VIEWS

MIXED = "Café naïve 😀 résumé 🎉🙂 x  12,345 def f(x):\n  return x"
TOKENIZERS = ("gpt2", "llama", "t5", "bert")  # byte-level BPE x2, Metaspace Unigram, uncased WordPiece


def made_up_scores(tokenizer, text: str, seed: int = 0, bits=None) -> list[TokenScore]:
    """Scored tokens as the scorers make them (real spans), with invented surprisals and ranks."""
    ids, spans = token_spans(tokenizer, text)
    rng = random.Random(seed)
    pieces = tokenizer.convert_ids_to_tokens(ids)
    return [
        TokenScore(p, s, e, bits(s, e) if bits else rng.uniform(0.1, 12.0), rng.choice([1, 9, 50, 700, 5000]), 0.5)
        for p, (s, e) in zip(pieces, spans, strict=True)
    ]


def check_tiling_and_sums(alignment, token_lists):
    text = alignment.text
    for parts in (alignment.segments, alignment.places):
        assert parts[0].start == 0 and parts[-1].end == len(text)
        assert all(a.end == b.start and a.start < a.end for a, b in zip(parts, parts[1:], strict=False))
        assert "".join(p.text for p in parts) == text
    for m, (model, tokens) in enumerate(zip(alignment.models, token_lists, strict=True)):
        total = sum(t.surprisal_bits for t in tokens)
        spread = sum(
            s.bits_per_char[m] * (s.end - s.start) for s in alignment.segments if s.bits_per_char[m] is not None
        )
        assert math.isclose(spread, total, rel_tol=1e-9) and math.isclose(model.total_bits, total, rel_tol=1e-9)
        by_place = sum(p.bits[m] for p in alignment.places if p.bits[m] is not None)
        assert math.isclose(by_place, total, rel_tol=1e-9)
        assert model.token_count == len(tokens) and sum(model.bucket_counts) == len(tokens)
        assert math.isclose(model.characters_per_token, len(text) / len(tokens))
    assert len(alignment.character_spread()) == len(text)


def test_alignment_tiles_mixed_text_and_keeps_every_bit(loaded):
    lists = [made_up_scores(loaded[name].tokenizer, MIXED, seed=i) for i, name in enumerate(TOKENIZERS)]
    for chosen in ([0, 2, 3], [1, 3], [0, 1, 2]):
        check_tiling_and_sums(align(MIXED, [lists[i] for i in chosen]), [lists[i] for i in chosen])


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="aeéïzZ 0123,.\n😀🎉ßπ-", min_size=1, max_size=40).filter(lambda t: t.strip()))
def test_alignment_tiles_any_text(loaded, text):
    lists = [made_up_scores(loaded[name].tokenizer, text, seed=i) for i, name in enumerate(("gpt2", "t5", "bert"))]
    lists = [tokens for tokens in lists if any(t.end > t.start for t in tokens)]
    if lists:
        check_tiling_and_sums(align(text, lists), lists)


def test_emoji_bytes_with_empty_spans_count_towards_the_emoji(loaded):
    text = "ok 😀 ok"
    tokens = made_up_scores(loaded["gpt2"].tokenizer, text, seed=3)
    emoji = text.index("😀")
    pieces = [t for t in tokens if t.start <= emoji < t.end or t.start == t.end == emoji + 1]
    assert len(pieces) >= 2 and any(t.start == t.end for t in pieces)  # byte-level BPE split the emoji
    model = align(text, [tokens]).models[0]
    holder = next(t for t in model.tokens if t.start <= emoji < t.end)
    assert math.isclose(holder.surprisal_bits, sum(t.surprisal_bits for t in pieces))
    assert len(holder.pieces) == len(pieces) and model.empty_span_tokens == len(pieces) - 1


def test_wordpiece_uncased_offsets_point_at_the_original_text(loaded):
    text = "Café naïve RÉSUMÉ"
    tokens = made_up_scores(loaded["bert"].tokenizer, text)
    assert tokens[0].token == "cafe"  # lower-cased and accent-stripped, yet spans the original "Café"
    model = align(text, [tokens]).models[0]
    assert not model.uncovered and text[model.tokens[0].start : model.tokens[0].end] == "Café"
    # WordPiece drops spaces; the space goes to the word after it, as byte-level BPE does
    assert text[model.tokens[1].start : model.tokens[1].end].startswith(" n")


def test_metaspace_pieces_keep_their_bits(loaded):
    text = "Café naïve"
    tokens = made_up_scores(loaded["t5"].tokenizer, text)
    assert any(t.token.startswith("▁") for t in tokens)
    check_tiling_and_sums(align(text, [tokens]), [tokens])


def test_real_scores_of_two_tokenizers_align_with_their_totals(loaded):
    text = "Café naïve 😀 résumé."
    scores = [score_causal(loaded["gpt2"], text), score_causal(loaded["llama"], text)]
    conditional = score_conditional(loaded["t5"], "Translate.", text)  # its </s> has an empty span at the end
    lists = [s.tokens for s in scores] + [conditional.tokens]
    alignment = align(text, lists, ["gpt2", "llama", "t5"])
    check_tiling_and_sums(alignment, lists)
    for model, score in zip(alignment.models, [*scores, conditional], strict=True):
        assert math.isclose(model.total_bits, score.total_nll_nats / math.log(2), rel_tol=1e-6)


def test_hot_spots_are_where_the_models_were_made_to_disagree(loaded):
    text = "I like my coffee with milk and two lumps of granite."
    hot = {"granite": text.index("granite"), "milk": text.index("milk")}

    def bits_with_surprise(word):
        start = hot[word]
        return lambda s, e: (e - s) * (6.0 if s < start + len(word) and start < e else 0.5)

    lists = [
        made_up_scores(loaded["gpt2"].tokenizer, text, bits=bits_with_surprise("granite")),
        made_up_scores(loaded["bert"].tokenizer, text, bits=bits_with_surprise("milk")),
        made_up_scores(loaded["t5"].tokenizer, text, bits=lambda s, e: 0.5 * (e - s)),
    ]
    alignment = align(text, lists)
    first, second = alignment.hot_spots(2)
    assert "granite" in first.text and "milk" in second.text
    assert first.spread_bits > 20 and all(p.spread_bits <= second.spread_bits for p in alignment.hot_spots(9)[2:])
    spread = alignment.character_spread()
    assert spread.index(max(spread)) in range(hot["granite"], hot["granite"] + len("granite"))


def test_gltr_rank_buckets():
    assert [rank_bucket(r).name for r in (1, 10, 11, 100, 101, 1000, 1001)] == [
        "top-10",
        "top-10",
        "top-100",
        "top-100",
        "top-1000",
        "top-1000",
        "beyond",
    ]
    assert [b.colour_name for b in BUCKETS] == ["green", "yellow", "red", "purple"]


def test_alignment_refuses_spans_of_another_text(loaded):
    tokens = made_up_scores(loaded["gpt2"].tokenizer, "a longer text than this")
    with pytest.raises(PlaygroundError, match="past the text"):
        align("short", [tokens])
    with pytest.raises(PlaygroundError, match="no text"):
        align("", [tokens])


def test_training_compute_of_gpt3_matches_the_paper():
    assert math.isclose(training_flops(175e9, 300e9), 3.14e23, rel_tol=0.05)  # GPT-3 paper, Table D.1


# LLaMA paper (Touvron et al., 2023, section 2.4): 65.2B parameters, 1.4T tokens, 2,048 A100-80GB,
# about 380 tokens/s/GPU, "approximately 21 days". 6N x 380 / 312 TFLOP/s = 0.476 MFU.
LLAMA_65B_UTILISATION = 0.47


def test_llama_65b_took_21_days_on_2048_a100s():
    mfu = model_flops_utilisation(65.2e9, 380, ACCELERATORS["A100"].peak_flops)
    assert math.isclose(mfu, LLAMA_65B_UTILISATION, abs_tol=0.01)
    flops = training_flops(65.2e9, 1.4e12)
    days = training_days(flops, 2048, ACCELERATORS["A100"].peak_flops, LLAMA_65B_UTILISATION)
    assert math.isclose(days, 21, rel_tol=0.15)
    assert math.isclose(gpu_days(flops, 312e12, LLAMA_65B_UTILISATION), days * 2048)
    run = estimate(65.2e9, 1.4e12, "A100", 2048, LLAMA_65B_UTILISATION)
    assert run.flops == flops and math.isclose(run.days, days)


def test_accelerator_table_and_bad_inputs():
    assert {n: a.peak_flops for n, a in ACCELERATORS.items() if n != "H200"} == {
        "V100 SXM2": 125e12,
        "A100": 312e12,
        "H100 SXM": 989e12,
    }
    assert all(a.source and a.precision for a in ACCELERATORS.values())
    for call in (
        lambda: gpu_days(1e20, 312e12, 0),
        lambda: training_days(1e20, 0, 312e12, 0.4),
        lambda: training_flops(0, 1e9),
        lambda: estimate(1e9, 1e9, "TPU v9", 8),
    ):
        with pytest.raises(PlaygroundError):
            call()


def test_teaching_presets():
    presets = {n: load_preset(Path(PRESET_DIR) / f"{n}.yaml") for n in ("tokenizers", "decoding", "surprise")}
    for preset in presets.values():
        assert preset.offline and all(m.id in PACKAGED for m in preset.models) and preset.notes
    assert "bits per byte" in presets["tokenizers"].notes.lower()
    cost = load_preset(Path(PRESET_DIR) / "facts-and-cost.yaml")
    assert not cost.offline and cost.offline_alternative
    assert all(m.training and m.source for m in cost.models)


def test_heat_colours_whole_words_by_their_bits_on_one_scale(loaded):
    text = "I like a granite."
    word = {"granite": text.index(" granite"), "a": text.index(" a ")}

    def bits(s, e):  # " a": 4 bits over 2 characters; " granite": 12 bits over 8; the rest 0.5 a character
        if word["a"] <= s < word["a"] + 2:
            return 4.0 * (e - s) / 2
        if word["granite"] <= s < word["granite"] + 8:
            return 12.0 * (e - s) / 8
        return 0.5 * (e - s)

    lists = [made_up_scores(loaded[name].tokenizer, text, bits=bits) for name in ("gpt2", "t5")]
    alignment = align(text, lists)
    found = heat(alignment, top=2)
    spans = {s.text.strip(): s for s in found.spans}
    assert found.scale_bits == 12.0  # the largest bits of any span, rounded up to a whole bit
    for m in range(2):
        assert found.hottest_text(m) == ["granite", "a"]  # per character " a" is hotter; per word, granite
        assert math.isclose(spans["granite"].bits[m], 12.0) and math.isclose(spans["granite"].intensity[m], 1.0)
        assert math.isclose(spans["a"].intensity[m], 4.0 / 12.0)

        def rate(start, end, m=m):
            return max(g.bits_per_char[m] for g in alignment.segments if start <= g.start < end)

        assert rate(word["a"], word["a"] + 2) > rate(word["granite"], word["granite"] + 8)
    assert all(i is None or 0 <= i <= 1 for s in found.spans for i in s.intensity)


def test_alignment_stops_at_the_request_deadline(loaded):
    tokens = made_up_scores(loaded["gpt2"].tokenizer, MIXED)
    with within(Deadline(1.0, time.monotonic() - 1)), pytest.raises(Stopped, match="aligning"):
        align(MIXED, [tokens])


def test_granite_lights_up_in_both_packaged_models(cache):
    """The surprise preset's note, on its own first sentence, with the real packaged models."""
    preset = get_preset("surprise")
    text = preset.prompts[0]
    assert "granite" in text and "granite" in preset.notes
    scores = [score_causal(cache.get(m.id).model, text) for m in preset.models]
    found = heat(align(text, [s.tokens for s in scores]), top=2)
    for m in range(len(scores)):
        assert "granite" in found.hottest_text(m) and "lumps" in found.hottest_text(m)
    for word in ("granite", "lumps"):  # the figure playground/heat.py quotes
        span = next(s for s in found.spans if word in s.text)
        assert all(b > 13 for b in span.bits) and found.scale_bits >= max(span.bits)
    assert found.disagreements and found.disagreements[0].spread_bits >= found.disagreements[-1].spread_bits


def test_every_lecture_point_has_an_offline_preset_whose_note_looks_at_its_view():
    assert [p.number for p in LECTURE_POINTS] == list(range(1, 8))
    for point in LECTURE_POINTS:
        online, offline = get_preset(point.preset), get_preset(point.offline_preset)
        assert offline.offline and all(m.id in PACKAGED for m in offline.models), point.title
        assert offline.notes.startswith("What to look for:") and point.offline_shows
        assert online.offline or point.offline_preset in online.offline_alternative
        assert point.view == "outputs" or VIEWS.get(point.preset) == point.view
