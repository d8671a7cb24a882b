"""The causes of cost: size (and whether it is the only difference), precision, latency, memory.

Each reads the finished columns of ``playground.why.explain`` and returns a ``Cause`` or None
where the models do not differ in it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from playground.causes import Cause, Finished, by_name, causal, listed, writers
from playground.facts import RATIO, compact
from playground.published import size_comparison

SAME_SPEED = 1.2  # weights within 20 % of each other: a speed gap is not explained by their size
_PARENTHESES = re.compile(r"\s*\([^)]*\)")


def size(models: Sequence[Finished]) -> Cause | None:
    """A parameter ratio of at least 1.5, and whether size is the only difference (one family)."""
    sized = [m for m in models if m.facts.parameters]
    if len({m.facts.kind for m in sized}) > 1 and len(writers(sized)) > 1:
        sized = writers(sized)  # the lecture's size point is about models that write
    if len(sized) < 2:
        return None
    big = max(sized, key=lambda m: m.facts.parameters)
    small = min(sized, key=lambda m: m.facts.parameters)
    ratio = big.facts.parameters / small.facts.parameters
    if ratio < RATIO:
        return None
    verdict = size_comparison([m.facts for m in sized])
    sentence = (
        f"Size: {big.name} has {ratio:.1f}x the parameters of {small.name} "
        f"({compact(big.facts.parameters)} vs {compact(small.facts.parameters)})"
    )
    numbers = {"parameters": by_name(sized, lambda m: m.facts.parameters), "ratio": round(ratio, 2)}
    numbers["one family"] = verdict.trend
    if verdict.trend:
        sentence += ": one family, so size is the difference"
        scores = {m.name: m.result.score.bits_per_byte for m in (big, small) if causal(m)}
        if len(scores) == 2:
            better = "less" if scores[big.name] < scores[small.name] else "more"
            shown = f"{scores[big.name]:.2f} vs {scores[small.name]:.2f} bits per byte"
            sentence += f"; the larger was {better} surprised ({shown})"
    else:
        other = [d.split(":")[0] for d in verdict.differences]
        numbers["also differ"] = other
        sentence += f", but they also differ in {listed(other)}. {verdict.label[0].upper()}{verdict.label[1:]}"
    return Cause("size", sentence + ".", numbers)


def _bytes_per_weight(model: Finished) -> float:
    return model.facts.weight_bytes / model.facts.parameters if model.facts.parameters else 0.0


def precision(models: Sequence[Finished]) -> Cause | None:
    """Weights held in different dtypes, or decoded by different paths (``playground.fast``)."""
    dtypes = by_name(models, lambda m: m.facts.dtype)
    decoded = {m.name: m.result.generation.precision for m in writers(models) if m.result.generation.precision}
    # "(121 of 121 matrices as loaded)" counts a model's matrices; the precision is the rest
    kinds = {_PARENTHESES.sub("", p) for p in decoded.values()}
    if len(set(dtypes.values())) < 2 and len(kinds) < 2:
        return None
    parts = []
    if len(set(dtypes.values())) > 1:
        held = ", ".join(f"{m.name} {m.facts.dtype} ({_bytes_per_weight(m):g} bytes)" for m in models)
        parts.append(f"weights held as {held} per weight")
    if len(kinds) > 1:
        parts.append("decoded with " + "; ".join(f"{n}: {_PARENTHESES.sub('', p)}" for n, p in decoded.items()))
    sentence = "Precision: " + "; ".join(parts) + ". Fewer bits per weight save memory and move the numbers slightly."
    return Cause("precision", sentence, {"dtype": dtypes, "decoded with": decoded})


def latency(models: Sequence[Finished]) -> Cause | None:
    """Decode speed, and what it follows from: bytes of weights read per token, layers, warm-up."""
    timed = [m for m in writers(models) if m.result.generation.new_tokens > 1]
    if len(timed) < 2:
        return None
    rates = by_name(timed, lambda m: m.result.generation.decode_tokens_per_s)
    fast = max(timed, key=lambda m: rates[m.name])
    slow = min(timed, key=lambda m: rates[m.name])
    weights = slow.facts.weight_bytes / fast.facts.weight_bytes
    if weights >= SAME_SPEED:
        reason = f"each new token reads every weight once, and {slow.name}'s weights are {weights:.1f}x larger"
    elif weights <= 1 / SAME_SPEED:
        reason = f"{fast.name} is faster though its weights are {1 / weights:.1f}x larger"
        if (fast.facts.layers or 0) < (slow.facts.layers or 0):
            reason += f": it has fewer layers ({fast.facts.layers} vs {slow.facts.layers}), run one after another"
    else:
        sampling = "sampling, " if len({m.column.do_sample for m in timed}) > 1 else ""
        reason = f"weights of similar size: the gap comes from {sampling}prompt length, warm-up or the machine"
    shown = ", ".join(f"{n} {r:.1f}" for n, r in rates.items())
    sentence = f"Latency: {shown} tokens/s; {reason}."
    warm = [m.name for m in timed if m.result.generation.first_call]
    if warm:
        sentence += f" First run after loading for {listed(warm)}: it includes warm-up."
    numbers = {
        "tokens per second": {n: round(r, 2) for n, r in rates.items()},
        "time to first token s": by_name(timed, lambda m: round(m.result.generation.time_to_first_token_s, 3)),
        "prompt tokens": by_name(timed, lambda m: len(m.result.generation.prompt.ids)),
        "weight bytes": by_name(timed, lambda m: m.facts.weight_bytes),
        "first run": by_name(timed, lambda m: m.result.generation.first_call),
    }
    return Cause("latency", sentence, numbers)


def _megabytes(count: float) -> str:
    """Bytes as megabytes for a sentence: whole above 10 MB, two figures below (a tiny model's
    0.27 MB is not "0 MB")."""
    megabytes = count / 1e6
    return f"{megabytes:,.0f}" if megabytes >= 10 else f"{megabytes:.2g}"


def memory(models: Sequence[Finished]) -> Cause | None:
    """Bytes of weights = parameters x bytes per weight, where they differ by 1.5x or in dtype."""
    weights = by_name(models, lambda m: m.facts.weight_bytes)
    known = [w for w in weights.values() if w]
    dtypes = {m.facts.dtype for m in models}
    if len(known) < 2 or max(known) < RATIO * min(known) and len(dtypes) < 2:
        return None
    shown = ", ".join(
        f"{m.name} {_megabytes(m.facts.weight_bytes)} MB ({compact(m.facts.parameters)} x {_bytes_per_weight(m):g})"
        for m in models
    )
    numbers = {
        "weight bytes": weights,
        "parameters": by_name(models, lambda m: m.facts.parameters),
        "bytes per weight": by_name(models, lambda m: round(_bytes_per_weight(m), 2)),
        "memory growth bytes": by_name(models, lambda m: m.result.memory_growth_bytes),
    }
    return Cause("memory", f"Memory for the weights: {shown}: parameters x bytes per weight.", numbers)
