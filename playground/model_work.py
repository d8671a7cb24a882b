"""The work one model does for a request, by its kind: the column that ``compare`` fills.

A decoder streams its text (from the device's scheduler on a GPU) and scores the prompt; an
encoder-decoder writes or scores a target; a masked LM fills blanks and gets a pseudo-perplexity;
an encoder compares sentences; a task head labels the text. Token counts come first, so the
per-model token limit is checked before any of that work starts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import psutil
import torch

from playground import metrics, scheduler
from playground.conditional import score_conditional, score_pseudo
from playground.encoders import MASK_SPELLINGS, fill_mask, similarity, split_sentences
from playground.errors import PlaygroundError
from playground.fast import gpu
from playground.generation import build_prompt, stream
from playground.kinds import Kind
from playground.limits import GENERATING, checkpoint
from playground.models import LoadedModel
from playground.scoring import score_causal
from playground.tasks import HEAD_KINDS, run_head, run_text2text

if TYPE_CHECKING:
    from playground.compare import Request, Result, _Run

MAX_SENTENCES = 32
"""The sentences an encoder compares at most: the similarity matrix grows with their square."""


def run_one(lm: LoadedModel, request: Request, state: Result, run: _Run) -> Iterator[Result]:
    """The work one model does for a request, by kind; yields its column as it fills.

    Generation streams from the device's scheduler on a GPU (``playground.scheduler``), from
    this thread on a CPU; the rest (tokens, scores, task heads) runs here, holding the GPU
    shared so that no graph capture starts in the middle of it (``playground.fast.gpu``).
    """
    process = psutil.Process()
    rss_before = process.memory_info().rss
    if lm.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(lm.device)
    with gpu.shared(lm.device):
        state = replace(state, **_token_counts(lm, request))
        # Reading a text costs time by its tokens: bounded per model, not only by characters.
        run.limits.check_tokens(state.text_tokens, lm.label)
        if request.target:
            target = len(lm.tokenizer(request.target, add_special_tokens=False)["input_ids"])
            run.limits.check_tokens(target, lm.label, "target")
        if lm.kind is Kind.ENCODER_DECODER and request.task:
            output, result, seconds = run_text2text(lm, request)
            state = replace(state, output=output, task=request.task, task_result=result, task_seconds=seconds)
        elif lm.kind in HEAD_KINDS:
            start = time.perf_counter()
            output, result = run_head(lm, request.text, request.target)
            task = {Kind.CLASSIFIER: "classification", Kind.TOKEN_CLASSIFIER: "ner"}.get(lm.kind, "extractive_qa")
            seconds = time.perf_counter() - start
            state = replace(state, output=output, task=task, task_result=result, task_seconds=seconds)
    if lm.kind in (Kind.DECODER, Kind.ENCODER_DECODER) and not (lm.kind is Kind.ENCODER_DECODER and request.task):
        generate = scheduler.scheduler_for(lm.device).stream if scheduler.enabled(lm.device) else stream
        for update in generate(lm, request.text, request.generation):
            state = replace(state, output=update.text, generation=update.result)
            if update.result is None:
                yield state
                checkpoint(GENERATING)  # after the yield, so the text so far stays in the column
    with gpu.shared(lm.device):
        state = _kind_outputs(lm, request, state)
    growth = process.memory_info().rss - rss_before
    peak = torch.cuda.max_memory_allocated(lm.device) if lm.device.type == "cuda" else None
    yield replace(state, status="done", memory_growth_bytes=growth, peak_memory_bytes=peak)


def _token_counts(lm: LoadedModel, request: Request) -> dict:
    """Tokens of the text itself, and the special tokens the model sees around it."""
    text = request.text
    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    if lm.kind is Kind.DECODER:
        seen = build_prompt(lm, text, request.generation.use_chat_template).ids
    else:
        seen = lm.tokenizer(text)["input_ids"]
    special_ids = set(lm.tokenizer.all_special_ids)
    special = sum(1 for i in seen if i in special_ids)
    return {
        "text_tokens": len(ids),
        "special_tokens": special,
        "characters_per_token": metrics.characters_per_token(text, len(ids)),
        "tokens_per_word": metrics.tokens_per_word(text, len(ids)),
    }


def _kind_outputs(lm: LoadedModel, request: Request, state: Result) -> Result:
    not_defined = {}
    if lm.kind is Kind.DECODER:
        score = score_causal(lm, request.text) if request.score else None
        return replace(state, score=score)
    if lm.kind in HEAD_KINDS:
        reason = f"an {lm.kind.value} scores labels, not text: it has no language-model head"
        return replace(state, not_defined={"perplexity": reason, "time to first token": reason})
    if lm.kind is Kind.ENCODER_DECODER:
        if request.target and request.target.strip() and not request.task:
            return replace(state, score=score_conditional(lm, request.text, request.target))
        not_defined["perplexity"] = (
            "an encoder-decoder scores a target given a source: give a target text to get its conditional perplexity"
        )
        return replace(state, not_defined=not_defined)
    not_defined["time to first token"] = f"an {lm.kind.value} does not generate text"
    if lm.kind is Kind.MASKED_LM:
        if MASK_SPELLINGS.search(request.text):
            filled = fill_mask(lm, request.text)
            best = " | ".join(
                ", ".join(f"{c.token} ({c.probability:.0%})" for c in blank[:3]) for blank in filled.blanks
            )
            state = replace(state, fill_mask=filled, output=f"Blanks filled: {best}")
        else:
            state = replace(
                state,
                output="Put [MASK] in the text to see this encoder fill the blank.",
            )
        plain = " ".join(MASK_SPELLINGS.sub(" ", request.text).split())
        return replace(
            state,
            score=score_pseudo(lm, plain) if plain else None,
            not_defined=not_defined,
        )
    if lm.kind is Kind.ENCODER:
        sentences = split_sentences(request.text) + ([request.target.strip()] if request.target else [])
        # The similarity matrix grows with the square of the sentence count: compare the first few.
        shown = sentences[:MAX_SENTENCES]
        embeddings = similarity(lm, shown)
        if len(shown) > 1:
            output = f"Cosine similarity of the first two sentences: {embeddings.similarity[0][1]:.3f}"
            if len(sentences) > len(shown):
                output += f" (the first {len(shown)} of {len(sentences)} sentences are compared)"
        else:
            output = f"One sentence: a {embeddings.dimension}-dimensional vector. Give two sentences to compare them."
        not_defined["perplexity"] = (
            "an encoder without a language-model head assigns no probability to text, so "
            "it has no perplexity; it turns sentences into vectors"
        )
        return replace(state, embeddings=embeddings, output=output, not_defined=not_defined)
    raise PlaygroundError(f"{lm.label} is an {lm.kind.value}; compare it with the task views of its kind.")
