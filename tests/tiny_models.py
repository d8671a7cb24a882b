"""Tiny random models of every kind the engine routes, saved like Hub checkpoints.

Configs of 2 layers and width 32 with tokenizers trained here in a few lines, written with
``save_pretrained`` so the tests load them through the same ``from_pretrained`` path as a Hub id.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    BertConfig,
    BertForMaskedLM,
    BertModel,
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    T5Config,
    T5ForConditionalGeneration,
)

CONTEXT = 64
CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "A cat sat on the mat and looked at the moon.",
    "Photosynthesis turns sunlight, water and carbon dioxide into sugar.",
    "Café, naïve, résumé: accents are letters too. 😀 مرحبا שלום",
] * 8


def byte_bpe_tokenizer(vocab_size: int = 300) -> PreTrainedTokenizerFast:
    """A GPT-2 style byte-level BPE with <|endoftext|> as its only special token."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>"
    )


def wordpiece_tokenizer() -> PreTrainedTokenizerFast:
    """A BERT style uncased WordPiece with [CLS] text [SEP] around every input."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(CORPUS, trainers.WordPieceTrainer(vocab_size=200, special_tokens=specials))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=CONTEXT,
    )


def unigram_tokenizer() -> PreTrainedTokenizerFast:
    """A T5 style SentencePiece-like Unigram with </s> appended to every input."""
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=150, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>")
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=CONTEXT
    )


def _save(model, tokenizer, folder: Path) -> Path:
    torch.manual_seed(0)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_gpt2(folder: Path) -> Path:
    tokenizer = byte_bpe_tokenizer()
    torch.manual_seed(0)
    config = GPT2Config(
        n_layer=2, n_embd=32, n_head=2, n_positions=CONTEXT, vocab_size=len(tokenizer), bos_token_id=0, eos_token_id=0
    )
    return _save(GPT2LMHeadModel(config), tokenizer, folder)


CHAT_TEMPLATE = (
    "{% for m in messages %}<|user|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_llama(folder: Path, chat: bool = False, width: int = 32, seed: int = 1, init: float = 0.02) -> Path:
    """A Llama-style decoder; ``chat`` gives its tokenizer a chat template (an "instruct" model).

    ``width`` (hidden size; the feed-forward layer is twice as wide) and ``seed`` make other
    members of the same family; ``init`` is the spread of the random weights (larger: surer guesses).
    """
    tokenizer = byte_bpe_tokenizer(260)
    if chat:
        tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=width,
        intermediate_size=2 * width,
        initializer_range=init,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=CONTEXT,
        bos_token_id=0,
        eos_token_id=0,
    )
    return _save(LlamaForCausalLM(config), tokenizer, folder)


def build_gemma3(folder: Path, sliding_window: int = 8) -> Path:
    """Gemma-3's layout at width 32: sliding-window and global layers, q/k norms, its own norms."""
    tokenizer = byte_bpe_tokenizer()
    torch.manual_seed(4)
    config = Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=CONTEXT,
        sliding_window=sliding_window,
        layer_types=["sliding_attention", "sliding_attention", "full_attention"],
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    )
    return _save(Gemma3ForCausalLM(config), tokenizer, folder)


def build_t5(folder: Path) -> Path:
    tokenizer = unigram_tokenizer()
    torch.manual_seed(2)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_heads=4,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    return _save(T5ForConditionalGeneration(config), tokenizer, folder)


def build_bert(folder: Path, head: bool) -> Path:
    tokenizer = wordpiece_tokenizer()
    torch.manual_seed(3)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=CONTEXT,
    )
    model = BertForMaskedLM(config) if head else BertModel(config)
    return _save(model, tokenizer, folder)
