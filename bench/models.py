"""Models the bench builds in code: a tiny GPT-2 for overhead, and real shapes with random weights.

Decode time does not depend on the weights' values once the number of new tokens is fixed, so
the GPU shapes (gpt2, gpt2-medium, SmolLM2-135M, Gemma-3-270M) run with random weights and a
word-level tokenizer that names every id ("t123"): no download. Each is saved to a folder and
loaded through the playground's own ``ModelCache``, the same path as a Hub id.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

PROMPT_TEXT = (
    "The history of the lighthouse begins on a small island where a keeper lived alone with his "
    "books, his lamps and a cat. Every night he climbed the stairs and"
)


def word_tokenizer(vocab_size: int) -> PreTrainedTokenizerFast:
    """Ids 0..vocab_size-1 as words t0, t1, ...; no end-of-text token, so every requested token is decoded."""
    vocab = {f"t{i}": i for i in range(vocab_size)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="t1"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="t1")


def random_prompt(tokens: int, seed: int = 0) -> str:
    """A prompt of exactly ``tokens`` words of the word tokenizer (ids 100..999)."""
    generator = torch.Generator().manual_seed(seed)
    return " ".join(f"t{i}" for i in torch.randint(100, 1000, (tokens,), generator=generator).tolist())


def tiny_gpt2_config() -> GPT2Config:
    """The framework-overhead model: 2 layers, width 64, GPT-2's vocabulary size (docs/decoding.md)."""
    return GPT2Config(n_layer=2, n_embd=64, n_head=2)


def gpu_shapes(tiny: bool) -> dict:
    """name -> (class, config): the real shapes, or small stand-ins to try the script on a CPU."""
    if tiny:
        return {
            "gpt2-tiny": (GPT2LMHeadModel, tiny_gpt2_config()),
            "llama-tiny": (
                LlamaForCausalLM,
                LlamaConfig(
                    vocab_size=1000,
                    hidden_size=64,
                    intermediate_size=128,
                    num_hidden_layers=2,
                    num_attention_heads=2,
                    num_key_value_heads=1,
                ),
            ),
        }
    return {
        "gpt2 (124M)": (GPT2LMHeadModel, GPT2Config()),
        "gpt2-medium (355M)": (GPT2LMHeadModel, GPT2Config(n_layer=24, n_embd=1024, n_head=16)),
        "smollm2-135m": (
            LlamaForCausalLM,
            LlamaConfig(
                vocab_size=49152,
                hidden_size=576,
                intermediate_size=1536,
                num_hidden_layers=30,
                num_attention_heads=9,
                num_key_value_heads=3,
                max_position_embeddings=8192,
                tie_word_embeddings=True,
            ),
        ),
        "gemma-3-270m": (
            Gemma3ForCausalLM,
            Gemma3TextConfig(
                vocab_size=262144,
                hidden_size=640,
                intermediate_size=2048,
                num_hidden_layers=18,
                num_attention_heads=4,
                num_key_value_heads=1,
                head_dim=256,
                max_position_embeddings=32768,
                sliding_window=512,
            ),
        ),
    }


def save_random(cls, config, folder: Path) -> Path:
    """Random weights of a shape, with the word tokenizer, saved like a Hub checkpoint."""
    if not (folder / "config.json").exists():
        config.bos_token_id = config.eos_token_id = None
        config.pad_token_id = 0
        torch.manual_seed(0)
        model = cls(config)
        model.generation_config.bos_token_id = model.generation_config.eos_token_id = None
        model.save_pretrained(folder)
        word_tokenizer(config.vocab_size).save_pretrained(folder)
    return folder
