"""Text-to-text with encoder-decoders (T5, BART, Marian, mBART) on AutoModelForSeq2SeqLM.

transformers 5 removed the summarization, translation and text2text pipelines. What they
hid is each family's prompt format, which is the lesson here:

- T5 reads the task as a text prefix: ``"summarize: "``, ``"translate English to German: "``,
  ``"question: ... context: ..."``.
- BART reads plain text; a summarisation checkpoint was fine-tuned to summarise it.
- Marian checkpoints (``opus-mt-SRC-TGT``) translate one fixed pair; only multi-target ones
  take a ``>>fr<<`` prefix to pick the target language.
- mBART names languages by codes (``en_XX``, ``ro_RO``): the tokenizer appends the source
  code, and generation is forced to begin with the target code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase, StoppingCriteria

from playground.errors import PlaygroundError, Stopped, for_visitor
from playground.heads import model_window, require_text
from playground.lecture import GENERATIVE_QA, SUMMARIZATION, TEXT2TEXT_TASKS, TRANSLATION, check_family_supported
from playground.limits import GENERATING, checkpoint

LANGUAGE_NAMES = {
    "ar": "Arabic",
    "cs": "Czech",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fi": "Finnish",
    "fr": "French",
    "hi": "Hindi",
    "it": "Italian",
    "ja": "Japanese",
    "nl": "Dutch",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "tr": "Turkish",
    "zh": "Chinese",
}
"""ISO 639-1 code -> English name, as T5's translation prefixes spell languages."""

T5_TRANSLATION_PAIRS = {("en", "de"), ("en", "fr"), ("en", "ro")}
"""The only directions the original T5 checkpoints were trained to translate."""

# Anywhere in the path, so a Hub cache folder (models--Helsinki-NLP--opus-mt-en-de/...) counts.
_MARIAN_NAME = re.compile(r"opus-mt-(?:tc-(?:big|base)-)?([A-Za-z_]+)-([A-Za-z_]+)(?:/|$)")
_MBART_CODE = re.compile(r"^[a-z]{2}_[A-Z]{2}$")


@dataclass(frozen=True)
class Prompt:
    """What an encoder-decoder is shown for one task.

    ``text`` is the exact string handed to the tokenizer. For mBART, ``src_lang`` is the
    code to set as ``tokenizer.src_lang`` before tokenizing and ``forced_bos_token_id`` the
    target-language code generation must start with; both are None for other families.
    """

    text: str
    src_lang: str | None = None
    forced_bos_token_id: int | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Text2TextResult:
    """Greedy output for one prompt.

    ``prompt`` is the string given to the tokenizer and ``model_input`` the encoder's input
    ids decoded back with special tokens, so language codes and ``</s>`` show.
    ``output_tokens`` counts generated tokens (a forced language code and ``</s>`` included),
    not the decoder start token that ``generate`` puts first.
    """

    output: str
    prompt: str
    model_input: str
    input_tokens: int
    output_tokens: int
    notes: tuple[str, ...] = ()


def language_code(language: str) -> str:
    """ISO 639-1 code for a language name or code: ``German``, ``de``, ``de_DE`` -> ``de``."""
    by_name = {name.lower(): code for code, name in LANGUAGE_NAMES.items()}
    key = language.strip().lower()
    return by_name.get(key, key.split("_")[0])


def marian_pair(name_or_path: str, tokenizer: PreTrainedTokenizerBase) -> tuple[str, str] | None:
    """``(source, target)`` of a Marian checkpoint, or None if nothing says.

    Read from the checkpoint name (``Helsinki-NLP/opus-mt-en-de``), else from the tokenizer's
    ``source_lang``/``target_lang``, which the conversion script set from the folder name.
    """
    match = _MARIAN_NAME.search(name_or_path)
    if match:
        return match.group(1), match.group(2)
    source = getattr(tokenizer, "source_lang", None)
    target = getattr(tokenizer, "target_lang", None)
    # The conversion script stored everything before the target: "opus-mt-en".
    return (source.split("-")[-1], target) if source and target else None


def mbart_language_codes(tokenizer: PreTrainedTokenizerBase) -> tuple[str, ...]:
    """The language codes (``en_XX``, ...) this tokenizer has as tokens, sorted."""
    codes = set(getattr(tokenizer, "lang_code_to_id", None) or ())
    codes |= {t for t in tokenizer.all_special_tokens if _MBART_CODE.match(t)}
    return tuple(sorted(c for c in codes if tokenizer.convert_tokens_to_ids(c) != tokenizer.unk_token_id))


