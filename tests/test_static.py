"""The GPU's decode step (static KV cache, graph-ready) run on a CPU: same tokens as the dynamic
cache, nothing a CUDA graph would freeze, and rows of several generations in one batch."""

from __future__ import annotations

import pytest
import torch

from playground import fast
from playground.cache import ModelCache
from playground.fast import static
from playground.generation import GenerationSettings, generate, start
from tests import tiny_models
from tests.conftest import with_static_steps

GREEDY = GenerationSettings(max_new_tokens=20)
PROMPTS = ["The quick", "A cat sat on", "Photosynthesis turns", "Café, naïve 😀"]


@pytest.fixture(scope="module")
def gemma3(tmp_path_factory, cache):
    return cache.get(str(tiny_models.build_gemma3(tmp_path_factory.mktemp("gemma3")))).model


@pytest.fixture()
def static_path(loaded):
    """The static step on the tiny decoders, as a GPU gets it at load (without a graph here)."""
    yield from with_static_steps(loaded, rows=0)


def _exact(settings: GenerationSettings) -> GenerationSettings:
    return GenerationSettings(**{**settings.__dict__, "speed": "exact"})


def test_static_step_gives_the_tokens_of_the_dynamic_cache(static_path):
    for lm in static_path:
        for text in PROMPTS:
            result = generate(lm, text, GREEDY)
            assert result.decode_method == fast.STATIC
            assert result.text == generate(lm, text, _exact(GREEDY)).text, (lm.label, text)


def test_gemma3_static_step_matches_eager_logits_past_the_sliding_window(gemma3):
    """40 positions over a window of 8: the window is applied by the step's own mask."""
    batch = static.StaticBatch(gemma3.model, 1, tiny_models.CONTEXT, gemma3.device)
    prompt = [0, 5, 9, 13, 20]
    assert batch.agrees_with_eager(prompt, 40 - len(prompt))
    long = GenerationSettings(max_new_tokens=40)
    fast.prepare(gemma3, static_step=True, rows=0)
    try:
        assert generate(gemma3, "The quick", long).text == generate(gemma3, "The quick", _exact(long)).text
    finally:
        fast.forget(gemma3)


def host_state(cache) -> list[dict]:
    """What a CUDA graph cannot see change: every non-tensor attribute of every cache layer."""
    return [{k: v for k, v in vars(layer).items() if not isinstance(v, torch.Tensor)} for layer in cache.layers]


class FrozenHost:
    """Stands in for a CUDA graph on a CPU: every replay runs with the host values the cache held
    when it was captured, which is what replaying recorded kernels amounts to."""

    def __init__(self, cache):
        self.cache, self.captured = cache, host_state(cache)

    def __enter__(self):
        for layer, values in zip(self.cache.layers, self.captured, strict=True):
            vars(layer).update(values)

    def __exit__(self, *exc):
        return False


def test_the_step_keeps_no_host_state_where_transformers_hybrid_cache_does(gemma3):
    """Why Gemma-3's graph disagreed: transformers' sliding-window static layer counts its length
    in a Python int, which a graph freezes; the step's own cache counts on the device."""
    from transformers import StaticCache

    ids = torch.tensor([[0, 5, 9, 13]])
    theirs = StaticCache(config=gemma3.model.config, max_cache_len=48)
    with torch.inference_mode():
        gemma3.model(input_ids=ids, cache=theirs, use_cache=True)
    before = host_state(theirs)
    with torch.inference_mode():
        gemma3.model(input_ids=ids[:, :1], position_ids=torch.tensor([[4]]), cache=theirs, use_cache=True)
    assert host_state(theirs) != before  # a graph captured at the first step would replay stale lengths

    batch = static.StaticBatch(gemma3.model, 1, tiny_models.CONTEXT, gemma3.device)
    row = batch.claim(len(ids[0]), 30)
    row.prefill(ids)
    frozen = FrozenHost(batch.cache)
    logits, replayed = [], []
    token = torch.tensor([[7]])
    for _ in range(20):  # past the window of 8
        with frozen:
            replayed.append(row.step(token, None).clone())
        token = replayed[-1].argmax(-1, keepdim=True)
    row.release()
    row = batch.claim(len(ids[0]), 30)
    row.prefill(ids)
    token = torch.tensor([[7]])
    for _ in range(20):
        logits.append(row.step(token, None).clone())
        token = logits[-1].argmax(-1, keepdim=True)
    row.release()
    assert torch.equal(torch.stack(logits), torch.stack(replayed))


class StaleReplay:
    """A graph that baked the clock in at capture: replaying writes and reads one slot forever."""

    def __init__(self, batch: static.StaticBatch):
        self.batch, self.clock = batch, int(batch.clock)

    def replay(self):
        self.batch.clock.fill_(self.clock)
        self.batch.logits = self.batch._forward()


