"""The fast decode path and the one-thread side-by-side scheduler: same tokens, seeds reproducible.

No timing is asserted here: speed is measured by bench/run.py, and a timed test would only
measure how busy the machine running it is.
"""

from __future__ import annotations

import gc
import weakref

import pytest
import torch
from transformers import Gemma3ForCausalLM, Gemma3TextConfig

from playground import half, int8, native, speed
from playground.cache import ModelCache
from playground.errors import PlaygroundError
from playground.generation import GenerationSettings, TextStream, generate, start, stream
from playground.lockstep import Job, generate_lockstep, stream_lockstep
from tests import tiny_models

PROMPTS = ["The quick", "A cat sat on", "Photosynthesis turns", "Café, naïve 😀"]
GREEDY = GenerationSettings(max_new_tokens=20)
SAMPLED = GenerationSettings(max_new_tokens=12, do_sample=True, temperature=1.3, top_k=50, top_p=0.95, seed=11)


@pytest.fixture(autouse=True)
def twin_even_for_tiny_models(monkeypatch, loaded):
    """The tiny models are below the size where a twin pays; build the float16 one anyway to test
    it (the native step and the int8 twin, chosen where their kernels build, have test_native.py
    and test_int8.py), and leave no prepared path behind for the other test files."""
    monkeypatch.setattr(speed, "HALF_MIN_BYTES", 0)
    monkeypatch.setattr(int8, "available", lambda: False)
    monkeypatch.setattr(native, "why_unsupported", lambda model: "not what these tests are about")
    for lm in loaded.values():
        speed.forget(lm)
    yield
    for lm in loaded.values():
        speed.forget(lm)


def _exact(settings: GenerationSettings) -> GenerationSettings:
    return GenerationSettings(**{**settings.__dict__, "speed": "exact"})


def _tokens(lm, text: str, settings: GenerationSettings) -> list[int]:
    decoding = start(lm, text, settings)
    while not decoding.done:
        decoding.launch()
        decoding.collect()
    return decoding.generated


@pytest.fixture()
def static_path(loaded):
    """Force the GPU's static-cache step onto the tiny decoders (on a CPU it runs without a graph)."""
    lms = [loaded["gpt2"], loaded["llama"]]
    for lm in lms:
        speed.forget(lm)
        speed.prepare(lm, static=True)
    yield lms
    for lm in lms:
        speed.forget(lm)


@pytest.fixture(scope="module")
def tiny_gemma3(tmp_path_factory, cache):
    """Gemma-3's layout (sliding-window and global layers, q/k norms) at width 32."""
    folder = tmp_path_factory.mktemp("gemma3")
    tokenizer = tiny_models.byte_bpe_tokenizer()
    torch.manual_seed(4)
    config = Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=tiny_models.CONTEXT,
        sliding_window=8,
        layer_types=["sliding_attention", "sliding_attention", "full_attention"],
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    )
    Gemma3ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return cache.get(str(folder)).model


def test_a_model_too_small_to_gain_decodes_as_loaded(loaded, monkeypatch):
    monkeypatch.setattr(speed, "HALF_MIN_BYTES", 64 * 2**20)
    result = generate(loaded["llama"], "The quick", GREEDY)
    assert (result.precision, result.decode_method) == ("float32", "eager")


def test_fast_path_reports_its_precision_and_exact_reports_the_loaded_dtype(loaded):
    fast = generate(loaded["llama"], "The quick", GREEDY)
    exact = generate(loaded["llama"], "The quick", _exact(GREEDY))
    assert fast.precision == speed.HALF_PRECISION and fast.decode_method == "eager"
    assert exact.precision == "float32" and exact.decode_method == "eager"


@pytest.mark.parametrize("name", ["gpt2", "llama"])
def test_fast_path_gives_the_greedy_tokens_of_the_exact_path_on_tiny_models(loaded, name):
    lm = loaded[name]
    for text in PROMPTS:
        assert _tokens(lm, text, GREEDY) == _tokens(lm, text, _exact(GREEDY)), text


def test_float16_twin_shares_all_but_the_linear_weights(loaded):
    lm = loaded["llama"]
    path = speed.decode_path(lm, "fast")
    originals = {id(p) for p in lm.model.parameters()}
    halves = [m for m in path.model.modules() if isinstance(m, half.Linear16)]
    assert len(halves) == len(half.linear_layers(lm.model)) > 0
    assert all(m.weight.dtype == torch.float16 for m in halves)
    copied = {id(m.weight) for m in halves}
    shared = [p for p in path.model.parameters() if id(p) not in copied]
    assert shared and all(id(p) in originals for p in shared)
    assert all(p.dtype == torch.float32 for p in lm.model.parameters())  # the loaded model is untouched


