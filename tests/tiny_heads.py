"""Tiny random models for every family in the lecture table, saved like Hub checkpoints.

Each model is built from its architecture's config (2 layers, width 32, a 64-token window)
with a tokenizer trained in a few lines on ``CORPUS``, then ``save_pretrained`` into a
folder, so tests load it through ``from_pretrained(folder)`` exactly as they would a Hub id.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import sentencepiece
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import (
    AlbertConfig,
    AlbertTokenizer,
    AutoModelForCausalLM,
    AutoModelForQuestionAnswering,
    AutoModelForSeq2SeqLM,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    BartConfig,
    BartTokenizer,
    BertConfig,
    BertTokenizer,
    CTRLConfig,
    DistilBertConfig,
    DistilBertTokenizer,
    ElectraConfig,
    GPT2Config,
    GPT2Tokenizer,
    MarianConfig,
    MarianTokenizer,
    MBartConfig,
    MBartTokenizer,
    OpenAIGPTConfig,
    OpenAIGPTTokenizer,
    PretrainedConfig,
    PreTrainedTokenizerBase,
    RobertaConfig,
    RobertaTokenizer,
    T5Config,
    T5Tokenizer,
)

WINDOW = 64
"""Tokens every tiny model reads at once, so long-text tests need only a paragraph."""

CORPUS = [
    "Marie Curie was born in Warsaw and later worked in Paris.",
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Studies have shown that owning a dog is good for you and your family.",
    "The house is wonderful and the garden is full of flowers in spring.",
    "Where was Marie Curie born? She was born in Warsaw, the capital of Poland.",
    "summarize: translate English to German: question: context:",
] * 4

SEQUENCE_LABELS = {0: "negative", 1: "neutral", 2: "positive"}
ENTITY_LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}

MARIAN_TARGETS = ("es", "fr", "it")

ENCODER_FAMILIES = ("ALBERT", "BERT", "DistilBERT", "ELECTRA", "RoBERTa")
DECODER_FAMILIES = ("CTRL", "GPT", "GPT-2")
SEQ2SEQ_FAMILIES = ("BART", "T5", "Marian", "mBART")
HEADS = {
    "sequence": AutoModelForSequenceClassification,
    "token": AutoModelForTokenClassification,
    "qa": AutoModelForQuestionAnswering,
    "seq2seq": AutoModelForSeq2SeqLM,
    "causal": AutoModelForCausalLM,
}
"""Head name -> the Auto class that builds and loads it."""


def wordpiece_vocab() -> dict[str, int]:
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordPieceTrainer(vocab_size=200, special_tokens=specials)
    tokenizer.train_from_iterator(CORPUS, trainer)
    return tokenizer.get_vocab()


def bpe(specials: list[str], byte_level: bool = True) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Vocab and merges of a BPE: byte-level (GPT-2, RoBERTa) or word-suffix (GPT)."""
    if byte_level:
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        alphabet = pre_tokenizers.ByteLevel.alphabet()
        trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=specials, initial_alphabet=alphabet)
    else:
        tokenizer = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        trainer = trainers.BpeTrainer(vocab_size=200, special_tokens=specials, end_of_word_suffix="</w>")
    tokenizer.train_from_iterator(CORPUS, trainer)
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    return tokenizer.get_vocab(), [tuple(m) for m in merges]


def unigram(specials: list[str]) -> list[tuple[str, float]]:
    """A Unigram vocabulary (piece, log-probability) starting with ``specials`` in order."""
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=150, special_tokens=specials, unk_token="<unk>")
    tokenizer.train_from_iterator(CORPUS, trainer)
    return [tuple(piece) for piece in json.loads(tokenizer.to_str())["model"]["vocab"]]


def _bert_tokenizer(cls: type = BertTokenizer) -> PreTrainedTokenizerBase:
    return cls(vocab=wordpiece_vocab(), model_max_length=WINDOW)


