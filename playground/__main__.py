"""Command line: compare a preset or a list of models on one prompt, print a table, write JSON.

python -m playground --preset offline-default --prompt "The capital of France is"
python -m playground --models gpt2 distilgpt2 --prompt "Hello" --json out.json
python -m playground --list
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import asdict
from pathlib import Path

from playground.errors import PlaygroundError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m playground", description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--preset", help="a preset name (see --list); default: offline-default")
    which.add_argument("--models", nargs="+", metavar="MODEL", help="2 or 3 Hub ids, local folders or packaged names")
    which.add_argument("--list", action="store_true", help="list presets and packaged models, then exit")
    parser.add_argument("--prompt", help="the prompt or text (default: the preset's first example)")
    parser.add_argument("--target", help="target text (encoder-decoder) or second sentence (embedding encoder)")
    parser.add_argument("--task", help="encoder-decoders: summarization, translation or generative_qa")
    parser.add_argument("--source-lang", help="translation source language, e.g. en (mBART: en_XX)")
    parser.add_argument("--target-lang", help="translation target language, e.g. fr (mBART: fr_XX)")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    template = parser.add_mutually_exclusive_group()
    template.add_argument("--chat-template", dest="chat", action="store_true", default=None)
    template.add_argument("--no-chat-template", dest="chat", action="store_false")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 … (default: cuda if present)")
    parser.add_argument("--dtype", help="float32, bfloat16, float16 (default: bf16 on GPU, fp32 on CPU)")
    parser.add_argument("--json", type=Path, help="write every result field to this JSON file")
    parser.add_argument(
        "--plan",
        action="store_true",
        help="load nothing: estimate each model's memory (weights + KV cache) and say where it fits",
    )
    parser.add_argument("--context", type=int, help="with --plan: tokens of KV cache (default: the model's maximum)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    for noisy in ("transformers", "httpx", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    from playground.hub import go_offline_if_unreachable

    go_offline_if_unreachable()
    try:
        return run(args)
    except PlaygroundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    from playground.packaged import PACKAGED
    from playground.presets import DEFAULT_PRESET, get_preset, load_presets

    if args.list:
        for name, preset in load_presets().items():
            print(f"{name:28} {preset.title}\n{'':28} {preset.purpose}")
        print("\npackaged (offline) models: " + ", ".join(PACKAGED))
        return 0
    import torch

    from playground.cache import ModelCache
    from playground.compare import Request, compare
    from playground.generation import GenerationSettings
    from playground.models import parse_dtype
    from playground.report import format_table, to_json

    preset = None if args.models else get_preset(args.preset or DEFAULT_PRESET)
    columns = args.models or preset.columns
    if args.plan:
        return plan(columns, args)
    prompt = args.prompt if args.prompt is not None else (preset.prompts[0] if preset else None)
    if prompt is None:
        raise PlaygroundError("Give a prompt with --prompt when comparing a list of models.")
    settings = GenerationSettings(
        args.max_new_tokens, args.sample, args.temperature, args.top_p, args.top_k, args.seed, args.chat
    )
    request = Request(
        prompt,
        args.target or (preset.target if preset else None) or None,
        settings,
        task=args.task or (preset.task if preset else None) or None,
        source_lang=args.source_lang or (preset.source_lang if preset else None) or None,
        target_lang=args.target_lang or (preset.target_lang if preset else None) or None,
    )
    device = torch.device(args.device) if args.device else None
    dtype = parse_dtype(args.dtype) if args.dtype else None
    results = compare(columns, request, ModelCache(device=device, dtype=dtype))
    for result in results:
        print(f"\n== {result.model} ({result.facts.kind if result.facts else 'not loaded'})")
        print(result.error or result.output or "(no output)")
        if result.generation and result.generation.note:
            print(f"note: {result.generation.note}")
    print("\n" + format_table(results))
    if args.json:
        args.json.write_text(to_json(results, asdict(request)), encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0 if all(r.status == "done" for r in results) else 1


def plan(columns: list, args: argparse.Namespace) -> int:
    """Print where each model would go, side by side, from its config alone (nothing is loaded)."""
    import torch

    from playground import planner
    from playground.compare import Column
    from playground.models import parse_dtype

    dtype = args.dtype or ("bfloat16" if torch.cuda.is_available() else "float32")
    dtype = str(parse_dtype(dtype)).removeprefix("torch.")
    refs = list(dict.fromkeys(c.reference if isinstance(c, Column) else c for c in columns))
    plans = planner.plan_all([planner.estimate_reference(ref, dtype, args.context) for ref in refs])
    for p in plans:
        print(f"{p.verdict:14} {p.message}")
        if p.verdict not in ("fits", "does not fit"):
            print(f"{'':14} from_pretrained(..., {planner.load_kwargs(p)})")
    return 0 if all(p.verdict != "does not fit" for p in plans) else 1


if __name__ == "__main__":
    sys.exit(main())
