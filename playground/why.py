"""Why the models differ, in words: a few causes computed from the measured results and the facts.

Never from a language model: every sentence is filled in from what the comparison measured
(token counts, bits per byte, new tokens and why they stopped, tokens per second) and what the
configs say (kind, vocabulary, tokenizer, tuning, parameters, precision). A cause appears only
where the models differ in it, or where it explains a difference (sampling makes texts differ
from run to run). Each is one short sentence for a projector, with its numbers beside it::

    Cause(cause="tokens",
          sentence="Tokens for the same text: smollm2-135m-instruct 6, gemma-3-270m 5. gemma-3-270m ...",
          numbers={"tokens": {"smollm2-135m-instruct": 6, "gemma-3-270m": 5}, ...})

``dataclasses.asdict`` turns the list into JSON-ready data.
"""

from __future__ import annotations

from collections.abc import Sequence

from playground.alignment import align
from playground.causes import Cause, Finished, by_name, causal, listed, writers
from playground.compare import Column, Request, Result, as_columns
from playground.errors import PlaygroundError
from playground.facts import WHAT_IT_DOES, compact, short_name, tokenizer_family, tokenizer_size
from playground.heat import heat
from playground.why_cost import latency, memory, precision, size

__all__ = ["Cause", "explain"]
SAME_SURPRISE = 0.01  # bits per byte within 1 % of each other: the same surprise


def explain(
    results: Sequence[Result], request: Request | None = None, models: Sequence[str | Column] | None = None
) -> list[Cause]:
    """The causes behind the differences in one comparison, most basic first.

    ``request`` and ``models`` are what went into ``compare``: the text (for the surprising words)
    and the decoding each column used. Columns that failed or never loaded take no part.
    """
    columns = as_columns(list(models)) if models is not None else [Column(r.model.split(" (")[0]) for r in results]
    names = _names(results, columns)
    done = [
        Finished(name, r, c)
        for name, r, c in zip(names, results, columns, strict=True)
        if r.facts is not None and r.status in ("done", "stopped")
    ]
    causes = [_kind(done), _tokens(done), _surprise(done), _surprising_word(done, request)]
    causes += [_training(done), _decoding(done, request), size(done), precision(done), latency(done), memory(done)]
    return [c for c in causes if c is not None]


def _names(results: Sequence[Result], columns: Sequence[Column]) -> list[str]:
    """Short model names; a model in two columns is told apart by what its column chose."""
    bases = [short_name(c.reference) for c in columns]
    names = []
    for i, (base, column, result) in enumerate(zip(bases, columns, results, strict=True)):
        own = result.model[len(column.reference) :].strip(" ()").split(":")[0]
        if bases.count(base) == 1:
            names.append(base)
        else:
            names.append(f"{base} ({own})" if own else f"{base} (column {i + 1})")
    return names


def _kind(models: Sequence[Finished]) -> Cause | None:
    kinds = by_name(models, lambda m: m.facts.kind)
    if len(set(kinds.values())) < 2:
        return None
    parts = []
    for kind in dict.fromkeys(kinds.values()):
        who = listed([n for n, k in kinds.items() if k == kind])
        parts.append(f"{who}: {kind}, {WHAT_IT_DOES.get(kind, 'works differently')}")
    numbers: dict = {"kind": kinds}
    sentence = "Kind: " + "; ".join(parts) + "."
    compared = {m.name: m.result.embeddings.similarity[0][1] for m in models if _compared_two(m)}
    if compared:
        numbers["cosine similarity"] = {n: round(s, 3) for n, s in compared.items()}
        sentence += "".join(f" {n} compared the first two sentences: cosine {s:.2f}." for n, s in compared.items())
    return Cause("kind", sentence, numbers)


def _compared_two(model: Finished) -> bool:
    embeddings = model.result.embeddings
    return embeddings is not None and len(embeddings.similarity) > 1


def _tokens(models: Sequence[Finished]) -> Cause | None:
    counted = [m for m in models if m.result.text_tokens is not None]
    counts = by_name(counted, lambda m: m.result.text_tokens)
    if len(set(counts.values())) < 2:
        return None
    sizes = by_name(counted, lambda m: tokenizer_size(m.facts))
    families = by_name(counted, lambda m: tokenizer_family(m.facts))
    fewest = min(counts, key=counts.get)
    largest = max(sizes, key=lambda n: sizes[n] or 0)
    if fewest == largest and len(set(sizes.values())) > 1:
        others = " vs ".join(compact(s) for n, s in sizes.items() if n != largest and s)
        reason = f"{largest} has the largest vocabulary ({compact(sizes[largest])} vs {others}): longer pieces."
    elif len(set(families.values())) > 1:
        reason = f"Their tokenizers cut by different rules ({' vs '.join(dict.fromkeys(families.values()))})."
    else:
        reason = f"Their vocabularies differ ({' vs '.join(compact(s) for s in sizes.values() if s)} tokens)."
    numbers = {
        "tokens": counts,
        "characters per token": by_name(counted, lambda m: round(m.result.characters_per_token or 0, 2)),
        "vocabulary": sizes,
        "tokenizer": families,
    }
    shown = ", ".join(f"{n} {c}" for n, c in counts.items())
    return Cause("tokens", f"Tokens for the same text: {shown}. {reason}", numbers)


