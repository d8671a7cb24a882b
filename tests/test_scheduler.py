"""The one-thread scheduler a GPU decodes with, run on a CPU: every generation gets the tokens it
gets alone, visitors on the same model share a batch, and one failure stays in its column."""

from __future__ import annotations

import threading

import pytest
import torch

from playground import fast, scheduler
from playground.compare import Column, Request, compare, compare_stream
from playground.generation import GenerationSettings, generate
from tests.conftest import with_static_steps

GREEDY = GenerationSettings(max_new_tokens=12)
SAMPLED = GenerationSettings(max_new_tokens=12, do_sample=True, temperature=1.3, top_k=50, top_p=0.95, seed=11)


@pytest.fixture(autouse=True)
def on(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_SCHEDULER", "1")


@pytest.fixture()
def batched(loaded):
    """The tiny decoders with the GPU's steps: one for a generation alone, a batch of 4 rows."""
    yield from with_static_steps(loaded, rows=4)


def _exact(settings: GenerationSettings) -> GenerationSettings:
    return GenerationSettings(**{**settings.__dict__, "speed": "exact"})


@pytest.mark.parametrize("settings", [GREEDY, SAMPLED], ids=["greedy", "sampled"])
def test_every_model_gets_the_tokens_it_gets_alone(tiny_folders, cache, loaded, settings):
    names = ["gpt2", "llama", "t5"]
    request = Request("Photosynthesis turns sunlight", generation=settings, score=False)
    together = compare([tiny_folders[n] for n in names], request, cache)
    alone = [generate(loaded[n], request.text, settings) for n in names]
    assert [r.status for r in together] == ["done"] * 3
    assert [r.output for r in together] == [a.text for a in alone]


def test_the_same_model_twice_with_its_own_seed_each(tiny_folders, cache, loaded):
    lm = loaded["llama"]
    columns = [Column(tiny_folders["llama"], do_sample=True), Column(tiny_folders["llama"], do_sample=True)]
    first = compare(columns, Request("The quick", generation=SAMPLED, score=False), cache)
    other = GenerationSettings(**{**SAMPLED.__dict__, "seed": 12})
    second = compare(columns, Request("The quick", generation=other, score=False), cache)
    assert first[0].output == first[1].output == generate(lm, "The quick", SAMPLED).text
    assert second[0].output == generate(lm, "The quick", other).text != first[0].output


def test_columns_stream_side_by_side_not_one_after_the_other(tiny_folders, cache):
    request = Request("The quick", generation=GenerationSettings(max_new_tokens=24), score=False)
    lengths = [[len(r.output) for r in states] for states in compare_stream(
        [tiny_folders["gpt2"], tiny_folders["llama"]], request, cache)]  # fmt: skip
    # some update shows both columns with text before either has its whole text
    final = lengths[-1]
    assert any(0 < a < final[0] and 0 < b < final[1] for a, b in lengths)


def test_a_failing_generation_stays_in_its_column(tiny_folders, cache, loaded, monkeypatch):
    broken = loaded["llama"].model

    def fail(*args, **kwargs):
        raise RuntimeError("the device fell over")

    monkeypatch.setattr(broken, "forward", fail)
    request = Request("The quick", generation=GREEDY, score=False)
    results = compare([tiny_folders["gpt2"], tiny_folders["llama"]], request, cache)
    assert results[0].status == "done" and results[0].output
    assert results[1].status == "error" and "the device fell over" in results[1].error


def test_visitors_on_the_same_model_share_a_batch_and_each_keeps_its_text(tiny_folders, cache, batched):
    """Six visitors at once on the same two models: the first of each model decodes on the step
    for one generation, the others as rows of the shared batch; every text is its text alone."""
    prompts = ["The quick", "A cat sat on the mat", "Photosynthesis", "Café", "The capital of", "Once"]
    seeds = [GenerationSettings(**{**SAMPLED.__dict__, "seed": s}) for s in range(len(prompts))]
    results, barrier = {}, threading.Barrier(len(prompts))
    busy = []
    shared = [fast.decode_path(lm, "fast").shared for lm in batched]
    original = type(shared[0]).flush

    def watch(batch):
        busy.append(batch.busy_rows)
        return original(batch)

    def visitor(i: int) -> None:
        barrier.wait()
        request = Request(prompts[i], generation=seeds[i] if i % 2 else GREEDY, score=False)
        results[i] = compare([tiny_folders["gpt2"], tiny_folders["llama"]], request, cache)

    type(shared[0]).flush = watch
    try:
        threads = [threading.Thread(target=visitor, args=(i,)) for i in range(len(prompts))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        type(shared[0]).flush = original
    methods = {r.generation.decode_method for rs in results.values() for r in rs}
    assert f"{fast.STATIC}, batched" in methods and max(busy) > 1
    for i, columns in results.items():
        settings = seeds[i] if i % 2 else GREEDY
        for lm, column in zip(batched, columns, strict=True):
            assert column.status == "done", column.error
            assert column.output == generate(lm, prompts[i], _exact(settings)).text, (i, lm.label)
    assert all(batch.busy_rows == 0 for batch in shared)  # every row given back


def test_a_closed_stream_gives_its_row_back(tiny_folders, cache, batched):
    lm = batched[1]
    request = Request("The quick", generation=GenerationSettings(max_new_tokens=40), score=False)
    states = compare_stream([tiny_folders["llama"], tiny_folders["llama"]], request, cache)
    for snapshot in states:
        if all(r.output for r in snapshot):
            break
    states.close()
    path = fast.decode_path(lm, "fast")
    for _ in range(200):  # the scheduler drops the cancelled decodings at its next round
        if path.shared.busy_rows == 0 and path.alone.busy_rows == 0:
            break
        threading.Event().wait(0.01)
    assert path.shared.busy_rows == 0 and path.alone.busy_rows == 0


def test_one_scheduler_per_process_and_device():
    cpu = torch.device("cpu")
    assert scheduler.scheduler_for(cpu) is scheduler.scheduler_for(cpu)


def test_the_scheduler_is_the_gpu_default_and_off_on_a_cpu(monkeypatch):
    monkeypatch.delenv("PLAYGROUND_SCHEDULER")
    assert scheduler.enabled(torch.device("cuda")) and not scheduler.enabled(torch.device("cpu"))


def test_a_request_too_long_for_one_model_fails_before_the_scheduler_sees_it(tiny_folders, cache):
    text = "The quick brown fox jumps over the lazy dog. " * 8
    request = Request(text, generation=GREEDY, score=False)
    results = compare([tiny_folders["gpt2"], tiny_folders["llama"], tiny_folders["bert"]], request, cache)
    assert [r.status for r in results] == ["error", "error", "done"]
    assert all("reads at most 64 tokens" in r.error for r in results[:2])
