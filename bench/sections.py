"""The bench's measurements, one function per question; ``run.py`` strings them together.

Every comparison runs both sides in the same process on the same loaded weights, one after the
other, so that they share the machine's state (and its other load) as far as possible.
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import torch

from bench.measure import Clock, PeakMemory, decode_split, plain_generate, sync, torch_threads
from playground import fast
from playground.compare import Request, compare
from playground.decoding import Decoding
from playground.fast import DecodePath, half, int8, native, static
from playground.generation import GenerationSettings, build_prompt
from playground.models import LoadedModel
from playground.scoring import score_causal, window_plan


def settings(new_tokens: int, speed_name: str = "fast") -> GenerationSettings:
    return GenerationSettings(max_new_tokens=new_tokens, speed=speed_name)


def run_decoding(lm: LoadedModel, text: str, new_tokens: int, path: DecodePath):
    """The playground's own loop, streamed as a user gets it, on a given decode path. Returns the
    result and the process CPU seconds per token after the first (the decode part)."""
    prompt = build_prompt(lm, text, None)
    decoding = Decoding(lm, prompt, settings(new_tokens), path, shared=False)
    after_first = None
    try:
        while not decoding.done:
            decoding.launch()
            updates = decoding.collect()
            if after_first is None and decoding.generated:
                after_first = time.process_time()
            for update in updates:
                if update.result is not None:
                    steps = max(1, update.result.new_tokens - 1)
                    return update.result, (time.process_time() - (after_first or time.process_time())) / steps
    finally:
        decoding.close()
    raise AssertionError("no result")


def playground_row(lm: LoadedModel, text: str, new_tokens: int, path: DecodePath, reps: int = 2) -> dict:
    """Best of ``reps`` runs after a short warm-up: wall and CPU time are minimised separately
    (on a shared machine each run can lose different amounts to other processes)."""
    run_decoding(lm, text, min(new_tokens, 8), path)  # warm-up
    best, cpu_per_token, memory = None, float("inf"), None
    for _ in range(reps):
        with PeakMemory(lm.device) as peak:
            result, cpu = run_decoding(lm, text, new_tokens, path)
        cpu_per_token = min(cpu_per_token, cpu)
        if best is None or result.decode_tokens_per_s > best.decode_tokens_per_s:
            best, memory = result, peak
    per_token = 1e3 / best.decode_tokens_per_s if best.decode_tokens_per_s else None
    return {
        "ttft_ms": round(best.time_to_first_token_s * 1e3, 1),
        "ms_per_token": round(per_token, 2) if per_token else None,
        "tokens_per_s": round(best.decode_tokens_per_s, 1),
        "cpu_ms_per_token": round(cpu_per_token * 1e3, 2),
        "total_s": round(best.total_s, 3),
        "tokens": best.new_tokens,
        "precision": best.precision,
        "method": best.decode_method,
        **memory.as_dict(),
    }


def baseline_row(lm: LoadedModel, text: str, new_tokens: int, reps: int = 2) -> dict:
    """Plain ``model.generate`` on the prompt ids the playground uses (end of sequence ignored)."""
    ids = torch.tensor([build_prompt(lm, text, None).ids], device=lm.device)
    with PeakMemory(lm.device) as peak:
        row = decode_split(lambda n: plain_generate(lm.model, ids, n), new_tokens, lm.device, reps)
    row["tokens_per_s"] = round(1e3 / row["ms_per_token"], 1) if row["ms_per_token"] > 0 else None
    return {**row, "precision": lm.facts.dtype, "method": "generate()", **peak.as_dict()}


def alternative_paths(lm: LoadedModel) -> dict[str, DecodePath]:
    """Decode paths that were measured and not chosen, to show why (CPU only)."""
    scales = half.calibrate(lm.model, lm.tokenizer, 128)
    bf16 = half.twin(lm.model, scales, torch.bfloat16)
    dynamic = torch.ao.quantization.quantize_dynamic(copy.deepcopy(lm.model), {torch.nn.Linear}, dtype=torch.qint8)
    paths = {
        "bf16 weights": DecodePath(bf16, lm.model, "bfloat16 weights (prompt: float32), float32 activations", "eager"),
        "int8 dynamic": DecodePath(dynamic, lm.model, "int8 weights and activations (dynamic)", "eager"),
        "float16 twin": DecodePath(half.twin(lm.model, scales), lm.model, fast.HALF_PRECISION, "eager"),
    }
    if int8.available():  # the fast path of the models the native step does not cover
        twin = half.replace_linear(lm.model, fast._int8_layer)
        paths["int8 twin in transformers"] = DecodePath(twin, lm.model, int8.PRECISION, "eager")
    return paths


def static_path(lm: LoadedModel) -> DecodePath:
    """The loaded model over a static KV cache (a GPU's, here without a CUDA graph)."""
    step = static.StaticBatch(lm.model, 1, 1024, lm.device)
    return DecodePath(lm.model, lm.model, lm.facts.dtype, fast.STATIC, step)


def native_perplexity(lm: LoadedModel, text: str, step: native.NativeModel) -> float:
    """Perplexity of ``text`` read one token at a time by the native step (as it decodes), over
    the tokens ``score_causal`` scores: the document-start token, then the text."""
    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    sequence = torch.tensor([[lm.document_start_id, *ids]])
    session = step.session(sequence.shape[1])
    with torch.inference_mode():
        logits = [session.prefill(sequence[:, :1], lm.model)[0].clone()]
        logits += [session.step(sequence[0, p], p)[0].clone() for p in range(1, sequence.shape[1] - 1)]
        nll = torch.nn.functional.cross_entropy(torch.stack(logits), sequence[0, 1:])
    return float(torch.exp(nll))


def side_by_side(lms: list[LoadedModel], texts: list[str], new_tokens: int, cache, threads: int) -> dict:
    """Wall time of the same generations: ``compare`` as it runs here (a thread per model on a
    CPU), one after another, and ``compare`` with the one-thread scheduler a GPU uses."""
    out = {"models": [lm.label for lm in lms], "new_tokens": new_tokens}
    names = [lm.ref.name if lm.ref.source == "packaged" else lm.label for lm in lms]
    request = Request(texts[0], generation=settings(new_tokens), score=False)
    clock = Clock()
    with clock.run():
        results = compare(names, request, cache)
    out["compare_threads_s"] = round(clock.wall, 2)
    out["compare_tokens"] = [r.generation.new_tokens if r.generation else r.error for r in results]
    with torch_threads(threads):
        with clock.run():
            alone = [run_decoding(lm, texts[0], new_tokens, fast.decode_path(lm, "fast"))[0] for lm in lms]
        out["one_after_another_s"] = round(clock.wall, 2)
        out["alone_s"] = [round(r.total_s, 2) for r in alone]
    with scheduler_on(), clock.run():
        together = compare(names, request, cache)
    out["compare_scheduler_s"] = round(clock.wall, 2)
    out["scheduler_same_tokens"] = [a.text == b.output for a, b in zip(alone, together, strict=True)]
    out["intra_op_threads_sequential"] = threads
    return out


@contextlib.contextmanager
def scheduler_on():
    """Decode through the one-thread scheduler (the GPU's default) for the block."""
    before = os.environ.get("PLAYGROUND_SCHEDULER")
    os.environ["PLAYGROUND_SCHEDULER"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["PLAYGROUND_SCHEDULER"]
        else:
            os.environ["PLAYGROUND_SCHEDULER"] = before


def naive_scoring(lm: LoadedModel, sequence: list[int], window: int, stride: int) -> float:
    """The loop a notebook would write: every window alone, full logits, log-softmax over all."""
    total = 0.0
    with torch.inference_mode():
        for begin, end, first in window_plan(len(sequence), window, stride):
            ids = torch.tensor([sequence[begin:end]], device=lm.device)
            log_probs = lm.model(input_ids=ids).logits.float().log_softmax(-1)[0]
            targets = torch.tensor(sequence[first:end], device=lm.device)
            rows = torch.arange(first, end, device=lm.device) - 1 - begin
            total -= float(log_probs[rows, targets].sum())
    return total


def scoring_row(lm: LoadedModel, text: str, window: int, stride: int) -> dict:
    """Tokens scored per second: ``score_causal`` (windows batched, logits of scored positions
    only) against the naive per-window loop over the same windows."""
    score_causal(lm, text[:200], window, stride)  # warm-up
    clock = Clock()
    with clock.run(lm.device):
        score = score_causal(lm, text, window, stride)
    playground_s = clock.wall
    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    sequence = ([lm.document_start_id] if lm.document_start_id is not None else []) + ids
    with clock.run(lm.device):
        naive_nll = naive_scoring(lm, sequence, score.window, score.stride)
    return {
        "model": lm.label,
        "scored_tokens": score.scored_tokens,
        "window": score.window,
        "stride": score.stride,
        "windows": score.windows,
        "playground_tokens_per_s": round(score.scored_tokens / playground_s),
        "naive_tokens_per_s": round(score.scored_tokens / clock.wall),
        "speedup": round(clock.wall / playground_s, 2),
        "same_nll": abs(naive_nll - score.total_nll_nats) < 1e-3 * max(1.0, abs(naive_nll)),
    }


def perplexity_rows(lm: LoadedModel, text: str, gguf: Path | None) -> list[dict]:
    """Perplexity of one fixed text in float32 and under every other precision measured."""
    reference = score_causal(lm, text)
    rows = [{"model": lm.label, "precision": "float32 (reference)", "perplexity": round(reference.perplexity, 4)}]

    def add(precision: str, perplexity: float):
        change = (perplexity / reference.perplexity - 1) * 100
        row = {"model": lm.label, "precision": precision, "perplexity": round(perplexity, 4)}
        rows.append({**row, "change_pct": round(change, 2)})

    shipped = fast.decode_path(lm, "fast")
    if isinstance(shipped.alone, native.NativeModel):
        add(f"{shipped.precision} [fast: shipped]", native_perplexity(lm, text, shipped.alone))
    elif shipped.model is not lm.model:
        add(f"{shipped.precision} [fast: shipped]", score_causal(replace(lm, model=shipped.model), text).perplexity)
    for name, path in alternative_paths(lm).items():
        add(f"{path.precision} [{name}: not chosen]", score_causal(replace(lm, model=path.model), text).perplexity)
    everything = copy.deepcopy(lm.model).to(torch.bfloat16)
    add("bfloat16 everything [not chosen]", score_causal(replace(lm, model=everything), text).perplexity)
    if gguf is not None:
        from bench import llamacpp

        ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
        add("llama.cpp on the GGUF file (4-bit blocks)", llamacpp.perplexity(gguf, [lm.document_start_id, *ids]))
    return rows


def threads_in_worker(fn, *args):
    """Run ``fn`` in a fresh thread, as compare() runs each model, and return its value."""
    box = {}
    thread = threading.Thread(target=lambda: box.update(value=fn(*args)))
    thread.start()
    thread.join()
    return box["value"]


def cuda_ceilings(device: torch.device) -> dict:
    """Copy bandwidth and bf16 matmul throughput of the card: the floors they imply per model."""
    n = 1 << 30
    a = torch.empty(n, dtype=torch.uint8, device=device)
    b = torch.empty_like(a)

    def timed(fn, reps=10):
        fn()
        sync(device)
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        sync(device)
        return (time.perf_counter() - start) / reps

    bandwidth = 2 * n / timed(lambda: b.copy_(a)) / 1e12
    x = torch.randn(8192, 8192, dtype=torch.bfloat16, device=device)
    y = torch.randn_like(x)
    flops = 2 * 8192**3 / timed(lambda: x @ y) / 1e12
    return {"copy_TBps": round(bandwidth, 2), "bf16_matmul_TFLOPs": round(flops, 1)}
