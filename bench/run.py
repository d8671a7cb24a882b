"""Benchmark the playground's generation and scoring against the baselines a user would write.

    python bench/run.py            CPU: tiny GPT-2 + the packaged SmolLM2-135M and Gemma-3-270M,
                                   llama.cpp on the same GGUF files when llama-cpp-python is installed
    python bench/run.py --gpu      GPU: real shapes of gpt2, gpt2-medium, SmolLM2-135M, Gemma-3-270M
                                   with random weights, timed through compare() as the page calls it
                                   (add --tiny to try the script on a CPU; see bench/gpu.py)

Prints a table and ratios, and writes everything as JSON to bench/results/<date>-<machine>.json.
No timing here is asserted by a test: the numbers depend on the machine and how busy it is (the
JSON records the load average before and after).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from bench import llamacpp, models, sections  # noqa: E402
from bench.gpu import gpu_mode  # noqa: E402
from bench.measure import environment, load_average, machine_name, torch_threads  # noqa: E402
from playground import fast  # noqa: E402
from playground.cache import ModelCache  # noqa: E402
from playground.generation import build_prompt  # noqa: E402

log = logging.getLogger("bench")
PACKAGED = ["smollm2-135m-instruct", "gemma-3-270m"]
PROMPTS = {
    "smollm2-135m-instruct": "Write a long story about a lighthouse keeper who finds a message in a bottle.",
    "gemma-3-270m": models.PROMPT_TEXT,
}
# About 400 tokens of mixed prose, numbers, code and dialogue: the perplexity change of a decode
# precision is small, and a 52-token text gave noise: SmolLM2 -4.3 % there, +0.7 % on 400 tokens of README.
PERPLEXITY_TEXT = (
    "The quick brown fox jumps over the lazy dog. Photosynthesis turns sunlight, water and carbon dioxide into "
    "sugar, and the oxygen it releases is what animals breathe. In 1969 the first people walked on the Moon; "
    "the mission took eight days.\n\n"
    "A lighthouse keeper climbs 217 steps every evening to light the lamp. Before electricity, the lamp burned "
    "whale oil, then kerosene; a clockwork motor turned the lens so that ships could tell one lighthouse from "
    "another by the rhythm of its flashes. Most lighthouses today run on their own, and the keepers are gone.\n\n"
    'def mean(values):\n    if not values:\n        raise ValueError("mean of an empty list")\n'
    "    return sum(values) / len(values)\n\n"
    '"Are you coming to the market tomorrow?" she asked. "Only if it stops raining," he said, looking at the '
    'grey sky. "The forecast says it will clear by ten."\n\n'
    "Water boils at 100 degrees Celsius at sea level, but at the top of Mount Everest, 8,849 metres up, it boils "
    "at about 70 degrees, because the air pressure is a third of what it is at sea level. Cooking pasta there "
    "takes much longer. The same physics explains why pressure cookers work: raising the pressure raises the "
    "boiling point, and food cooks faster at 120 degrees than at 100.\n\n"
    "The Roman Empire at its height stretched from Britain to Egypt. Its roads, built of layered stone and "
    "gravel, ran for more than 80,000 kilometres, and some are still used today. Latin, the language of Rome, "
    "became Italian, French, Spanish, Portuguese and Romanian."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", action="store_true", help="GPU mode: real shapes with random weights")
    parser.add_argument("--tiny", action="store_true", help="with --gpu: small shapes, to try the script")
    parser.add_argument("--tokens", type=int, default=128, help="new tokens per generation (default 128)")
    parser.add_argument("--no-alternatives", action="store_true", help="skip the paths that were not chosen")
    parser.add_argument("--threads", default="1,2", help="intra-op thread counts to decode with (default 1,2)")
    parser.add_argument("--models", default=",".join(PACKAGED), help="packaged models, comma-separated (CPU mode)")
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/<date>-<machine>.json)")
    parser.add_argument("--visitors", type=int, default=30, help="GPU mode: visitors at once (default 30)")
    parser.add_argument("--comparisons", type=int, default=3, help="GPU mode: comparisons per visitor (default 3)")
    parser.add_argument("--work", default=os.environ.get("BENCH_WORK") or tempfile.mkdtemp(prefix="bench-"),
                        help="folder for the random-weight models (default: a new temporary folder)")  # fmt: skip
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    device = torch.device("cuda" if args.gpu and torch.cuda.is_available() else "cpu")
    results = {"mode": "gpu" if args.gpu else "cpu", "environment": environment(device), "new_tokens": args.tokens}
    if args.gpu and device.type != "cuda":
        results["environment"]["note"] = "GPU mode without a GPU: the GPU path's logic ran on the CPU"
    out = args.out or ROOT / "bench" / "results" / f"{results['environment']['date']}-{machine_name(device)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    def save() -> None:  # after every section, so that a run stopped midway keeps what it measured
        results["environment"]["load_average_at_end"] = load_average()
        results["environment"]["bench_seconds"] = round(time.perf_counter() - started)
        out.write_text(json.dumps(results, indent=1, ensure_ascii=False))

    if args.gpu:
        if device.type != "cuda":  # the GPU paths' logic, on a CPU: the scheduler and static steps forced on
            os.environ["PLAYGROUND_SCHEDULER"] = "1"
            os.environ["PLAYGROUND_STATIC_STEP"] = "1"
        gpu_mode(args, device, results, save, say, table)
    else:
        cpu_mode(args, device, results, save)
    results["complete"] = True
    save()
    print(f"\nwrote {out}")


def say(*parts) -> None:
    print(*parts, flush=True)


def table(rows: list[dict], columns: list[str]) -> None:
    say("| " + " | ".join(columns) + " |")
    say("|" + "---|" * len(columns))
    for row in rows:
        say("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")


DECODE_COLUMNS = ["model", "path", "threads", "ttft_ms", "ms_per_token", "cpu_ms_per_token", "tokens_per_s",
                  "total_s", "tokens", "peak_rss_MiB", "rss_growth_MiB", "precision"]  # fmt: skip


def cpu_mode(args, device: torch.device, results: dict, save) -> None:
    n = args.tokens
    cache = ModelCache(device=device, dtype=torch.float32)
    work = Path(tempfile.mkdtemp(prefix="bench-"))

    say("## Framework overhead: tiny GPT-2 (2 layers, width 64), random weights")
    tiny = cache.get(str(models.save_random(models.GPT2LMHeadModel, models.tiny_gpt2_config(), work / "tiny"))).model
    text = models.random_prompt(16)
    rows = []
    for threads in (1, 2):
        with torch_threads(threads):
            row = sections.baseline_row(tiny, text, 32)
            rows.append({"model": "gpt2-tiny", "path": "generate()", "threads": threads, **row})
            for name in ("exact", "fast"):
                row = sections.playground_row(tiny, text, 32, fast.decode_path(tiny, name))
                rows.append({"model": "gpt2-tiny", "path": f"playground {name}", "threads": threads, **row})
    table(rows, DECODE_COLUMNS)
    results["overhead_tiny_gpt2"] = rows
    save()

    lms = {name: cache.get(name).model for name in args.models.split(",")}
    have_llama = llamacpp.available()
    results["llama_cpp_available"] = have_llama
    if not have_llama:
        say("\nllama-cpp-python is not installed: the llama.cpp reference is an earlier figure, not a measurement.")
    decode_rows, ratios = [], []
    for name, lm in lms.items():
        say(f"\n## Decode: {name}, {n} new tokens")
        text = PROMPTS[name]
        fast.prepare(lm)
        paths = {"playground exact": fast.decode_path(lm, "exact"), "playground fast": fast.decode_path(lm, "fast")}
        if not args.no_alternatives:
            paths |= {f"(not chosen) {k}": v for k, v in sections.alternative_paths(lm).items()}
            paths["(not chosen) float32 + static cache"] = sections.static_path(lm)
        reference = {}
        for threads in [int(t) for t in args.threads.split(",")]:
            # the paths not chosen, and a second repetition, only at the first thread count: time
            reps = 2 if threads == 1 else 1
            with torch_threads(threads):
                row = sections.baseline_row(lm, text, n, reps)
                rows = [{"model": name, "path": "generate()", "threads": threads, **row}]
                for label, path in paths.items():
                    if label.startswith("(not chosen)") and threads != 1:
                        continue
                    row = sections.playground_row(lm, text, n, path, reps)
                    rows.append({"model": name, "path": label, "threads": threads, **row})
            if have_llama:
                ids = build_prompt(lm, text, None).ids
                gguf = llamacpp.gguf_path(name, work)
                row = llamacpp.decode(gguf, ids, n, threads, reps)
                rows.append({"model": name, "path": "llama.cpp (GGUF)", "precision": "GGUF 4-bit blocks", **row})
                reference[threads] = row["tokens_per_s"]
            elif name in llamacpp.EARLIER_FIGURES and threads == 2:
                figure = llamacpp.EARLIER_FIGURES[name]
                rows.append({"model": name, "path": f"llama.cpp ({figure['source']})", "threads": 2, **figure})
                reference[threads] = figure["tokens_per_s"]
            table(rows, DECODE_COLUMNS)
            decode_rows += rows
            fast_row = next(r for r in rows if r["path"] == "playground fast")
            base = rows[0]
            ratio = {"model": name, "threads": threads, "fast_tokens_per_s": fast_row["tokens_per_s"],
                     "fast_over_generate": _ratio(fast_row["tokens_per_s"], base["tokens_per_s"]),
                     "fast_over_exact": _ratio(fast_row["tokens_per_s"], rows[1]["tokens_per_s"])}  # fmt: skip
            if threads in reference:
                ratio["llama_cpp_tokens_per_s"] = reference[threads]
                ratio["fast_over_llama_cpp"] = _ratio(fast_row["tokens_per_s"], reference[threads])
                ratio["llama_cpp_measured"] = have_llama
                if have_llama:  # CPU time per token: what each engine spent, whatever else ran beside it
                    by_cpu = _ratio(rows[-1].get("cpu_ms_per_token"), fast_row.get("cpu_ms_per_token"))
                    ratio["fast_over_llama_cpp_by_cpu_time"] = by_cpu
            ratios.append(ratio)
            say("ratios:", json.dumps(ratio))
            results["decode"], results["ratios"] = decode_rows, ratios
            save()
    results["decode"] = decode_rows
    results["ratios"] = ratios
    goal = {}
    for r in ratios:  # the best thread setting of each model, against llama.cpp at the same threads
        if (r.get("fast_over_llama_cpp") or -1) >= (goal.get(r["model"], {}).get("fast_over_llama_cpp") or -1):
            goal[r["model"]] = {**r, "met": (r.get("fast_over_llama_cpp") or 0) >= 0.5}
    results["goal_half_of_llama_cpp"] = goal
    say("\ngoal (fast path >= 0.5 x llama.cpp tok/s):", json.dumps(goal))

    say("\n## Side by side: the same prompt on every model")
    texts = [PROMPTS["gemma-3-270m"]]
    threads = int(args.threads.split(",")[0])
    results["side_by_side"] = sections.side_by_side(list(lms.values()), texts, n, cache, threads=threads)
    say(json.dumps(results["side_by_side"]))
    save()

    say("\n## Perplexity scoring throughput (README text, window 512, stride 256, 2 threads)")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")[:6_000]
    with torch_threads(2):
        rows = [sections.scoring_row(lm, readme, 512, 256) for lm in lms.values()]
    table(rows, list(rows[0]))
    results["scoring"] = rows
    save()

    say("\n## Perplexity of a fixed text under each precision, against float32")
    rows = []
    with torch_threads(2):
        for name, lm in lms.items():
            gguf = llamacpp.gguf_path(name, work) if have_llama else None
            rows += sections.perplexity_rows(lm, PERPLEXITY_TEXT, gguf)
    table(rows, ["model", "precision", "perplexity", "change_pct"])
    results["perplexity_vs_float32"] = {"text": PERPLEXITY_TEXT, "rows": rows}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


if __name__ == "__main__":
    main()