def prepare_text2text(
    config: PretrainedConfig | str,
    tokenizer: PreTrainedTokenizerBase,
    task: str,
    text: str,
    source_lang: str | None = None,
    target_lang: str | None = None,
    question: str | None = None,
) -> Prompt:
    """The prompt ``task`` needs in this family's format (``config`` or its model_type).

    ``text`` is the document to summarise or translate, or the context for ``question``.
    Languages may be names (``German``) or codes (``de``; mBART also ``de_DE``).
    """
    if task not in TEXT2TEXT_TASKS:
        raise PlaygroundError(f"Unknown text-to-text task '{task}'; use one of {TEXT2TEXT_TASKS}.")
    require_text(text, "text" if task != GENERATIVE_QA else "context")
    if task == GENERATIVE_QA:
        require_text(question or "", "question")
        text = f"question: {question} context: {text}"
    model_type = config if isinstance(config, str) else config.model_type
    if task == TRANSLATION and target_lang is None and model_type in {"t5", "mbart"}:
        raise PlaygroundError("Translation needs a target language, e.g. target_lang='German'.")
    if model_type == "t5":
        return _t5_prompt(config, task, text, source_lang or "en", target_lang)
    if model_type == "bart":
        return _bart_prompt(task, text)
    if model_type == "marian":
        name = tokenizer.name_or_path if isinstance(config, str) else config.name_or_path
        return _marian_prompt(name or tokenizer.name_or_path, tokenizer, task, text, source_lang, target_lang)
    if model_type == "mbart":
        return _mbart_prompt(tokenizer, task, text, source_lang or "en_XX", target_lang)
    check_family_supported(model_type)
    raise PlaygroundError(
        f"Text-to-text runs on the encoder-decoders T5, BART, Marian and mBART; "
        f"this model is '{model_type}'. Load one of those families."
    )


def _t5_prompt(
    config: PretrainedConfig | str, task: str, text: str, source_lang: str, target_lang: str | None
) -> Prompt:
    # Checkpoints such as t5-small store their own prefixes; prefer those when present.
    params = getattr(config, "task_specific_params", None) or {}
    if task == SUMMARIZATION:
        return Prompt(params.get("summarization", {}).get("prefix", "summarize: ") + text)
    if task == GENERATIVE_QA:
        return Prompt(text)
    source, target = language_code(source_lang), language_code(target_lang or "")
    default = f"translate {_name(source)} to {_name(target)}: "
    prefix = params.get(f"translation_{source}_to_{target}", {}).get("prefix", default)
    if (source, target) in T5_TRANSLATION_PAIRS:
        return Prompt(prefix + text)
    note = (
        "T5 was trained to translate English into German, French and Romanian only; "
        f"expect poor output for {_name(source)} to {_name(target)}."
    )
    return Prompt(prefix + text, notes=(note,))


def _bart_prompt(task: str, text: str) -> Prompt:
    if task == SUMMARIZATION:
        return Prompt(text)
    note = f"BART was pretrained on English text only: {task} works only with a checkpoint fine-tuned for it."
    return Prompt(text, notes=(note,))


def _marian_prompt(
    name: str,
    tokenizer: PreTrainedTokenizerBase,
    task: str,
    text: str,
    source_lang: str | None,
    target_lang: str | None,
) -> Prompt:
    if task != TRANSLATION:
        raise PlaygroundError(
            f"Marian checkpoints only translate, each between one fixed pair of languages; "
            f"for {task} load a BART or T5 checkpoint."
        )
    pair = marian_pair(name, tokenizer)
    name = _shown_name(name)
    if pair is None:
        note = "The checkpoint's language pair is unknown (its name is not opus-mt-SRC-TGT)."
        return Prompt(text, notes=(note,))
    source, target = (side.lower() for side in pair)
    asked_source = language_code(source_lang) if source_lang else source
    asked_target = language_code(target_lang) if target_lang else target
    # Multi-target checkpoints (opus-mt-en-ROMANCE) pick the language with a >>fr<< token.
    targets = [code[2:-2] for code in getattr(tokenizer, "supported_language_codes", [])]
    if targets:
        if asked_target not in targets:
            raise PlaygroundError(
                f"Marian checkpoint '{name}' translates into several languages, chosen by "
                f"target_lang (got {target_lang!r}); set it to one of: {', '.join(targets[:20])}."
            )
        text = f">>{asked_target}<< {text}"
    # A group name (opus-mt-ROMANCE-en, opus-mt-mul-en) accepts several source languages.
    source_fixed = pair[0].islower() and source != "mul"
    if (source_fixed and asked_source != source) or (not targets and asked_target != target):
        raise PlaygroundError(
            f"Marian checkpoint '{name}' translates {source} to {target} only: a Marian "
            f"model's language pair is fixed when it is trained. You asked for {asked_source} "
            f"to {asked_target}; load Helsinki-NLP/opus-mt-{asked_source}-{asked_target} (if "
            f"that pair exists) or translate {source} to {target}."
        )
    return Prompt(text)