def _surprise(models: Sequence[Finished]) -> Cause | None:
    scored = [m for m in models if causal(m)]
    if len(scored) < 2:
        return None
    per_byte = by_name(scored, lambda m: m.result.score.bits_per_byte)
    least = min(scored, key=lambda m: per_byte[m.name])
    most = max(scored, key=lambda m: per_byte[m.name])
    fewer = 1 - per_byte[least.name] / per_byte[most.name]
    if fewer < SAME_SURPRISE:
        return None
    shown = ", ".join(f"{n} {b:.2f}" for n, b in per_byte.items())
    sentence = (
        f"Surprise, in bits per byte of the text: {shown}. {least.name} was least surprised, "
        f"{fewer:.0%} fewer bits than {most.name}."
    )
    perplexity = by_name(scored, lambda m: m.result.score.perplexity)
    if perplexity[least.name] > perplexity[most.name]:
        sentence += (
            f" Perplexity ranks them the other way ({perplexity[least.name]:.1f} vs {perplexity[most.name]:.1f}):"
            " it is per token, and their tokens differ."
        )
    numbers = {"bits per byte": per_byte, "fewer bits": round(fewer, 3), "perplexity": perplexity}
    return Cause("surprise", sentence, numbers)


def _surprising_word(models: Sequence[Finished], request: Request | None) -> Cause | None:
    """The span each model spent most bits on, aligned over the text all of them read."""
    scored = [m for m in models if causal(m) and m.result.score.tokens]
    if len({m.result.score.total_nll_nats for m in scored}) < 2 or request is None:
        return None  # one model, or one model's weights in every column: nothing differs
    try:
        found = heat(align(request.text, [m.result.score.tokens for m in scored], [m.name for m in scored]), top=1)
    except PlaygroundError:  # scores of another text than the request's: nothing to line up
        return None
    spans = {m.name: found.spans[top[0]] for m, top in zip(scored, found.hottest, strict=True) if top}
    bits = {m.name: round(spans[m.name].bits[i], 2) for i, m in enumerate(scored) if m.name in spans}
    texts = {span.text.strip() for span in spans.values()}
    if len(texts) == 1:
        who = next(iter(spans)) if len(spans) == 1 else "both models" if len(spans) == 2 else "all models"
        shown = " and ".join(f"{b:.1f}" for b in bits.values())
        sentence = f"Most surprising for {who}: “{texts.pop()}” ({shown} bits)."
    else:
        each = [f"“{span.text.strip()}” for {n} ({bits[n]:.1f} bits)" for n, span in spans.items()]
        sentence = "Most surprising: " + "; ".join(each) + "."
    numbers = {"span": {n: span.text.strip() for n, span in spans.items()}, "bits": bits}
    return Cause("surprising word", sentence, numbers)


def _training(models: Sequence[Finished]) -> Cause | None:
    writing = writers(models)
    setups = {(m.facts.instruct, m.result.generation.prompt.chat_template) for m in writing}
    stopped = [m for m in writing if m.result.generation.new_tokens == 0]
    if len(setups) < 2 and not stopped:
        return None
    parts = []
    for m in writing:
        generation = m.result.generation
        if generation.prompt.chat_template:
            how = f"{m.name} got its chat template (tuned to answer)"
        elif m.facts.instruct:
            how = f"{m.name} got plain text, though it is chat-tuned,"
        elif m.facts.kind == "encoder-decoder":
            how = f"{m.name} is an encoder-decoder (it writes an output for its input)"
        else:
            how = f"{m.name} is a base model (it continues text)"
        if generation.new_tokens == 0:
            what = "stopped at once"
        elif generation.stop_reason == "end of sequence":
            what = f"ended its turn after {generation.new_tokens} tokens"
        else:
            what = f"wrote {generation.new_tokens} tokens, the limit"
        parts.append(f"{how} and {what}")
    numbers = {
        "instruct": by_name(writing, lambda m: m.facts.instruct),
        "chat template": by_name(writing, lambda m: m.result.generation.prompt.chat_template),
        "prompt tokens": by_name(writing, lambda m: len(m.result.generation.prompt.ids)),
        "new tokens": by_name(writing, lambda m: m.result.generation.new_tokens),
        "stop reason": by_name(writing, lambda m: m.result.generation.stop_reason),
    }
    return Cause("training", "Training: " + "; ".join(parts) + ".", numbers)


def _decoding(models: Sequence[Finished], request: Request | None) -> Cause | None:
    writing = writers(models)
    if not writing or request is None:
        return None
    settings = request.generation
    sampled = by_name(writing, lambda m: m.column.generation(settings).do_sample)
    if not any(sampled.values()):
        return None
    how = f"temperature {settings.temperature:g}, top-p {settings.top_p:g}"
    how += f", top-k {settings.top_k}" if settings.top_k else ""
    if all(sampled.values()):
        sentence = f"Decoding: every column samples ({how}, seed {settings.seed}): another seed, other texts."
    else:
        greedy = listed([n for n, s in sampled.items() if not s])
        drawn = listed([n for n, s in sampled.items() if s])
        sentence = (
            f"Decoding: {greedy} is greedy (the top token each time, the same text every run); "
            f"{drawn} samples ({how}, seed {settings.seed}: another seed, another text)."
        )
    shared = _shared_words([m.result.output for m in writing])
    if len(writing) > 1:
        sentence += f" Their texts agree for {shared} words." if shared else " They differ from the first word."
    numbers = {
        "sampled": sampled,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "top_k": settings.top_k,
        "seed": settings.seed,
        "words in common": shared,
    }
    return Cause("decoding", sentence, numbers)


def _shared_words(texts: Sequence[str]) -> int:
    """Words at the start that every text has in the same place."""
    shared = 0
    for group in zip(*(t.split() for t in texts), strict=False):
        if len(set(group)) > 1:
            break
        shared += 1
    return shared