def _roberta_tokenizer(cls: type = RobertaTokenizer) -> PreTrainedTokenizerBase:
    vocab, merges = bpe(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    return cls(vocab=vocab, merges=merges, model_max_length=WINDOW)


def _albert_tokenizer() -> PreTrainedTokenizerBase:
    # AlbertTokenizer fixes <unk> at id 1.
    vocab = unigram(["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"])
    return AlbertTokenizer(vocab=vocab, model_max_length=WINDOW)


def _gpt2_tokenizer() -> PreTrainedTokenizerBase:
    vocab, merges = bpe(["<|endoftext|>"])
    return GPT2Tokenizer(vocab=vocab, merges=merges, model_max_length=WINDOW)


def _gpt_tokenizer() -> PreTrainedTokenizerBase:
    vocab, merges = bpe(["<unk>"], byte_level=False)
    return OpenAIGPTTokenizer(vocab=vocab, merges=merges, model_max_length=WINDOW)


def _t5_tokenizer() -> PreTrainedTokenizerBase:
    vocab = unigram(["<pad>", "</s>", "<unk>"])
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=WINDOW)


def _mbart_tokenizer() -> PreTrainedTokenizerBase:
    # MBartTokenizer adds its 25 language codes (en_XX, ro_RO, ...) as special tokens.
    vocab = unigram(["<s>", "<pad>", "</s>", "<unk>"])
    return MBartTokenizer(vocab=vocab, model_max_length=WINDOW)


def _marian_tokenizer(folder: Path, targets: tuple[str, ...] = ()) -> PreTrainedTokenizerBase:
    """Marian's tokenizer is SentencePiece files plus a vocab.json (no fast version).

    ``targets`` makes a multi-target checkpoint: ``>>fr<<``-style tokens pick the language.
    """
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS), model_writer=model, vocab_size=120, hard_vocab_limit=False, minloglevel=2
    )
    spm_path = folder / "build.spm"
    spm_path.write_bytes(model.getvalue())
    processor = sentencepiece.SentencePieceProcessor(model_file=str(spm_path))
    vocab = {processor.id_to_piece(i): i for i in range(processor.get_piece_size())}
    for code in targets:
        vocab[f">>{code}<<"] = len(vocab)
    vocab["<pad>"] = len(vocab)
    vocab_path = folder / "build-vocab.json"
    vocab_path.write_text(json.dumps(vocab))
    return MarianTokenizer(
        source_spm=str(spm_path),
        target_spm=str(spm_path),
        vocab=str(vocab_path),
        source_lang="en",
        target_lang="ROMANCE" if targets else "de",
        model_max_length=WINDOW,
    )


