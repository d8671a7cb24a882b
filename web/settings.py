"""The page's settings, spelled once.

Each ``Setting`` holds a name (the Settings field and the API parameter), the label the page
shows, its kind, default, range or choices, and its share-link key. From this one table come:

- the page's input components (``Setting.component``),
- the API parameters of /run, /compare, /load_models, /share_link and the teaching endpoints
  (the events pass the components by these names; ``api_signature`` gives /compare its own),
- the share link (``web.share``),
- and the checks: ``parse`` is the one place where a value from the page or an API client is
  checked for its type, range and choices, with a message that names the setting. Gradio's own
  component checks are off for these events (``preprocess=False``), so there is one guard.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, make_dataclass
from typing import Literal

import gradio as gr

from playground.compare import MAX_MODELS
from playground.compute import ACCELERATORS
from playground.distribution import DEFAULT_TEMPERATURE, DEFAULT_TOP_P, MAX_CANDIDATES
from playground.errors import PlaygroundError
from playground.generation import GenerationSettings
from playground.lecture import TEXT2TEXT_TASKS
from playground.limits import Limits

Kind = Literal["text", "number", "whole", "choice", "flag"]
COLUMN_DECODING = ("Same for every column", "Column 1 greedy, the others sampled")
TASKS = (("none — plain text", ""), *((task.replace("_", " ").replace("qa", "QA"), task) for task in TEXT2TEXT_TASKS))
MAX_MODEL_ID_CHARS = 500


@dataclass(frozen=True)
class Setting:
    """One setting of the page. ``capped_by`` names the ``Limits`` field that bounds it: the most
    characters of a text, or the highest value of a number (the deployment's own limit)."""

    name: str
    label: str
    kind: Kind
    default: object
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple = ()  # values, or (label, value) pairs
    link: str | None = None  # share-link key; None: not in a link
    info: str = ""
    capped_by: str | None = None

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(c[1] if isinstance(c, tuple) else c for c in self.choices)

    def bounds(self, limits: Limits) -> tuple[float | None, float | None]:
        high = getattr(limits, self.capped_by) if self.capped_by and self.kind != "text" else self.high
        return self.low, high

    def parse(self, value: object, limits: Limits) -> object:
        """The value checked for this setting, or a PlaygroundError that names it. None (an empty
        box, a parameter left out) is the default."""
        if value is None:
            return self.default
        if self.kind == "text":
            return self._text(value, limits)
        if self.kind == "flag":
            if not isinstance(value, bool):
                raise PlaygroundError(f"The {self.label} must be true or false (got {_short(value)}).")
            return value
        if self.kind == "choice":
            if not isinstance(value, str) or value.strip() not in self.values:
                shown = ", ".join(f"'{v}'" for v in self.values)
                raise PlaygroundError(f"The {self.label} must be one of {shown} (got {_short(value)}).")
            return value.strip()
        return self._number(value, limits)

    def _text(self, value: object, limits: Limits) -> str:
        if not isinstance(value, str):
            raise PlaygroundError(f"The {self.label} must be text (got {type(value).__name__}).")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise PlaygroundError(
                f"The {self.label} is not valid text: character {exc.start + 1} is a lone surrogate, half of "
                "a character. Paste the text again."
            ) from None
        most = getattr(limits, self.capped_by) if self.capped_by else MAX_MODEL_ID_CHARS
        if len(value) > most:
            raise PlaygroundError(f"The {self.label} has {len(value):,} characters; the limit is {most:,}. Shorten it.")
        return value

    def _number(self, value: object, limits: Limits) -> float | int:
        """The one finite-number guard: text, booleans, NaN and infinities are refused by name."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise PlaygroundError(f"The {self.label} must be a finite number (got {_short(value)}).")
        whole = self.kind == "whole"
        if whole and value != int(value):
            raise PlaygroundError(f"The {self.label} must be a whole number (got {value:g}).")
        low, high = self.bounds(limits)
        if (low is not None and value < low) or (high is not None and value > high):
            raise PlaygroundError(
                f"The {self.label} must be between {_number_text(low)} and {_number_text(high)} here "
                f"(got {_number_text(value)})."
            )
        return int(value) if whole else float(value)

    def component(self, limits: Limits, **layout) -> gr.components.Component:
        """The page's input for this setting; ``layout`` adds sizes and places (scale, min_width, lines)."""
        common = {"label": self.label[:1].upper() + self.label[1:], "value": self.default}
        common |= {"info": self.info} if self.info else {}
        common |= {"elem_id": "pg-" + self.name.replace("_", "-")} | layout
        if self.kind == "text":
            return gr.Textbox(**({"max_lines": 1} | common))
        if self.kind == "flag":
            return gr.Checkbox(**common)
        if self.kind == "choice":
            return gr.Radio(list(self.choices), **common)
        low, high = self.bounds(limits)
        common = {"minimum": low, "maximum": high} | common
        low, high = common["minimum"], common["maximum"]
        if low is not None and high is not None and high - low <= 10_000:
            return gr.Slider(**({"step": self.step} | common))
        return gr.Number(**({"precision": 0 if self.kind == "whole" else None} | common))


def _models() -> tuple[Setting, ...]:
    label = "packaged name, Hub id (owner/name) or local folder"
    return tuple(
        Setting(f"model_{i}", f"model {i}", "text", "", link=f"model{i}", info=label if i == 1 else "")
        for i in range(1, MAX_MODELS + 1)
    )


SCHEMA: tuple[Setting, ...] = (
    Setting("preset", "preset", "text", "", link="preset"),
    *_models(),
    Setting("prompt", "prompt", "text", "", link="prompt", capped_by="max_prompt_chars"),
    Setting("target", "target", "text", "", link="target", capped_by="max_prompt_chars"),
    Setting(
        "max_new_tokens", "max new tokens", "whole", 48, 1, None, 1, link="max_new_tokens", capped_by="max_new_tokens"
    ),
    Setting("decoding", "decoding", "choice", "Greedy", choices=("Greedy", "Sampling"), link="decoding"),
    Setting("temperature", "temperature", "number", 0.8, 0.05, 2.0, 0.05, link="temperature", info="sampling only"),
    Setting("top_p", "top-p", "number", 0.95, 0.05, 1.0, 0.01, link="top_p", info="sampling only"),
    Setting("seed", "seed", "whole", 0, 0, 2**31 - 1, 1, link="seed"),
    Setting(
        "chat_template", "chat template", "choice", "Auto", choices=("Auto", "On", "Off"), link="template",
        info="Auto: instruct models use theirs",
    ),
    Setting(
        "column_decoding", "columns", "choice", COLUMN_DECODING[0], choices=COLUMN_DECODING, link="columns",
        info="Greedy next to sampled: the sampled columns use the temperature, top-p and seed here.",
    ),
    Setting(
        "task", "encoder-decoder task", "choice", "", choices=TASKS, link="task",
        info="T5 gets a prefix, Marian a language pair, mBART language codes; other kinds ignore it.",
    ),
    Setting("source_lang", "source language", "text", "", link="source"),
    Setting("target_lang", "target language", "text", "", link="target_lang"),
    Setting("projector", "projector mode", "flag", False),
    # The next-token view's own controls, and the training-cost estimate's.
    Setting("position", "position (characters)", "whole", 0, 0, None, 1, capped_by="max_prompt_chars"),
    # The next-token view opens at settings that cut something on the lecture prompts (docs/teaching.md).
    Setting("next_temperature", "temperature", "number", DEFAULT_TEMPERATURE, 0.05, 2.0, 0.05),
    Setting("next_top_p", "top-p", "number", DEFAULT_TOP_P, 0.05, 1.0, 0.01),
    Setting("next_top_k", "top-k", "whole", 0, 0, MAX_CANDIDATES, 1, info="0 keeps every token"),
    Setting("training_tokens", "training tokens", "text", "", info="as published, or e.g. 300B"),
    Setting("accelerator", "accelerator", "choice", "A100", choices=tuple(ACCELERATORS)),
    Setting("gpus", "number of GPUs", "whole", 32, 1, 1_000_000, 1),
    Setting("utilisation", "utilisation (MFU)", "number", 0.4, 0.05, 1.0, 0.05),
)  # fmt: skip
BY_NAME = {s.name: s for s in SCHEMA}
MODELS = tuple(f"model_{i}" for i in range(1, MAX_MODELS + 1))
RUN = ("preset", *MODELS, "prompt", "target", "max_new_tokens", "decoding", "temperature", "top_p", "seed")
RUN += ("chat_template", "column_decoding", "task", "source_lang", "target_lang")
"""The settings of one comparison: the inputs of Run, /run and /compare."""
LINK = tuple(s.name for s in SCHEMA if s.link) + ("projector",)
"""What a share link carries: the comparison and the display mode."""
LOAD = ("preset", *MODELS)
NEXT = (*MODELS, "prompt", "position", "next_temperature", "next_top_p", "next_top_k")
COST = ("preset", *MODELS, "training_tokens", "accelerator", "gpus", "utilisation")


class _SettingsMethods:
    """What the page reads from its settings beyond single values."""

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(getattr(self, name).strip() for name in MODELS)

    def generation(self) -> GenerationSettings:
        """The engine's generation settings; the chat template and greedy/sampled are per column."""
        return GenerationSettings(
            max_new_tokens=self.max_new_tokens,
            do_sample=self.decoding == "Sampling",
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=0,
            seed=self.seed,
            use_chat_template=None,
        )

    def as_dict(self, names: Iterable[str] = RUN) -> dict:
        """The settings as plain data, for the ``request`` part of the JSON export."""
        return {name: getattr(self, name) for name in names}


_PYTHON_TYPES = {"text": str, "number": float, "whole": int, "choice": str, "flag": bool}
Settings = make_dataclass(
    "Settings",
    [(s.name, _PYTHON_TYPES[s.kind], field(default=s.default)) for s in SCHEMA],
    bases=(_SettingsMethods,),
    frozen=True,
)
Settings.__doc__ = "Every setting of the page, one field per ``SCHEMA`` entry, with its default."


def parse(values: Mapping[str, object], limits: Limits, names: Iterable[str] | None = None) -> Settings:
    """Settings from the page's or an API caller's values by name: each checked by its ``Setting``;
    a name not given keeps its default. A wrong value is a PlaygroundError naming the setting."""
    wanted = set(values) if names is None else set(names)
    unknown = wanted - BY_NAME.keys()
    if unknown:
        raise PlaygroundError(f"Unknown setting '{sorted(unknown)[0]}'.")
    return Settings(**{name: BY_NAME[name].parse(values.get(name), limits) for name in wanted})


def api_signature(names: Iterable[str], limits: Limits) -> Callable[[Callable], Callable]:
    """Give a handler that takes ``**values`` the parameters of ``names`` (with types and defaults),
    for ``gr.api``, which names and types an endpoint's parameters after its function's."""
    parameters = [
        inspect.Parameter(
            name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=BY_NAME[name].default,
            annotation=_PYTHON_TYPES[BY_NAME[name].kind],
        )
        for name in names
    ]

    def decorate(handler: Callable) -> Callable:
        def endpoint(*args, **kwargs) -> dict:
            return handler(**dict(zip((p.name for p in parameters), args, strict=False)), **kwargs)

        endpoint.__signature__ = inspect.Signature(parameters, return_annotation=dict)
        endpoint.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": dict}
        endpoint.__doc__, endpoint.__name__ = handler.__doc__, handler.__name__
        return endpoint

    return decorate


def _number_text(value: float | None) -> str:
    if value is None:
        return "any"
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _short(value: object, limit: int = 40) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[:limit] + "…"
