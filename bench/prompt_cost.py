"""What a long prompt costs the offline models: the figures behind the default prompt limits.

For each offline model and each script (English words, CJK, emoji, digits), at several prompt lengths in
characters, it measures the steps one comparison runs on the prompt:

- ``tokenize``: one tokenizer call on the whole text (tokens and seconds);
- ``generate``: the decoders' generation of ``--new-tokens`` tokens (reading the prompt included),
  or the embedding encoder's sentence vectors;
- ``score``: the decoders' perplexity scoring of the text (strided windows);
- ``compare`` (``--compare``): one whole comparison of the offline default preset, end to end,
  with the request time limit lifted so that the real cost shows, and the peak resident memory.

Each model step runs with one torch thread, as in a comparison of three models on two cores.
Run from the repository root (the packaged models must be installed; the first run converts them)::

    .venv/bin/python -m bench.prompt_cost --chars 1000 4000 8000 --scripts ascii cjk emoji
    .venv/bin/python -m bench.prompt_cost --compare --skip-steps --cases ascii:4000 cjk:1150 emoji:680

The models are loaded (and the packaged ones converted) before anything is timed.

Writes ``bench/results/prompt-cost-<machine>.json`` (or ``--out``) and prints one line per figure.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import torch

from bench.measure import Clock, PeakMemory, environment, machine_name, torch_threads
from playground.cache import ModelCache
from playground.compare import Request, compare
from playground.encoders import similarity, split_sentences
from playground.errors import PlaygroundError
from playground.generation import GenerationSettings, generate
from playground.kinds import Kind
from playground.limits import Limits
from playground.presets import get_preset
from playground.scoring import score_causal

MODELS = ("smollm2-135m-instruct", "gemma-3-270m", "all-minilm-l6-v2")
ENGLISH = (
    "The committee met on Tuesday to discuss the budget for the new library. After a long debate about "
    "opening hours, staff and the children's section, the members agreed to ask the city for more money. "
)
CJK = "人工智能是计算机科学的一个分支，它研究如何让机器像人一样思考和学习。今天的天气很好，我们去公园散步吧。"
# Digits apart: about one token a character in every tokenizer, the costliest plain ASCII.
DIGITS = "7 1 8 2 8 1 8 2 8 4 5 9 0 4 5 2 3 5 3 6 0 2 8 7 4 7 1 3 5 2 6 6 2 4 9 7 7 5 7 2 "
SCRIPTS = {"ascii": ENGLISH, "cjk": CJK, "emoji": "😀", "digits": DIGITS}
MAX_SENTENCES = 32  # the sentences a comparison embeds (model_work.MAX_SENTENCES)


def text_of(script: str, chars: int) -> str:
    """``chars`` characters of the script's sample, repeated."""
    piece = SCRIPTS[script]
    return (piece * (chars // len(piece) + 1))[:chars]


def measure_steps(cache: ModelCache, script: str, chars: int, new_tokens: int) -> list[dict]:
    """One row per model: tokens, and the seconds of each step (None where the model refused)."""
    text = text_of(script, chars)
    rows = []
    for name in MODELS:
        lm = cache.get(name).model
        row = {"model": name, "script": script, "chars": chars}
        with Clock().run() as clock:
            ids = lm.tokenizer(text)["input_ids"]
        row |= {"tokens": len(ids), "tokenize_s": round(clock.wall, 3)}
        settings = GenerationSettings(max_new_tokens=new_tokens)
        sentences = split_sentences(text)[:MAX_SENTENCES]
        with torch_threads(1):
            if lm.kind is Kind.DECODER:
                row |= _timed("generate", generate, lm, text, settings)
                row |= _timed("score", score_causal, lm, text)
            else:
                row |= _timed("generate", similarity, lm, sentences)  # the encoder's work
        rows.append(row)
        logging.info("%s", row)
    return rows


def _timed(step: str, work, *args) -> dict:
    try:
        with PeakMemory(torch.device("cpu")) as memory, Clock().run() as clock:
            work(*args)
    except PlaygroundError as error:
        return {f"{step}_s": None, f"{step}_refused": str(error)[:160]}
    return {f"{step}_s": round(clock.wall, 2), f"{step}_rss_growth_MiB": memory.as_dict()["rss_growth_MiB"]}


def measure_compare(cache: ModelCache, script: str, chars: int, new_tokens: int) -> dict:
    """One comparison of the offline default preset, end to end, with no request time limit."""
    text = text_of(script, chars)
    limits = Limits(max_prompt_chars=10**7, request_seconds=10**6)
    request = Request(text, generation=GenerationSettings(max_new_tokens=new_tokens))
    with PeakMemory(torch.device("cpu")) as memory, Clock().run() as clock:
        results = compare(get_preset("offline-default").columns, request, cache, limits)
    row = {"script": script, "chars": chars, "wall_s": round(clock.wall, 1)} | memory.as_dict()
    row["columns"] = [{"model": r.model, "status": r.status, "error": (r.error or "")[:160]} for r in results]
    logging.info("%s", row)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, nargs="+", default=[1000, 4000, 8000])
    parser.add_argument("--scripts", nargs="+", default=list(SCRIPTS), choices=list(SCRIPTS))
    parser.add_argument("--cases", nargs="+", metavar="SCRIPT:CHARS", help="instead of --scripts x --chars")
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--compare", action="store_true", help="also time whole comparisons")
    parser.add_argument("--skip-steps", action="store_true", help="only the whole comparisons")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("playground").setLevel(logging.WARNING)
    cache = ModelCache(device=torch.device("cpu"), dtype=torch.float32)
    for name in MODELS:
        cache.get(name)
    cases = [(script, chars) for script in args.scripts for chars in args.chars]
    if args.cases:
        cases = [(case.split(":")[0], int(case.split(":")[1])) for case in args.cases]
    report = {"environment": environment(torch.device("cpu")), "new_tokens": args.new_tokens, "steps": []}
    report["compare"] = []
    out = args.out or Path("bench/results") / f"prompt-cost-{machine_name(torch.device('cpu'))}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for script, chars in cases:
        if not args.skip_steps:
            report["steps"] += measure_steps(cache, script, chars, args.new_tokens)
        if args.compare:
            report["compare"].append(measure_compare(cache, script, chars, args.new_tokens))
        report["seconds"] = round(time.perf_counter() - started)
        # written after each case, so that a long run stopped early keeps what it measured
        out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    logging.info("wrote %s", out)


if __name__ == "__main__":
    main()