def test_a_step_that_froze_a_host_value_is_refused(loaded):
    batch = static.StaticBatch(loaded["llama"].model, 1, tiny_models.CONTEXT, loaded["llama"].device)
    assert batch.agrees_with_eager([0, 5, 9], 12)
    batch.graph = StaleReplay(batch)
    assert not batch.agrees_with_eager([0, 5, 9], 12)


def test_a_busy_single_step_sends_the_next_generation_to_the_eager_path(static_path):
    lm = static_path[1]
    holder = start(lm, "The quick", GREEDY)
    try:
        assert holder.method == fast.STATIC
        assert generate(lm, "A cat", GREEDY).decode_method == "eager"
    finally:
        holder.close()
    assert generate(lm, "A cat", GREEDY).decode_method == fast.STATIC


def test_rows_of_different_lengths_share_one_batch_and_keep_their_own_tokens(loaded):
    """Three generations as rows of one batch, flushed together: each gets its tokens alone."""
    lm = loaded["llama"]
    batch = static.StaticBatch(lm.model, 3, tiny_models.CONTEXT, lm.device)
    prompts = [[0, 5], [0, 5, 9, 13, 20, 31], [0, 40, 41, 42]]
    rows = [batch.claim(len(p), 8) for p in prompts]
    assert all(rows)
    tokens = [[] for _ in prompts]
    logits = [row.prefill(torch.tensor([p])) for row, p in zip(rows, prompts, strict=True)]
    for _ in range(8):
        for i, row in enumerate(rows):
            tokens[i].append(int(logits[i].argmax()))
            row.stage(logits[i].argmax(-1, keepdim=True))
        batch.flush()
        logits = [row.logits() for row in rows]
    for row in rows:
        row.release()
    for prompt, got in zip(prompts, tokens, strict=True):
        ids = torch.tensor([prompt])
        with torch.inference_mode():
            out = lm.model(input_ids=ids, use_cache=True)
            alone, cache = [], out.cache
            token = out.logits[:, -1].argmax(-1, keepdim=True)
            for _ in range(8):
                alone.append(int(token))
                out = lm.model(input_ids=token, cache=cache, use_cache=True)
                cache, token = out.cache, out.logits[:, -1].argmax(-1, keepdim=True)
        assert got == alone


def test_a_full_or_too_short_batch_has_no_row(loaded):
    lm = loaded["gpt2"]
    batch = static.StaticBatch(lm.model, 2, 64, lm.device)  # reserve: 16 slots for prompts
    assert batch.claim(17, 4) is None  # the prompt does not fit left of the clock
    assert batch.claim(4, 40) is None  # 16 + slack + 40 new tokens pass the 64 slots
    first, second = batch.claim(4, 8), batch.claim(4, 8)
    assert first and second and batch.claim(4, 8) is None
    first.release()
    assert batch.claim(4, 8) is not None


def test_the_zero_gpu_platform_gets_no_captured_step(loaded, monkeypatch):
    """On ZeroGPU the weights move between calls and a graph holds their addresses: no graph."""
    from dataclasses import replace

    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    on_gpu = replace(loaded["llama"], device=torch.device("cuda"))
    try:
        path = fast.prepare(on_gpu)
        assert path.method == "eager" and path.alone is None and path.shared is None
    finally:
        fast.forget(on_gpu)


def test_the_cache_prepares_the_static_step_at_load_where_it_is_asked_for(tiny_folders, monkeypatch):
    """What a GPU gets at load (here forced onto the CPU): the step is ready before the first click,
    with the load's progress."""
    monkeypatch.setenv("PLAYGROUND_STATIC_STEP", "1")
    monkeypatch.setenv("PLAYGROUND_BATCH_ROWS", "3")
    messages = []
    cache = ModelCache(device=torch.device("cpu"), dtype=torch.float32)
    lm = cache.get(tiny_folders["llama"], progress=lambda f, m: messages.append(m)).model
    path = fast.decode_path(lm, "fast")
    assert path.method == fast.STATIC and path.alone.rows == 1 and path.shared.rows == 3
    assert any("static decode step for 3 at once" in m for m in messages)
    assert any("fast decoding ready" in m for m in messages)


def test_a_fast_path_that_cannot_be_made_leaves_the_model_decoding_eagerly(tiny_folders, monkeypatch):
    """A static step that fails to build (an architecture it does not know, a GPU without room for
    its cache) must not cost the model: the load succeeds and the model decodes eagerly, saying so."""

    def no_room(*args, **kwargs):
        raise torch.OutOfMemoryError("no room for the static cache")

    monkeypatch.setenv("PLAYGROUND_STATIC_STEP", "1")
    monkeypatch.setattr(static, "StaticBatch", no_room)
    cache = ModelCache(device=torch.device("cpu"), dtype=torch.float32)
    lm = cache.get(tiny_folders["gpt2"]).model
    assert fast.decode_path(lm, "fast").method == "eager"
    result = generate(lm, "The quick", GREEDY)
    assert result.decode_method == "eager" and result.new_tokens == GREEDY.max_new_tokens
