"""Line up per-token surprisal of two or three models over the same text, character by character.

Tokenizers cut a text differently, so token 5 of one model has no partner in another; the
characters are what the models share. Each token's surprisal is spread evenly over the characters
it accounts for, and the text is cut at every token boundary of every model::

    text:       " naïve"
    model A:    [ na][ïve]          boundaries 0 3 6
    model B:    [ naïve  ]          boundaries 0 6
    segments:   [ na][ïve]          union 0 3 6: inside a segment every model has one token
    places:     [ naïve  ]          intersection 0 6: whole tokens in every model, whole words

A segment gives each model's surprisal per character there (bits/char): a colour per model over
the same letters. A place is a span every model tokenized into whole tokens, cut only between
words (never between two letters or digits), so each model's bits over it are exact, not spread;
the places where those bits differ most are where the models disagree. Scripts written without
spaces (Chinese, Japanese, Thai) give long places.

``playground.heat`` colours each place by its bits, on one scale for every model.

Rank buckets follow GLTR (Gehrmann, Strobelt and Rush, 2019): was the true token among the
model's top 10, 100 or 1000 guesses, or beyond?
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from playground.errors import PlaygroundError
from playground.limits import checkpoint
from playground.metrics import characters_per_token
from playground.scoring import TokenScore


@dataclass(frozen=True)
class RankBucket:
    """Tokens whose rank (1 = the model's top guess) is at most ``max_rank``; None: no limit."""

    name: str
    max_rank: int | None
    colour: str  # GLTR's own colours (its GLTR_Text_Box.ts topkScale)
    colour_name: str


BUCKETS = (
    RankBucket("top-10", 10, "#ADFF80", "green"),
    RankBucket("top-100", 100, "#FFEA80", "yellow"),
    RankBucket("top-1000", 1000, "#FF9280", "red"),
    RankBucket("beyond", None, "#E5B0FF", "purple"),
)


def rank_bucket(rank: int) -> RankBucket:
    """The GLTR bucket of a true token's rank: top-10 (green), top-100, top-1000, beyond (purple)."""
    return next(b for b in BUCKETS if b.max_rank is None or rank <= b.max_rank)


@dataclass(frozen=True)
class AlignedToken:
    """One model's token laid over the characters its surprisal is spread across, ``start``-``end``.

    That span is the tokenizer's own, widened over whitespace the tokenizer skipped (WordPiece
    drops spaces; they go to the token after them, where byte-level BPE and SentencePiece put
    them). ``pieces`` are the scored tokens it stands for: tokens with an empty span (the 2nd-4th
    bytes of an emoji in byte-level BPE) are folded into the token before them (at the very start
    of the text, into the first token after them), bits included, so no surprisal is lost.
    """

    start: int
    end: int
    pieces: tuple[str, ...]
    surprisal_bits: float
    worst_rank: int

    @property
    def bits_per_char(self) -> float:
        """Surprisal per character = token surprisal (bits) / characters it covers."""
        return self.surprisal_bits / (self.end - self.start)


@dataclass(frozen=True)
class ModelAlignment:
    """One model's tokens over the text, and counts that explain its numbers."""

    label: str
    tokens: tuple[AlignedToken, ...]
    token_count: int  # scored tokens, empty-span pieces included
    empty_span_tokens: int  # pieces folded into the token before them
    characters_per_token: float  # characters of text / scored tokens
    total_bits: float  # sum of token surprisal: every scored token counted once
    uncovered: tuple[tuple[int, int], ...]  # spans no scored token accounts for (e.g. an unscored first token)
    bucket_counts: tuple[int, ...]  # scored tokens per rank bucket, in the order of BUCKETS


@dataclass(frozen=True)
class Segment:
    """A stretch of text inside one token of every model (the union of all token boundaries)."""

    start: int
    end: int
    text: str
    tokens: tuple[int | None, ...]  # per model: index into ModelAlignment.tokens; None: not covered
    bits_per_char: tuple[float | None, ...]  # per model: surprisal per character of that token
    spread_bits_per_char: float  # max - min over the models that cover it; 0 with fewer than two


@dataclass(frozen=True)
class Place:
    """A span made of whole tokens in every model and of whole words (common token boundaries that are
    not between two letters or digits)."""

    start: int
    end: int
    text: str
    bits: tuple[float | None, ...]  # per model: surprisal of its tokens in the span; None: not all covered
    spread_bits: float  # max - min over the models with a value; 0 with fewer than two


@dataclass(frozen=True)
class Alignment:
    """Two or three models' surprisal over one text, on a common character segmentation."""

    text: str
    models: tuple[ModelAlignment, ...]
    segments: tuple[Segment, ...]  # tile the text exactly, in order
    places: tuple[Place, ...]  # tile the text exactly, in order

    def hot_spots(self, top: int = 5) -> list[Place]:
        """The ``top`` places where the models' surprisal differs most (in bits), largest first."""
        ranked = sorted((p for p in self.places if p.spread_bits > 0), key=lambda p: -p.spread_bits)
        return ranked[:top]

    def character_spread(self) -> list[float]:
        """Disagreement per character: max - min of the models' surprisal per character, in bits."""
        return [s.spread_bits_per_char for s in self.segments for _ in range(s.end - s.start)]


ALIGNING = "aligning the surprisal of the models"
Region = tuple[int, int, int | None]  # start, end, index of the AlignedToken (None: not covered)


def align(text: str, token_lists: Sequence[Sequence[TokenScore]], labels: Sequence[str] | None = None) -> Alignment:
    """Align each model's scored tokens (``Score.tokens``, character spans over ``text``).

    Any scores with spans align (causal, conditional, pseudo), but only bits of the same kind of
    score measure the same thing: label pseudo-perplexity bits as such next to causal ones.
    """
    if not text:
        raise PlaygroundError("There is no text to align: score a text first.")
    labels = list(labels) if labels is not None else [f"model {i + 1}" for i in range(len(token_lists))]
    if not token_lists or len(labels) != len(token_lists):
        raise PlaygroundError("Give one list of scored tokens per model (and one label each).")
    folded = [_fold(text, tokens, label) for tokens, label in zip(token_lists, labels, strict=True)]
    models, regions = [m for m, _ in folded], [r for _, r in folded]
    edges = [{e for start, end, _ in r for e in (start, end)} for r in regions]
    cuts = sorted(set().union(*edges))
    # places end where every model ends a token, but not inside a word: tiny or rare-word
    # tokenizers cut words into letters, and a disagreement is about the word
    common = [c for c in sorted(set.intersection(*edges)) if c in (0, len(text)) or not _inside_word(text, c)]
    starts = [[r[0] for r in model_regions] for model_regions in regions]
    segments = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        checkpoint(ALIGNING)
        indices = tuple(r[bisect.bisect_right(s, a) - 1][2] for r, s in zip(regions, starts, strict=True))
        rates = tuple(None if i is None else m.tokens[i].bits_per_char for m, i in zip(models, indices, strict=True))
        segments.append(Segment(a, b, text[a:b], indices, rates, _spread(rates)))
    places = []
    for a, b in zip(common, common[1:], strict=False):
        checkpoint(ALIGNING)
        bits = []
        for model, model_regions, s in zip(models, regions, starts, strict=True):
            inside = model_regions[bisect.bisect_left(s, a) : bisect.bisect_left(s, b)]
            covered = all(r[2] is not None for r in inside)
            bits.append(sum(model.tokens[r[2]].surprisal_bits for r in inside) if covered else None)
        places.append(Place(a, b, text[a:b], tuple(bits), _spread(bits)))
    return Alignment(text, tuple(models), tuple(segments), tuple(places))


def _fold(text: str, tokens: Sequence[TokenScore], label: str) -> tuple[ModelAlignment, list[Region]]:
    """Fold empty-span pieces into their neighbour, widen over skipped whitespace, and tile the text."""
    owners: list[list] = []  # [start, end, pieces, bits, worst rank]
    pending: list[TokenScore] = []  # empty-span pieces before any token with characters: they go to the first
    cursor, empty = 0, 0
    for token in tokens:
        checkpoint(ALIGNING)
        start = max(token.start, cursor)  # spans made monotonic, as scoring.token_spans does
        end = max(token.end, start)
        if end > len(text):
            raise PlaygroundError(f"{label}: a token ends at character {end}, past the text: align the text scored.")
        if end == start:
            empty += 1
            if owners:
                owners[-1][2].append(token.token)
                owners[-1][3] += token.surprisal_bits
                owners[-1][4] = max(owners[-1][4], token.rank)
            else:
                pending.append(token)
            continue
        owners.append(
            [
                start,
                end,
                [*(p.token for p in pending), token.token],
                token.surprisal_bits + sum(p.surprisal_bits for p in pending),
                max([token.rank, *(p.rank for p in pending)]),
            ]
        )
        pending, cursor = [], end
    if not owners:
        raise PlaygroundError(f"{label}: no scored token covers any character of the text; nothing to align.")
    regions: list[Region] = []
    uncovered: list[tuple[int, int]] = []
    cursor = 0
    for i, owner in enumerate(owners):
        if owner[0] > cursor:
            if text[cursor : owner[0]].isspace():
                owner[0] = cursor
            else:
                regions.append((cursor, owner[0], None))
                uncovered.append((cursor, owner[0]))
        regions.append((owner[0], owner[1], i))
        cursor = owner[1]
    if cursor < len(text):
        if text[cursor:].isspace():
            owners[-1][1] = len(text)
            regions[-1] = (regions[-1][0], len(text), len(owners) - 1)
        else:
            regions.append((cursor, len(text), None))
            uncovered.append((cursor, len(text)))
    counts = [0] * len(BUCKETS)
    for token in tokens:
        counts[BUCKETS.index(rank_bucket(token.rank))] += 1
    aligned = tuple(AlignedToken(s, e, tuple(p), b, r) for s, e, p, b, r in owners)
    model = ModelAlignment(
        label,
        aligned,
        len(tokens),
        empty,
        characters_per_token(text, len(tokens)),
        sum(t.surprisal_bits for t in tokens),
        tuple(uncovered),
        tuple(counts),
    )
    return model, regions


def _inside_word(text: str, position: int) -> bool:
    return text[position - 1].isalnum() and text[position].isalnum()


def _spread(values: Sequence[float | None]) -> float:
    present = [v for v in values if v is not None]
    return max(present) - min(present) if len(present) > 1 else 0.0
