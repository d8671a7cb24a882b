"""Generate with 2-3 models from one thread, one token of each in turn.

One Python thread per model is the obvious way to run models side by side, and on a GPU it is
the slow way: decoding there is bound by launching kernels from Python, so the threads queue for
the interpreter lock (three small models took 5.6x as long as the slowest alone, DESIGN §4), and
a CUDA-graph capture in one thread fails when another thread touches the GPU meanwhile. Here one
thread launches every model's next step, each on its own CUDA stream so that their kernels can
overlap, and only then waits for the tokens:

    round 1:  launch A, launch B, launch C | collect A, collect B, collect C
    round 2:  launch A, launch B, launch C | collect A, ...          (a finished model drops out)

The tokens are the ones each model produces alone, seeded sampling included: every model keeps
its own KV cache and random generator, and the order of rounds changes no arithmetic. On a CPU
there is nothing to overlap (each launch computes before it returns), so there ``compare`` runs
models in threads with one intra-op thread each; the scheduler still runs there, and its tests
check it equals per-model runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from playground.generation import GenerationSettings, Update, start
from playground.models import LoadedModel


@dataclass(frozen=True)
class Job:
    """One model's part of a side-by-side generation."""

    model: LoadedModel
    text: str
    settings: GenerationSettings


def stream_lockstep(jobs: list[Job]) -> Iterator[tuple[int, Update]]:
    """Yield (job index, update) as each model produces tokens, all models advancing together.

    A job whose request is invalid (prompt too long, wrong kind) raises before any model runs.
    """
    decodings = [start(job.model, job.text, job.settings) for job in jobs]
    streams = [_stream_for(job.model) for job in jobs]
    try:
        while active := [i for i, d in enumerate(decodings) if not d.done]:
            for i in active:
                with streams[i]:
                    decodings[i].launch()
            for i in active:
                with streams[i]:
                    for update in decodings[i].collect():
                        yield i, update
    finally:
        for decoding in decodings:
            decoding.close()


def generate_lockstep(jobs: list[Job]) -> list:
    """Run ``stream_lockstep`` to the end; the final ``Generation`` of each job, in order."""
    results = [None] * len(jobs)
    for index, update in stream_lockstep(jobs):
        if update.result is not None:
            results[index] = update.result
    return results


def _stream_for(lm: LoadedModel):
    """A context that puts a model's kernels on its own CUDA stream; nothing on a CPU."""
    if lm.device.type != "cuda":
        return contextlib.nullcontext()
    return _ReusableStream(torch.cuda.Stream(device=lm.device))


class _ReusableStream:
    """``torch.cuda.stream(s)`` as a context entered once per launch and collect."""

    def __init__(self, stream):
        self.stream = stream
        self._context = None

    def __enter__(self):
        self._context = torch.cuda.stream(self.stream)
        return self._context.__enter__()

    def __exit__(self, *exc):
        return self._context.__exit__(*exc)