ENCODER = {"num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
SEQ2SEQ = {
    "d_model": 32,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 64,
    "max_position_embeddings": WINDOW,
}
SMALL_DECODER = {"n_embd": 32, "n_layer": 2, "n_head": 2, "n_positions": WINDOW}


def _ids(tokenizer: PreTrainedTokenizerBase) -> dict[str, int | None]:
    return {
        "vocab_size": len(tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }


# family -> (tokenizer builder, config builder taking the tokenizer)
FAMILIES: dict[str, tuple[Callable, Callable[..., PretrainedConfig]]] = {
    "BERT": (
        _bert_tokenizer,
        lambda t: BertConfig(hidden_size=32, max_position_embeddings=WINDOW, **ENCODER, **_ids(t)),
    ),
    "ELECTRA": (
        _bert_tokenizer,
        lambda t: ElectraConfig(
            embedding_size=16, hidden_size=32, max_position_embeddings=WINDOW, **ENCODER, **_ids(t)
        ),
    ),
    "ALBERT": (
        _albert_tokenizer,
        lambda t: AlbertConfig(embedding_size=16, hidden_size=32, max_position_embeddings=WINDOW, **ENCODER, **_ids(t)),
    ),
    "DistilBERT": (
        lambda: _bert_tokenizer(DistilBertTokenizer),
        lambda t: DistilBertConfig(
            dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=WINDOW, **_ids(t)
        ),
    ),
    "RoBERTa": (
        _roberta_tokenizer,
        # RoBERTa positions start after the padding id: two extra rows for 64 tokens.
        lambda t: RobertaConfig(hidden_size=32, max_position_embeddings=WINDOW + 2, **ENCODER, **_ids(t)),
    ),
    "GPT-2": (_gpt2_tokenizer, lambda t: GPT2Config(**SMALL_DECODER, **_ids(t))),
    # CTRL's own tokenizer is a slow Python BPE with its own file format; the model
    # only needs token ids, so it shares GPT-2's.
    "CTRL": (_gpt2_tokenizer, lambda t: CTRLConfig(dff=64, **SMALL_DECODER, **_ids(t))),
    "GPT": (_gpt_tokenizer, lambda t: OpenAIGPTConfig(**SMALL_DECODER, **_ids(t))),
    "BART": (
        lambda: _roberta_tokenizer(BartTokenizer),
        lambda t: BartConfig(**SEQ2SEQ, **_ids(t), decoder_start_token_id=2),
    ),
    "mBART": (_mbart_tokenizer, lambda t: MBartConfig(**SEQ2SEQ, **_ids(t), decoder_start_token_id=2)),
    "Marian": (_marian_tokenizer, lambda t: MarianConfig(**SEQ2SEQ, **_ids(t), decoder_start_token_id=t.pad_token_id)),
    "T5": (
        _t5_tokenizer,
        lambda t: T5Config(
            d_model=32, d_kv=16, d_ff=64, num_layers=2, num_heads=2, decoder_start_token_id=t.pad_token_id, **_ids(t)
        ),
    ),
}


class TinyModels:
    """Builds each (family, head, variant) once under ``root`` and returns its folder.

    Variants change the config's labels: ``""`` names them (``SEQUENCE_LABELS`` or
    ``ENTITY_LABELS``), ``"no-labels"`` leaves the default ``LABEL_n`` map, and
    ``"multi-label"`` makes a sequence head multi-label (sigmoid scores). For Marian,
    ``"multi-target"`` saves ``opus-mt-en-ROMANCE`` with ``MARIAN_TARGETS`` codes.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tokenizers: dict[str, PreTrainedTokenizerBase] = {}

    def folder(self, family: str, head: str, variant: str = "") -> Path:
        folder = self.root / f"{family}-{head}-{variant}".strip("-")
        if family == "Marian":
            # The language pair is read from the checkpoint name, as for the Hub's.
            folder = self.root / ("opus-mt-en-ROMANCE" if variant == "multi-target" else "opus-mt-en-de")
        if folder.exists():
            return folder
        folder.mkdir(parents=True)
        make_tokenizer, make_config = FAMILIES[family]
        if family == "Marian":
            tokenizer = _marian_tokenizer(folder, MARIAN_TARGETS if variant == "multi-target" else ())
        else:
            if family not in self._tokenizers:
                self._tokenizers[family] = make_tokenizer()
            tokenizer = self._tokenizers[family]
        config = make_config(tokenizer)
        if head == "sequence" and variant != "no-labels":
            config.id2label = dict(SEQUENCE_LABELS)
            config.label2id = {v: k for k, v in SEQUENCE_LABELS.items()}
        elif head == "token" and variant != "no-labels":
            config.id2label = dict(ENTITY_LABELS)
            config.label2id = {v: k for k, v in ENTITY_LABELS.items()}
        elif variant == "no-labels":
            config.num_labels = 3
        if variant == "multi-label":
            config.problem_type = "multi_label_classification"
        torch.manual_seed(0)
        HEADS[head].from_config(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        return folder

    def load(self, family: str, head: str, variant: str = ""):
        """``(model, tokenizer)`` loaded from the saved folder, as from the Hub."""
        from transformers import AutoTokenizer

        folder = self.folder(family, head, variant)
        model = HEADS[head].from_pretrained(folder)
        return model, AutoTokenizer.from_pretrained(folder)
