"""The teaching views as text: ``next-token`` and ``surprise``.

``next-token`` prints each model's most likely next tokens with the probability the model gives
them, after temperature, and the chance sampling picks them after top-k and top-p
(``playground.distribution``). ``surprise`` scores the text under each model and lines the
per-token surprisal up over the same characters (``playground.alignment``): where the models
disagree most is where their training differs.
"""

from __future__ import annotations

import argparse
import json
import logging
import textwrap

from playground.errors import PlaygroundError

log = logging.getLogger("playground.cli")

WIDTH = 100


def build_parser(command: str, prog: str) -> argparse.ArgumentParser:
    from playground.cli import EXIT_CODES, add_model_options

    codes = "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTIONS[command],
        epilog=f"exit codes:\n{codes}\n\nexample:\n  {prog} {EXAMPLES[command]}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_options(parser)
    parser.add_argument("--prompt", help="the text (default: the preset's first example; - reads standard input)")
    if command == "next-token":
        parser.add_argument("--position", type=int, help="a character position: the text before it (default: all)")
        parser.add_argument("-k", "--candidates", type=int, default=10, help="tokens to show per model (default: 10)")
        parser.add_argument("--temperature", type=float, default=1.0, help="divide the logits by T (default: 1.0)")
        parser.add_argument(
            "--top-p", type=float, default=1.0, help="keep the most likely tokens up to p (default: 1.0)"
        )
        parser.add_argument("--top-k", type=int, default=0, help="keep the k most likely tokens (default: 0, off)")
    else:
        parser.add_argument("--top", type=int, default=5, help="disagreements to list (default: 5)")
    return parser


DESCRIPTIONS = {
    "next-token": "Each model's most likely next tokens after the text: the probability the model gives each one, "
    "the same after temperature, and the chance that sampling picks it once top-k and top-p have cut the tail.",
    "surprise": "How surprised each model is by every token of the text (-log2 p, in bits), lined up over the same "
    "characters although the tokenizers cut the text differently, and the words where the models disagree most.",
}
EXAMPLES = {
    "next-token": '--prompt "The capital of France is" --temperature 0.7 --top-p 0.9',
    "surprise": '--models smollm2-135m-instruct gemma-3-270m --prompt "The powerhouse of the cell."',
}


def run(command: str, args: argparse.Namespace) -> int:
    from playground.api import check_device, default_cache, default_limits
    from playground.cli import EXIT_MODEL_FAILED, EXIT_OK, choose_models
    from playground.cli_inputs import check_models, read_prompts

    preset, columns = choose_models(args)
    prompts = read_prompts([args.prompt] if args.prompt is not None else None, None)
    text = prompts[0] if prompts else (preset.prompts[0] if preset else None)
    if text is None:
        raise PlaygroundError(f"Give the text with --prompt: {command} reads one text.")
    limits = default_limits()
    limits.check_prompt(text)
    references = list(dict.fromkeys(c.reference for c in columns))
    for reference in references:
        limits.check_model(reference)
    if command == "next-token":
        check_sampling_view(args)
    cache = default_cache(check_device(args.device) if args.device else None, args.dtype)
    check_models(references)
    models, failed = [], False
    for reference in references:
        try:
            models.append(cache.get(reference).model)
        except Exception as exc:  # noqa: BLE001 - one model's failure must not stop the others
            failed = True
            print(f"== {reference}\n{indent(message(exc))}\n")
    if command == "next-token":
        failed |= print_next_tokens(models, text, args)
    else:
        failed |= print_surprise(models, text, args.top)
    return EXIT_MODEL_FAILED if failed else EXIT_OK


def check_sampling_view(args: argparse.Namespace) -> None:
    from playground.generation import GenerationSettings

    GenerationSettings(do_sample=True, temperature=args.temperature, top_p=args.top_p, top_k=args.top_k).check()


def message(exc: Exception) -> str:
    if isinstance(exc, PlaygroundError):
        return str(exc)
    log.debug("model failed", exc_info=exc)
    return f"failed: {type(exc).__name__}: {exc}"


# --- next token -------------------------------------------------------------------------------


def print_next_tokens(models: list, text: str, args: argparse.Namespace) -> bool:
    """Print each model's candidates; True if one of them could not give any."""
    from playground.distribution import next_token_distribution

    cut = [f"temperature {args.temperature:g}", f"top-k {args.top_k or 'off'}", f"top-p {args.top_p:g}"]
    shown = text if args.position is None else text[: max(0, args.position)]
    print(textwrap.fill(f"Next token after {quote(shown, 80)} ({', '.join(cut)})", WIDTH))
    failed = False
    for lm in models:
        try:
            dist = next_token_distribution(
                lm, text, args.position, args.candidates, args.temperature, args.top_p, args.top_k
            )
        except PlaygroundError as exc:
            failed = True
            print(f"\n== {lm.label}\n{indent(str(exc))}")
            continue
        print("\n" + format_distribution(dist))
    return failed


