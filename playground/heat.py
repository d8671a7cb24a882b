"""Surprise that lights up the surprising word: each place coloured by its bits, one scale for all rows.

Colouring by bits per character makes a long surprising word pale: its bits are spread over many
letters. The bits of the whole word are what the model paid for it, so each place of
``playground.alignment`` (a span that is whole tokens in every model and whole words) is coloured
by its bits, and every model's row uses the same scale, 0 to ``scale_bits``: the same colour
means the same bits in every row. On "I like my coffee with milk and two lumps of granite." both
packaged models spend more than 13 bits on " granite" and on " lumps", their two hottest words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from playground.alignment import Alignment, Place


@dataclass(frozen=True)
class HeatSpan:
    """One place with each model's bits over it and their intensity on the common scale (0-1)."""

    start: int
    end: int
    text: str
    bits: tuple[float | None, ...]  # per model; None: the model did not score all of it
    intensity: tuple[float | None, ...]  # bits / Heat.scale_bits


@dataclass(frozen=True)
class Heat:
    """Surprise by place, every model on one scale: the same colour means the same bits in every row.

    ``scale_bits`` is the top of the legend (0 to that many bits), the largest bits of any place
    under any model, rounded up to a whole bit. ``hottest`` lists, per model, the indices of its
    ``top`` most surprising spans, most first; ``disagreements`` are the places where the
    models' bits differ most (``Alignment.hot_spots``), with every model's bits.
    """

    spans: tuple[HeatSpan, ...]
    scale_bits: float
    hottest: tuple[tuple[int, ...], ...]
    disagreements: tuple[Place, ...]

    def hottest_text(self, model: int) -> list[str]:
        """The text of one model's most surprising spans, most first, without surrounding spaces."""
        return [self.spans[i].text.strip() for i in self.hottest[model]]


def heat(alignment: Alignment, top: int = 3) -> Heat:
    """Colour each place by its bits (not bits per character) on one scale for every model.

    A place of whitespace alone (a tokenizer that gives a space its own token) joins the place
    after it: the bits of the space belong to the word it starts.
    """
    joined: list[tuple[int, int, tuple[float | None, ...]]] = []
    carry: tuple[int, tuple[float | None, ...]] | None = None
    for place in alignment.places:
        start, bits = place.start, place.bits
        if carry is not None:
            start, bits = carry[0], tuple(_add(a, b) for a, b in zip(carry[1], bits, strict=True))
            carry = None
        if place.text.isspace() and place is not alignment.places[-1]:
            carry = (start, bits)
            continue
        joined.append((start, place.end, bits))
    highest = max((b for _, _, bits in joined for b in bits if b is not None), default=0.0)
    scale = float(max(1, math.ceil(highest)))
    spans = tuple(
        HeatSpan(a, b, alignment.text[a:b], bits, tuple(None if x is None else x / scale for x in bits))
        for a, b, bits in joined
    )
    hottest = []
    for m in range(len(alignment.models)):
        scored = [i for i, s in enumerate(spans) if s.bits[m] is not None and s.text.strip()]
        hottest.append(tuple(sorted(scored, key=lambda i: -spans[i].bits[m])[:top]))
    return Heat(spans, scale, tuple(hottest), tuple(alignment.hot_spots(top)))


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b