def test_a_prepared_model_is_freed_when_nothing_else_holds_it(tiny_folders):
    lm = ModelCache(device=torch.device("cpu"), dtype=torch.float32).get(tiny_folders["llama"]).model
    speed.prepare(lm)
    generate(lm, "The quick", GREEDY)
    model = weakref.ref(lm.model)
    del lm
    gc.collect()
    assert model() is None


def test_a_float16_overflow_is_caught_and_the_output_finished_in_float32(loaded):
    lm = loaded["gpt2"]
    expected = generate(lm, "A cat sat on", _exact(GREEDY))
    speed.forget(lm)
    path = speed.prepare(lm)
    try:
        for module in path.model.modules():
            if isinstance(module, half.Linear16):
                module.scale = 1e-30  # x / scale overflows float16 in every product
        got = generate(lm, "A cat sat on", GREEDY)
    finally:
        speed.forget(lm)
    assert got.text == expected.text and got.precision == "float32"
    assert "overflowed" in got.note


def test_calibration_gives_powers_of_two_that_keep_float16_in_range():
    assert half._power_of_two_above(0.5) == 1.0
    assert half._power_of_two_above(3.0) == 4.0
    assert half._power_of_two_above(22_500 * half.HEADROOM / half.FLOAT16_MAX) == 32.0


def test_static_cache_step_gives_the_tokens_of_the_dynamic_cache(loaded, static_path):
    for lm in static_path:
        for text in PROMPTS[:2]:
            result = generate(lm, text, GREEDY)
            assert result.decode_method == "static KV cache"
            speed.forget(lm)
            assert generate(lm, text, GREEDY).text == result.text
            speed.prepare(lm, static=True)


def test_static_cache_step_on_gemma3_sliding_window_layers(tiny_gemma3):
    lm = tiny_gemma3
    long = GenerationSettings(max_new_tokens=30)  # past the sliding window of 8
    dynamic = _tokens(lm, "The quick brown fox", long)
    speed.prepare(lm, static=True)
    try:
        assert _tokens(lm, "The quick brown fox", long) == dynamic
    finally:
        speed.forget(lm)


class ReplayedStep:
    """Stands in for a CUDA graph on a CPU: replaying reruns the step, at the captured position
    if ``frozen`` (what a graph that baked a host value in would do)."""

    def __init__(self, step: speed.StaticStep, frozen: bool):
        self.step, self.frozen = step, frozen
        self.position = int(step.position)

    def replay(self):
        if self.frozen:
            self.step.position.fill_(self.position)
        self.step.logits.copy_(self.step._forward())


@pytest.mark.parametrize("frozen", [False, True])
def test_a_captured_step_is_used_only_if_it_agrees_with_the_eager_step(loaded, static_path, frozen):
    step = speed.decode_path(static_path[1], "fast").static
    step.prefill(torch.tensor([[1, 2]]))
    step.logits = step._forward()
    step.graph = ReplayedStep(step, frozen)
    try:
        assert step.agrees_with_eager() is not frozen
    finally:
        step.graph = None


def test_static_step_is_released_when_a_stream_is_abandoned(loaded, static_path):
    lm = static_path[0]
    updates = stream(lm, "The quick", GREEDY)
    next(updates)
    updates.close()
    assert not speed.decode_path(lm, "fast").static.lock.locked()
    assert generate(lm, "The quick", GREEDY).decode_method == "static KV cache"


def test_a_second_generation_finding_the_static_step_busy_decodes_eagerly(loaded, static_path):
    lm = static_path[1]
    holder = start(lm, "The quick", GREEDY)
    try:
        assert generate(lm, "A cat", GREEDY).decode_method == "eager"
    finally:
        holder.close()


@pytest.mark.parametrize("settings", [GREEDY, SAMPLED], ids=["greedy", "sampled"])
def test_lockstep_gives_each_model_the_tokens_it_gives_alone(loaded, settings):
    jobs = [
        Job(loaded["gpt2"], "The quick", settings),
        Job(loaded["llama"], "A cat sat on", settings),
        Job(loaded["t5"], "Photosynthesis turns sunlight into sugar.", settings),
    ]
    together = generate_lockstep(jobs)
    alone = [generate(job.model, job.text, job.settings) for job in jobs]
    assert [r.text for r in together] == [r.text for r in alone]
    assert [r.new_tokens for r in together] == [r.new_tokens for r in alone]