def format_distribution(dist) -> str:
    """One model's candidates as a table: probability at T=1, after temperature, and if sampled."""
    lines = [f"== {dist.model}"]
    summary = (
        f"entropy {dist.entropy_bits:.2f} bits (as uncertain as {dist.effective_choices:,.1f} equally likely "
        f"tokens); sampling can pick {dist.kept_tokens:,} tokens; top-k and top-p cut "
        f"{dist.cut_probability:.1%} of the probability after temperature"
    )
    lines += textwrap.wrap(summary, WIDTH, initial_indent="   ", subsequent_indent="   ")
    lines.append(f"   {'rank':>4}  {'token':<24}{'probability':>12}{'after T':>10}{'if sampled':>12}")
    for rank, c in enumerate(dist.candidates, start=1):
        sampled = "cut" if c.cut else f"{c.sampling_probability:.1%}"
        lines.append(
            f"   {rank:>4}  {quote(c.text, 22):<24}{c.probability:>12.1%}{c.tempered_probability:>10.1%}{sampled:>12}"
        )
    if dist.note:
        lines += textwrap.wrap(dist.note, WIDTH, initial_indent="   note: ", subsequent_indent="   ")
    return "\n".join(lines)


# --- surprise ---------------------------------------------------------------------------------


def print_surprise(models: list, text: str, top: int) -> bool:
    """Score the text under each model, print the aligned surprisal; True if a model gave none."""
    from playground.alignment import align

    scored, failed = [], False
    for lm in models:
        try:
            scored.append((lm.label, score(lm, text)))
        except PlaygroundError as exc:
            failed = True
            print(f"== {lm.label}\n{indent(str(exc))}\n")
    if not scored:
        return True
    alignment = align(text, [s.tokens for _, s in scored], [label for label, _ in scored])
    print(format_surprise(alignment, [s for _, s in scored], top))
    return failed


def score(lm, text: str):
    """Per-token scores: causal for a decoder, pseudo (masked in turn) for a masked-LM encoder."""
    from playground.conditional import score_pseudo
    from playground.kinds import Kind
    from playground.scoring import score_causal

    if lm.kind is Kind.DECODER:
        return score_causal(lm, text)
    if lm.kind is Kind.MASKED_LM:
        return score_pseudo(lm, text)
    raise PlaygroundError(
        f"{lm.label} is an {lm.kind.value}: it gives no probability to each token of a text read left to right, "
        "so it has no surprisal here. Compare decoders (or masked-LM encoders)."
    )


def format_surprise(alignment, scores: list, top: int) -> str:
    """Totals per model, the text span by span with each model's bits, and the biggest disagreements."""
    from playground.alignment import BUCKETS

    names = [short(m.label) for m in alignment.models]
    column = max(10, min(18, (WIDTH - 32) // len(names)))
    lines = [
        textwrap.fill(
            f"Surprisal of {quote(alignment.text, 70)}: -log2 p(token | the text before it), in bits. Lower: "
            "the model expected it.",
            WIDTH,
        ),
        "",
        f"{'model':<30}{'tokens':>8}{'bits':>9}{'bits/char':>11}" + "".join(f"{b.name:>10}" for b in BUCKETS),
    ]
    for model, s in zip(alignment.models, scores, strict=True):
        chars = len(alignment.text) or 1
        kind = " (pseudo)" if s.kind == "pseudo" else ""
        lines.append(
            f"{(short(model.label) + kind)[:29]:<30}{model.token_count:>8}{model.total_bits:>9.1f}"
            f"{model.total_bits / chars:>11.2f}" + "".join(f"{n:>10}" for n in model.bucket_counts)
        )
    lines += ["", "Span by span (whole words that every tokenizer cuts alike), bits per model:", ""]
    lines.append(f"{'text':<30}" + "".join(f"{n[:column]:>{column + 2}}" for n in names) + f"{'spread':>10}")
    for place in alignment.places:
        bits = "".join(f"{'—' if b is None else f'{b:.1f}':>{column + 2}}" for b in place.bits)
        lines.append(f"{quote(place.text, 28):<30}{bits}{place.spread_bits:>10.1f}")
    pseudo = [short(m.label) for m, s in zip(alignment.models, scores, strict=True) if s.kind == "pseudo"]
    if pseudo:
        note = (
            f"{', '.join(pseudo)}: pseudo-surprisal, each token predicted from both sides of it, so it is lower by "
            "design; compare it with the other models' bits with care."
        )
        lines += [""] + textwrap.wrap(note, WIDTH)
    hot = alignment.hot_spots(top)
    if hot:
        lines += ["", f"Where the models disagree most (largest spread first, top {len(hot)}):"]
        for i, place in enumerate(hot, start=1):
            parts = ", ".join(
                f"{n} {'—' if b is None else f'{b:.1f}'} bits" for n, b in zip(names, place.bits, strict=True)
            )
            lines.append(f"{i:>3}. {quote(place.text, 30)}: {parts} (spread {place.spread_bits:.1f})")
    return "\n".join(lines)


def indent(text: str) -> str:
    return textwrap.fill(text, WIDTH, initial_indent="   ", subsequent_indent="   ")


def short(label: str) -> str:
    return label.rsplit("/", 1)[-1]


def quote(text: str, limit: int) -> str:
    """The text in double quotes with escapes (newlines, tabs visible), cut to ``limit`` characters."""
    quoted = json.dumps(text, ensure_ascii=False)
    return quoted if len(quoted) <= limit else quoted[: limit - 2] + '…"'
