"""The lecture's model table: which family is which kind, runs which tasks, or is gone."""

from __future__ import annotations

from dataclasses import dataclass

from playground.errors import PlaygroundError

CLASSIFICATION = "classification"
NER = "ner"
EXTRACTIVE_QA = "extractive_qa"
GENERATION = "generation"
SUMMARIZATION = "summarization"
TRANSLATION = "translation"
GENERATIVE_QA = "generative_qa"

ENCODER_TASKS = (CLASSIFICATION, NER, EXTRACTIVE_QA)
TEXT2TEXT_TASKS = (SUMMARIZATION, TRANSLATION, GENERATIVE_QA)

REMOVED_FAMILIES: dict[str, str] = {
    "transfo-xl": (
        "Transformer-XL (model_type 'transfo-xl') was removed from transformers: it was "
        "deprecated in v4.35 and dropped since, so transformers 5 cannot load it. Use GPT-2 "
        "('gpt2') or a modern decoder such as SmolLM2 ('HuggingFaceTB/SmolLM2-135M') instead."
    )
}
"""model_type -> why the playground cannot load it and what to use instead."""


@dataclass(frozen=True)
class LectureFamily:
    """One row of the lecture's model table.

    ``architecture`` is ``"encoder"``, ``"decoder"`` or ``"encoder-decoder"``; ``model_type``
    is the config's; ``tasks`` are what the playground runs on the family; ``removed`` marks a
    family transformers 5 can no longer load.
    """

    architecture: str
    model_type: str
    tasks: tuple[str, ...]
    note: str = ""
    removed: bool = False


LECTURE_TABLE: dict[str, LectureFamily] = {
    "ALBERT": LectureFamily("encoder", "albert", ENCODER_TASKS),
    "BERT": LectureFamily("encoder", "bert", ENCODER_TASKS),
    "DistilBERT": LectureFamily(
        "encoder", "distilbert", ENCODER_TASKS, "No token type ids: [SEP] alone marks the context."
    ),
    "ELECTRA": LectureFamily("encoder", "electra", ENCODER_TASKS, "Heads are fine-tuned on the discriminator."),
    "RoBERTa": LectureFamily("encoder", "roberta", ENCODER_TASKS),
    "CTRL": LectureFamily("decoder", "ctrl", (GENERATION,), "Start the prompt with a control code, e.g. 'Wikipedia'."),
    "GPT": LectureFamily("decoder", "openai-gpt", (GENERATION,)),
    "GPT-2": LectureFamily("decoder", "gpt2", (GENERATION,)),
    "Transformer-XL": LectureFamily(
        "decoder", "transfo-xl", (GENERATION,), REMOVED_FAMILIES["transfo-xl"], removed=True
    ),
    "BART": LectureFamily(
        "encoder-decoder",
        "bart",
        TEXT2TEXT_TASKS,
        "English only: translation and QA need a checkpoint fine-tuned for them.",
    ),
    "T5": LectureFamily("encoder-decoder", "t5", TEXT2TEXT_TASKS, "The task is a text prefix, e.g. 'summarize: '."),
    "Marian": LectureFamily(
        "encoder-decoder",
        "marian",
        (TRANSLATION,),
        "Only translation makes sense: each checkpoint (opus-mt-SRC-TGT) is trained for one fixed language pair.",
    ),
    "mBART": LectureFamily("encoder-decoder", "mbart", TEXT2TEXT_TASKS, "Languages are codes such as en_XX and ro_RO."),
}
"""Family name as the lecture writes it -> its row."""


def check_family_supported(model_type: str) -> None:
    """Raise PlaygroundError if transformers 5 cannot load this model_type (or lecture family)."""
    by_family = {name.lower(): row.model_type for name, row in LECTURE_TABLE.items()}
    key = model_type.strip().lower()
    key = by_family.get(key, key).replace("_", "-")
    if key in REMOVED_FAMILIES:
        raise PlaygroundError(REMOVED_FAMILIES[key])


# --- the seven points of "why models differ" -----------------------------------------------------


@dataclass(frozen=True)
class LecturePoint:
    """One point of the lecture: the preset that makes it, the one that makes it offline, the
    results view it opens (outputs, size, tokens, next, surprise, facts) and what the offline
    preset shows."""

    number: int
    title: str
    preset: str
    offline_preset: str
    view: str
    offline_shows: str


LECTURE_POINTS = (
    LecturePoint(
        1,
        "Model types",
        "model-types",
        "offline-default",
        "outputs",
        "Two decoders write; an encoder writes nothing and gives the cosine similarity of two sentences.",
    ),
    LecturePoint(
        2,
        "Size",
        "gpt2-sizes",
        "size-offline",
        "size",
        "GPT-2's published figures at four sizes, and two packaged models marked as not a size comparison.",
    ),
    LecturePoint(
        3,
        "Tokenizers and vocabulary",
        "tokenizers",
        "tokenizers",
        "tokens",
        "Three tokenizers cut one text into different tokens; bits per byte compares, perplexity does not.",
    ),
    LecturePoint(
        4,
        "Training: base vs instruct",
        "base-vs-instruct",
        "instruct-template-offline",
        "outputs",
        "SmolLM2-Instruct answers inside its chat template and stops at once without it.",
    ),
    LecturePoint(
        5,
        "Decoding",
        "decoding",
        "decoding",
        "next",
        "Greedy next to sampled; the next-token view reads the templated prompt and shades what top-p cuts.",
    ),
    LecturePoint(
        6,
        "Surprise",
        "surprise",
        "surprise",
        "surprise",
        "Bits per word on one scale: 'lumps' and 'granite' light up in both models.",
    ),
    LecturePoint(
        7,
        "Facts and cost",
        "facts-and-cost",
        "offline-default",
        "facts",
        "The facts that differ enough to matter, each with why; training compute from the stated tokens.",
    ),
)
"""The lecture's seven points, in order (README: "Why models differ")."""