def _mbart_prompt(
    tokenizer: PreTrainedTokenizerBase, task: str, text: str, source_lang: str, target_lang: str | None
) -> Prompt:
    codes = mbart_language_codes(tokenizer)
    if not codes:
        raise PlaygroundError(
            "This tokenizer has no mBART language codes (such as en_XX); load the tokenizer "
            "saved with the mBART checkpoint."
        )
    source = _mbart_code(source_lang, codes, "source")
    # Summaries and answers stay in the source language.
    target = _mbart_code(target_lang, codes, "target") if task == TRANSLATION else source
    return Prompt(text, src_lang=source, forced_bos_token_id=tokenizer.convert_tokens_to_ids(target))


def _mbart_code(language: str | None, codes: tuple[str, ...], side: str) -> str:
    if language in codes:
        return language
    iso = language_code(language or "")
    matches = [code for code in codes if code.split("_")[0] == iso]
    if len(matches) == 1:
        return matches[0]
    raise PlaygroundError(
        f"mBART has no {side} language code '{language}'. Use one of its codes, e.g. "
        f"{', '.join(codes[:10])} ({len(codes)} in all)."
    )


def _shown_name(name_or_path: str) -> str:
    """A checkpoint's name for a message: a Hub id as is; for a folder on the server, only its
    opus-mt-SRC-TGT part, never the server's path."""
    if not name_or_path.startswith(("/", "~", ".")) and ":\\" not in name_or_path:
        return name_or_path
    match = _MARIAN_NAME.search(name_or_path.rstrip("/") + "/")
    return match.group(0).rstrip("/") if match else for_visitor(name_or_path)


def _name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code.capitalize())


def text_to_text(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    task: str,
    text: str,
    source_lang: str | None = None,
    target_lang: str | None = None,
    question: str | None = None,
    max_new_tokens: int = 64,
) -> Text2TextResult:
    """Run ``task`` greedily on an encoder-decoder (``AutoModelForSeq2SeqLM``).

    The prompt comes from :func:`prepare_text2text`; for mBART this sets ``tokenizer.src_lang``,
    which makes the tokenizer append that language code. Input longer than the model window is
    cut to the window, with a note.
    """
    if not model.config.is_encoder_decoder:
        raise PlaygroundError(
            f"'{model.config.model_type}' is not an encoder-decoder; text-to-text needs T5, BART, Marian or mBART."
        )
    if max_new_tokens < 1:
        raise PlaygroundError(f"max_new_tokens must be at least 1 (got {max_new_tokens}).")
    prompt = prepare_text2text(model.config, tokenizer, task, text, source_lang, target_lang, question)
    if prompt.src_lang is not None:
        tokenizer.src_lang = prompt.src_lang
    notes = list(prompt.notes)
    window = model_window(model, tokenizer)
    inputs = tokenizer(prompt.text, truncation=window is not None, max_length=window, return_tensors="pt")
    tokens_total = len(tokenizer(prompt.text, verbose=False)["input_ids"])
    input_tokens = int(inputs["input_ids"].shape[1])
    if tokens_total > input_tokens:
        notes.append(
            f"The input is {tokens_total} tokens but the model reads at most {window}: "
            f"only the first {input_tokens} were used."
        )
    extra = {}
    if prompt.forced_bos_token_id is not None:
        extra["forced_bos_token_id"] = prompt.forced_bos_token_id
    names = [name for name in tokenizer.model_input_names if name in inputs]
    deadline = _DeadlineCriteria()
    with torch.inference_mode():
        sequences = model.generate(
            **{name: inputs[name].to(model.device) for name in names},
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            stopping_criteria=[deadline],
            **extra,
        )
    # generate() returns the decoder start token first; it was not generated.
    generated = sequences[0, 1:].tolist()
    if deadline.stopped is not None:
        raise Stopped(str(deadline.stopped), output=tokenizer.decode(generated, skip_special_tokens=True))
    return Text2TextResult(
        output=tokenizer.decode(generated, skip_special_tokens=True),
        prompt=prompt.text,
        model_input=tokenizer.decode(inputs["input_ids"][0].tolist(), skip_special_tokens=False),
        input_tokens=input_tokens,
        output_tokens=len(generated),
        notes=tuple(notes),
    )


class _DeadlineCriteria(StoppingCriteria):
    """Ends ``generate`` at the next token once the request is past its time limit or cancelled,
    keeping why, so that the text so far can go with the stop."""

    def __init__(self):
        self.stopped: Stopped | None = None

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        try:
            checkpoint(GENERATING)
        except Stopped as stop:
            self.stopped = stop
        return torch.full((input_ids.shape[0],), self.stopped is not None, dtype=torch.bool, device=input_ids.device)