def test_lockstep_with_the_same_model_twice_and_different_seeds(loaded):
    lm = loaded["llama"]
    other_seed = GenerationSettings(**{**SAMPLED.__dict__, "seed": 12})
    jobs = [Job(lm, "The quick", SAMPLED), Job(lm, "The quick", other_seed), Job(lm, "The quick", SAMPLED)]
    first, second, third = generate_lockstep(jobs)
    assert first.text == third.text == generate(lm, "The quick", SAMPLED).text
    assert second.text == generate(lm, "The quick", other_seed).text != first.text


def test_lockstep_streams_every_model_in_turn_and_ends_each_with_its_result(loaded):
    jobs = [Job(loaded["gpt2"], "The quick", GREEDY), Job(loaded["llama"], "A cat", GREEDY)]
    events = list(stream_lockstep(jobs))
    order = [index for index, _ in events]
    last_of_first = len(order) - 1 - order[::-1].index(0)
    assert order.index(1) < last_of_first  # interleaved, not one model after the other
    assert sorted(i for i, u in events if u.result is not None) == [0, 1]


def test_lockstep_refuses_an_invalid_job_before_running_any(loaded):
    jobs = [Job(loaded["gpt2"], "The quick", GREEDY), Job(loaded["bert"], "A cat", GREEDY)]
    with pytest.raises(PlaygroundError, match="does not generate"):
        generate_lockstep(jobs)


@pytest.mark.parametrize("name", ["gpt2", "t5"])
def test_streamed_pieces_add_up_to_the_decoded_text(loaded, name):
    lm = loaded[name]
    for text in PROMPTS:
        updates = list(stream(lm, text, GenerationSettings(max_new_tokens=16, do_sample=True, seed=3)))
        assert "".join(u.piece for u in updates) == updates[-1].result.text


def test_text_stream_holds_back_half_a_character_and_keeps_sentencepiece_spaces(loaded):
    tokenizer = loaded["t5"].tokenizer
    text = "sat on the mat 😀 naïve"
    pieces = TextStream(tokenizer)
    streamed = "".join(pieces.add(i) for i in tokenizer(text, add_special_tokens=False)["input_ids"])
    assert streamed == tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"])
    assert "\ufffd" not in streamed


def test_unknown_speed_is_refused(loaded):
    with pytest.raises(PlaygroundError, match="Unknown speed"):
        generate(loaded["gpt2"], "Hi", GenerationSettings(speed="ludicrous"))


@pytest.fixture(scope="module")
def smol():
    return ModelCache().get("smollm2-135m-instruct").model


# Measured on 2026-11-27 (2-core AVX2 CPU), 8 prompts, these 4 among them: float16 decode weights
# gave float32's greedy tokens for all 32 tokens, or until both stopped at the same end of sequence.
# The floor leaves room for a near tie on another CPU's kernels.
SMOL_PROMPTS = [
    "Explain in two sentences why the sky is blue.",
    "Write a haiku about the sea.",
    "The capital of France is",
    "Once upon a time",
]


def test_fast_path_follows_float32_greedy_tokens_on_smollm2(smol):
    speed.forget(smol)  # the cache prepared the int8 path at load; this test is about float16
    settings = GenerationSettings(max_new_tokens=24)
    agreed = []
    for text in SMOL_PROMPTS:
        fast, exact = _tokens(smol, text, settings), _tokens(smol, text, _exact(settings))
        agreed.append(next((i for i, (a, b) in enumerate(zip(fast, exact, strict=False)) if a != b), len(exact)))
        assert len(fast) == len(exact) or agreed[-1] < min(len(fast), len(exact))
    assert min(agreed) >= 16 and sum(agreed) >= 0.9 * 24 * len(SMOL_PROMPTS), agreed


def test_the_gpu_benchmark_script_runs_end_to_end_on_small_shapes(tmp_path):
    """bench/run.py --gpu is meant for a GPU machine that is lent for minutes: its logic must
    already work, so it runs here on the CPU with small shapes (no timing is checked)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "bench.json"
    command = [sys.executable, "bench/run.py", "--gpu", "--tiny", "--tokens", "4", "--out", str(out)]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["complete"] and results["mode"] == "gpu"
    assert all(results["side_by_side"]["lockstep_same_tokens"])
    assert all(row["same_nll"] for row in results["scoring"])
