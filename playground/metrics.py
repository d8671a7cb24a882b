"""Metric definitions: each one a small function with its formula, unit and limits.

The playground reports these numbers next to each other for models that differ in tokenizer,
size and kind, so every docstring says when a number is *not* comparable across models.
"""

from __future__ import annotations

import math

LN2 = math.log(2.0)


def perplexity(total_nll_nats: float, scored_tokens: int) -> float:
    """Perplexity = exp(sum of token NLL / number of scored tokens). Unit: tokens (an effective
    branching factor).

    Token-weighted: the NLL of every scored token counts once, so a text scored in several
    windows gives the same number as one long window would (never a mean of window means).
    Not comparable across tokenizers: a model that cuts text into fewer, longer tokens must
    spread the same information over fewer predictions, which raises its per-token perplexity.
    Compare ``bits_per_byte`` instead.
    """
    if scored_tokens <= 0:
        raise ValueError("perplexity needs at least one scored token")
    return math.exp(total_nll_nats / scored_tokens)


def bits_per_byte(total_nll_nats: float, utf8_bytes: int) -> float:
    """Bits per byte = sum of token NLL in nats / (ln 2 x UTF-8 bytes of the scored text).

    The cost of encoding the text with the model, per byte of text. The denominator does not
    depend on the tokenizer, so this number is comparable across models with different
    vocabularies (unlike perplexity). Lower is better; 8 would mean no better than raw bytes.
    """
    if utf8_bytes <= 0:
        raise ValueError("bits per byte needs at least one byte of scored text")
    return total_nll_nats / (LN2 * utf8_bytes)


def surprisal_bits(nll_nats: float) -> float:
    """Surprisal of one token = -log2 p(token | left context), in bits (nats / ln 2)."""
    return nll_nats / LN2


def characters_per_token(text: str, tokens: int) -> float:
    """Characters of text per token the tokenizer produced for it (special tokens excluded).

    A property of the tokenizer on this text, not of the model: higher means coarser tokens.
    """
    return len(text) / tokens if tokens else 0.0


def tokens_per_word(text: str, tokens: int) -> float:
    """Tokens per whitespace-separated word (special tokens excluded); 1.0 means a token a word."""
    words = len(text.split())
    return tokens / words if words else 0.0


def tokens_per_second(tokens: int, seconds: float) -> float:
    """Decode throughput: tokens after the first one / seconds spent producing them.

    The first token is excluded because its time is dominated by reading the prompt (prefill),
    which ``time_to_first_token`` reports on its own.
    """
    return tokens / seconds if seconds > 0 else 0.0
