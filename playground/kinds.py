"""Model kinds, read from a config, and what each kind can do.

The kind decides the task: a decoder continues text and scores it left to right; an
encoder-decoder turns a source into a target; an encoder with a masked-LM head fills blanks; an
encoder without a head turns text into vectors; encoders with task heads classify, tag or extract.
"""

from __future__ import annotations

from enum import StrEnum

# Imported here, at module import, on purpose: transformers resolves these names lazily on first
# access, and that first access is not thread-safe when two models load in parallel threads.
from transformers import (
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoModelForQuestionAnswering,
    AutoModelForSeq2SeqLM,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
)
from transformers.models.auto.modeling_auto import (
    MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
    MODEL_FOR_MASKED_LM_MAPPING_NAMES,
)


class Kind(StrEnum):
    DECODER = "decoder"
    ENCODER_DECODER = "encoder-decoder"
    MASKED_LM = "encoder (masked LM)"
    ENCODER = "encoder (embeddings)"
    CLASSIFIER = "encoder (classifier)"
    TOKEN_CLASSIFIER = "encoder (token classifier)"
    QUESTION_ANSWERING = "encoder (extractive QA)"

    @property
    def sees(self) -> str:
        """One line on what the architecture attends to, for students."""
        return SEES[self]


SEES = {
    Kind.DECODER: "left-to-right: each token sees only the tokens before it, so it can write text one token at a time",
    Kind.ENCODER_DECODER: "encode-then-decode: the encoder reads the whole source both ways, the decoder writes "
    "the target left to right while looking at it (translation, summaries, answers)",
    Kind.MASKED_LM: "bidirectional: every token sees the whole sentence, so it fills blanks but cannot write on",
    Kind.ENCODER: "bidirectional: the whole sentence becomes one vector, good for similarity and search",
    Kind.CLASSIFIER: "bidirectional: the whole text feeds one label decision",
    Kind.TOKEN_CLASSIFIER: "bidirectional: every token gets a label, using context on both sides",
    Kind.QUESTION_ANSWERING: "bidirectional: question and context together, pointing at an answer span",
}

# Head classes by the suffix of the architecture name that save_pretrained records.
_SUFFIXES = [
    ("ForCausalLM", Kind.DECODER),
    ("LMHeadModel", Kind.DECODER),
    ("ForConditionalGeneration", Kind.ENCODER_DECODER),
    ("ForMaskedLM", Kind.MASKED_LM),
    ("ForPreTraining", Kind.MASKED_LM),
    ("ForSequenceClassification", Kind.CLASSIFIER),
    ("ForTokenClassification", Kind.TOKEN_CLASSIFIER),
    ("ForQuestionAnswering", Kind.QUESTION_ANSWERING),
]


def detect_kind(config) -> Kind:
    """Decide the kind from a transformers config: its recorded head class first, then its type."""
    encoder_decoder = bool(getattr(config, "is_encoder_decoder", False))
    for arch in getattr(config, "architectures", None) or []:
        for suffix, kind in _SUFFIXES:
            if arch.endswith(suffix):
                if kind is Kind.DECODER and encoder_decoder:
                    return Kind.ENCODER_DECODER
                if kind is Kind.ENCODER_DECODER and not encoder_decoder:
                    return Kind.DECODER  # e.g. multimodal decoders named ...ForConditionalGeneration
                return kind
        if arch.endswith("Model"):
            return Kind.ENCODER_DECODER if encoder_decoder else _by_type(config)
    return Kind.ENCODER_DECODER if encoder_decoder else _by_type(config)


def _by_type(config) -> Kind:
    """No head recorded: a bare backbone. Decoder-only types still generate; encoders embed."""

    model_type = getattr(config, "model_type", "")
    if model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        return Kind.DECODER
    return Kind.ENCODER


def auto_class(kind: Kind):
    """The transformers Auto class that loads a model of this kind with its head."""
    return {
        Kind.DECODER: AutoModelForCausalLM,
        Kind.ENCODER_DECODER: AutoModelForSeq2SeqLM,
        Kind.MASKED_LM: AutoModelForMaskedLM,
        Kind.ENCODER: AutoModel,
        Kind.CLASSIFIER: AutoModelForSequenceClassification,
        Kind.TOKEN_CLASSIFIER: AutoModelForTokenClassification,
        Kind.QUESTION_ANSWERING: AutoModelForQuestionAnswering,
    }[kind]
