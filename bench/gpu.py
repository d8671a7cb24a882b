"""The GPU benchmark: what a visitor of a GPU Space gets, timed through the page's own call.

Every playground figure here comes from ``compare()`` with ``ModelCache()``'s defaults, the call
the page's Run, ``/compare`` and the command line make; nothing is prepared by hand. Beside it,
in the same run: ``model.generate`` on the same weights (the baseline a user would write), the
card's copy bandwidth and bf16 matmul ceilings, and the floors they imply (every weight read once
per token; 2 x parameters FLOPs per scored token). Sections:

- ``decode``: each model's ms/token in the trio's comparison, generate()'s, and the floor;
- ``comparison``: the trio in one ``compare()`` against each model alone (with a 2-layer
  companion model: ``compare`` takes 2-3 models), the first response after loading against the
  eager path's, and the decode method each column reports;
- ``scoring``: ``score_causal`` tokens/s against a naive per-window loop and the compute floor;
- ``visitors``: V simultaneous visitors each making C comparisons of the trio (threads calling
  ``compare()``, as the page's queue does with PLAYGROUND_CONCURRENCY), p50 / p95 latency and
  the wall time against one comparison.

With ``--tiny`` it runs on small shapes, on a CPU too: that is how its logic is tested (the GPU
paths then run without CUDA graphs, and the scheduler is forced on).
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import torch

from bench import models, sections
from bench.measure import Clock, decode_split, plain_generate
from playground.cache import ModelCache
from playground.compare import Request, compare
from playground.generation import GenerationSettings


def gpu_mode(args, device: torch.device, results: dict, save, say, table) -> None:
    n = 16 if args.tiny else args.tokens
    cache = ModelCache() if device.type == "cuda" else ModelCache(device=device, dtype=torch.float32)
    work = Path(args.work)
    if device.type == "cuda":
        results["ceilings"] = sections.cuda_ceilings(device)
        say("ceilings:", results["ceilings"])
    shapes = models.gpu_shapes(args.tiny)
    folders = {
        name: str(models.save_random(cls, config, work / name.split()[0])) for name, (cls, config) in shapes.items()
    }
    companion = str(models.save_random(models.GPT2LMHeadModel, models.tiny_gpt2_config(), work / "companion"))
    names = list(folders)
    trio = [folders[name] for name in names[:3]]
    prompt = models.random_prompt(32)
    greedy = Request(prompt, generation=GenerationSettings(max_new_tokens=n), score=False)
    exact = Request(prompt, generation=GenerationSettings(max_new_tokens=n, speed="exact"), score=False)

    loads = {}
    for name, folder in [*folders.items(), ("companion", companion)]:
        clock = Clock()
        with clock.run(device):
            lease = cache.get(folder, progress=lambda f, m: say(f"  [{f:4.0%}] {m}"))
        loads[name] = {
            "load_and_prepare_s": round(clock.wall, 2),
            "weight_MiB": round(lease.model.facts.weight_bytes / 2**20),
        }
    results["loads"] = loads
    save()

    say("\n## One comparison of the trio, as the page runs it")
    first = _timed(lambda: compare(trio, greedy, cache), device)
    warm = min((_timed(lambda: compare(trio, greedy, cache), device) for _ in range(2)), key=lambda r: r["wall_s"])
    eager = _timed(lambda: compare(trio, exact, cache), device)
    alone = {}
    for name in names[:3]:
        run = _timed(lambda folder=folders[name]: compare([folder, companion], greedy, cache), device)
        alone[name] = run["columns"][0]
    results["comparison"] = {
        "models": names[:3],
        "new_tokens": n,
        "first_after_load": first,
        "warm": warm,
        "eager": eager,
        "alone": alone,
        "trio_over_slowest_alone": _ratio(warm["wall_s"], max(c["total_s"] for c in alone.values())),
        "first_over_eager": _ratio(first["wall_s"], eager["wall_s"]),
        "same_text_fast_and_exact": [
            a["text"] == b["text"] for a, b in zip(warm["columns"], eager["columns"], strict=True)
        ],
    }
    say({k: v for k, v in results["comparison"].items() if k in ("trio_over_slowest_alone", "first_over_eager")})
    save()

    say("\n## Decode: ms per token through compare(), generate(), floor")
    rows = []
    for name, column in zip(names[:3], warm["columns"], strict=True):
        lm = cache.get(folders[name]).model
        base = sections.baseline_row(lm, prompt, n, reps=2)
        row = {
            "model": name,
            "method": column["method"],
            "playground_ms_per_token": column["ms_per_token"],
            "generate_ms_per_token": base["ms_per_token"],
            "over_generate": _ratio(base["ms_per_token"], column["ms_per_token"]),
        }
        if "ceilings" in results:  # every weight read once per token at the card's copy bandwidth
            row["bandwidth_floor_ms_per_token"] = round(
                lm.facts.weight_bytes / (results["ceilings"]["copy_TBps"] * 1e12) * 1e3, 3
            )
        rows.append(row)
    table(rows, list(rows[0]))
    results["decode"] = rows
    save()

    if device.type == "cuda" and not args.no_alternatives:
        say("\n## An option not chosen: generate() with a static cache, compiled by transformers")
        results["options"] = [
            static_compiled_row(cache.get(folders[name]).model, prompt, n, name) for name in names[:2]
        ]
        table(results["options"], list(results["options"][0]))
        save()

    say("\n## Scoring throughput")
    long_text = models.random_prompt(4096 if not args.tiny else 600, seed=1)
    window = 1024 if not args.tiny else 128
    rows = []
    for name in names:
        lm = cache.get(folders[name]).model
        row = sections.scoring_row(lm, long_text, window, window // 2)
        if "ceilings" in results:
            floor = results["ceilings"]["bf16_matmul_TFLOPs"] * 1e12 / (2 * lm.facts.parameters)
            row["compute_floor_tokens_per_s"] = round(floor)
            row["share_of_floor"] = round(row["playground_tokens_per_s"] / floor, 3)
        rows.append(row)
    table(rows, list(rows[0]))
    results["scoring"] = rows
    save()

    say(f"\n## Visitors: {args.visitors} at once, {args.comparisons} comparisons each")
    results["visitors"] = visitors(trio, greedy, cache, args.visitors, args.comparisons, warm["wall_s"])
    say({k: v for k, v in results["visitors"].items() if k != "latencies_s"})
    save()


def static_compiled_row(lm, text: str, new_tokens: int, name: str) -> dict:
    """``generate(cache_implementation="static")``, which transformers compiles on its first call:
    the first call's stall and the per-token time after it (not chosen: see docs/decoding.md)."""
    from playground.generation import build_prompt

    ids = torch.tensor([build_prompt(lm, text, None).ids], device=lm.device)
    clock = Clock()
    with clock.run(lm.device):
        plain_generate(lm.model, ids, new_tokens, cache_implementation="static")
    row = decode_split(lambda k: plain_generate(lm.model, ids, k, cache_implementation="static"), new_tokens, lm.device)
    return {"model": name, "path": "generate(static cache, compiled)", "first_call_s": round(clock.wall, 1), **row}


