"""What "why they differ" is made of: a cause in words and numbers, and the finished columns it
reads. The causes themselves are in ``playground.why`` (behaviour) and ``playground.why_cost``
(size, precision, latency, memory)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from playground.compare import Column, Result
from playground.facts import WRITERS, ModelFacts


@dataclass(frozen=True)
class Cause:
    """One reason the outputs or numbers differ: its name, one sentence, and the numbers in it
    (by model name where they are per model)."""

    cause: str  # kind | tokens | surprise | surprising word | training | decoding | size | precision | latency | memory
    sentence: str
    numbers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Finished:
    """One column that produced a result: its short name, its result and its column settings."""

    name: str
    result: Result
    column: Column

    @property
    def facts(self) -> ModelFacts:
        return self.result.facts


def by_name(models: Sequence[Finished], read: Callable[[Finished], object]) -> dict:
    """A per-model number, keyed by the model's short name (the ``numbers`` of a cause)."""
    return {m.name: read(m) for m in models}


def writers(models: Sequence[Finished]) -> list[Finished]:
    """The columns that generated text (decoders and encoder-decoders)."""
    return [m for m in models if m.facts.kind in WRITERS and m.result.generation is not None]


def causal(model: Finished) -> bool:
    """Whether the column has a left-to-right score (bits per byte comparable across tokenizers)."""
    return model.result.score is not None and model.result.score.kind == "causal"


def listed(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