def visitors(trio: list[str], request: Request, cache: ModelCache, count: int, each: int, one_s: float) -> dict:
    """``count`` threads, each calling ``compare`` ``each`` times in a row, all starting together."""
    latencies, errors, start = [], [], threading.Barrier(count)
    methods: set[str] = set()

    def visitor() -> None:
        start.wait()
        for _ in range(each):
            begun = time.perf_counter()
            try:
                results = compare(trio, request, cache)
            except Exception as exc:  # noqa: BLE001 - counted, not raised: the others go on
                errors.append(repr(exc)[:200])
                continue
            latencies.append(time.perf_counter() - begun)
            errors.extend(r.error for r in results if r.error)
            methods.update(r.generation.decode_method for r in results if r.generation)

    threads = [threading.Thread(target=visitor) for _ in range(count)]
    clock = Clock()
    with clock.run():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    ordered = sorted(latencies)
    return {
        "visitors": count,
        "comparisons_each": each,
        "wall_s": round(clock.wall, 2),
        "one_comparison_s": round(one_s, 3),
        "wall_over_one_comparison": _ratio(clock.wall, one_s),
        "p50_s": round(statistics.median(ordered), 3) if ordered else None,
        "p95_s": round(ordered[int(0.95 * (len(ordered) - 1))], 3) if ordered else None,
        "completed": len(latencies),
        "errors": errors[:5],
        "decode_methods": sorted(methods),
        "latencies_s": [round(x, 3) for x in latencies],
    }


def _timed(run, device: torch.device) -> dict:
    clock = Clock()
    with clock.run(device):
        results = run()
    columns = []
    for r in results:
        g = r.generation
        columns.append({
            "model": Path(r.model).name,
            "status": r.status,
            "error": r.error,
            "method": g and g.decode_method,
            "precision": g and g.precision,
            "ttft_ms": g and round(g.time_to_first_token_s * 1e3, 1),
            "ms_per_token": g and g.decode_tokens_per_s and round(1e3 / g.decode_tokens_per_s, 3),
            "total_s": g and round(g.total_s, 3),
            "tokens": g and g.new_tokens,
            "text": r.output,
        })  # fmt: skip
    return {"wall_s": round(clock.wall, 3), "columns": columns}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None
