"""The settings of one comparison as URL query parameters, so a link reopens the same comparison.

A share link carries the preset, the models, the prompt, the second text and the generation
settings. Reading one never fails: a value that is missing, malformed or out of range falls back
to its default and produces a warning that says which parameter was ignored and why, because a
link may be hand-edited, truncated by a chat program, or written by an older version.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from urllib.parse import urlencode

from playground.compare import MAX_MODELS
from playground.errors import PlaygroundError
from playground.generation import GenerationSettings
from playground.limits import Limits

TEMPLATE_CHOICES = ("Auto", "On", "Off")
DECODING_CHOICES = ("Greedy", "Sampling")
MAX_MODEL_ID_CHARS = 500


@dataclass(frozen=True)
class Range:
    """Bounds of a numeric setting as the page offers it (a subset of what the engine accepts)."""

    low: float
    high: float
    step: float


SETTING_KEYS = ("preset", "model1", "model2", "model3", "prompt", "target", "max_new_tokens", "decoding")
SETTING_KEYS += ("temperature", "top_p", "seed", "template")
RANGES = {
    "max_new_tokens": Range(1, Limits.max_new_tokens, 1),
    "temperature": Range(0.05, 2.0, 0.05),
    "top_p": Range(0.05, 1.0, 0.01),
    "seed": Range(0, 2**31 - 1, 1),
}


@dataclass(frozen=True)
class Settings:
    """Everything the page needs to run a comparison again, as the page holds it."""

    preset: str = ""
    models: tuple[str, ...] = ("", "", "")
    prompt: str = ""
    target: str = ""
    max_new_tokens: int = 48
    decoding: str = "Greedy"
    temperature: float = 0.8
    top_p: float = 0.95
    seed: int = 0
    template: str = "Auto"
    projector: bool = False

    def generation(self) -> GenerationSettings:
        """The engine's generation settings; the chat template is decided per column (see app.py)."""
        return GenerationSettings(
            max_new_tokens=int(self.max_new_tokens),
            do_sample=self.decoding == "Sampling",
            temperature=float(self.temperature),
            top_p=float(self.top_p),
            top_k=0,
            seed=int(self.seed),
            use_chat_template=None,
        )

    def as_dict(self) -> dict:
        """The settings as plain data, for the ``request`` part of the JSON export."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}


def from_inputs(
    *,
    preset: object,
    models: tuple[object, ...],
    prompt: object,
    target: object,
    max_new_tokens: object,
    decoding: object,
    temperature: object,
    top_p: object,
    seed: object,
    template: object,
    projector: object,
) -> Settings:
    """Settings from the page's or an API caller's values, checked for type and choice.

    Ranges are the engine's to check (``GenerationSettings.check``, ``Limits``); here a value of
    the wrong kind (text for a number, an unknown choice) is refused, naming the field.
    """
    default = Settings()
    return Settings(
        preset=_plain_text("preset", preset),
        models=tuple(_plain_text(f"model {i}", m).strip() for i, m in enumerate(models, start=1)),
        prompt=_plain_text("prompt", prompt),
        target=_plain_text("target", target),
        max_new_tokens=int(_given_number("max new tokens", max_new_tokens, default.max_new_tokens, whole=True)),
        decoding=_given_choice("decoding", decoding, DECODING_CHOICES, default.decoding),
        temperature=_given_number("temperature", temperature, default.temperature),
        top_p=_given_number("top-p", top_p, default.top_p),
        seed=int(_given_number("seed", seed, default.seed, whole=True, low=0, high=RANGES["seed"].high)),
        template=_given_choice("chat template", template, TEMPLATE_CHOICES, default.template),
        projector=bool(projector),
    )


def _plain_text(name: str, value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PlaygroundError(f"The {name} must be text (got {type(value).__name__}).")
    return value


def _given_number(
    name: str,
    value: object,
    default: float,
    *,
    whole: bool = False,
    low: float | None = None,
    high: float | None = None,
) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PlaygroundError(f"The {name} must be a number (got {type(value).__name__}).")
    try:
        number = float(value)
    except ValueError:
        raise PlaygroundError(f"The {name} must be a number (got '{_short(str(value))}').") from None
    if not math.isfinite(number) or (whole and number != int(number)):
        raise PlaygroundError(f"The {name} must be a {'whole ' if whole else ''}number (got {_short(str(value))}).")
    if (low is not None and number < low) or (high is not None and number > high):
        raise PlaygroundError(f"The {name} must be between {_number_text(low)} and {_number_text(high)} (got {value}).")
    return number


def _given_choice(name: str, value: object, choices: tuple[str, ...], default: str) -> str:
    if value is None or value == "":
        return default
    by_lower = {c.lower(): c for c in choices}
    if not isinstance(value, str) or value.strip().lower() not in by_lower:
        raise PlaygroundError(f"The {name} must be one of {', '.join(choices)} (got '{_short(str(value))}').")
    return by_lower[value.strip().lower()]


def encode(settings: Settings) -> str:
    """The query string (without '?') of a share link; empty texts and default values are left out."""
    default = Settings()
    params: dict[str, str] = {}
    if settings.preset:
        params["preset"] = settings.preset
    for i, model in enumerate(settings.models, start=1):
        if model.strip():
            params[f"model{i}"] = model.strip()
    for name in ("prompt", "target"):
        if getattr(settings, name):
            params[name] = getattr(settings, name)
    for name in ("max_new_tokens", "decoding", "temperature", "top_p", "seed", "template"):
        value = getattr(settings, name)
        if value != getattr(default, name):
            params[name] = _number_text(value) if isinstance(value, float) else str(value)
    if settings.projector:
        params["projector"] = "1"
        params["__theme"] = "light"  # Gradio reads this one itself and forces its light theme
    return urlencode(params)


def decode(
    query: Mapping[str, str], presets: Mapping[str, object], default_preset: str, limits: Limits | None = None
) -> tuple[Settings, list[str]]:
    """Settings from a page's query parameters, and a warning for each parameter that was ignored.

    Models are taken from the link when it names any; otherwise the caller fills them from the
    preset. Unknown parameters (``__theme``, tracking tags) are ignored silently.
    """
    limits = limits or Limits()
    ranges = RANGES | {"max_new_tokens": Range(1, limits.max_new_tokens, 1)}
    warnings: list[str] = []
    settings = Settings(preset=default_preset)
    preset = query.get("preset")
    if preset is not None:
        if preset in presets:
            settings = replace(settings, preset=preset)
        else:
            warnings.append(f"Unknown preset '{_short(preset)}' in the link; showing '{default_preset}' instead.")
    models = [_text(query, f"model{i}", MAX_MODEL_ID_CHARS, warnings) for i in range(1, MAX_MODELS + 1)]
    settings = replace(settings, models=tuple(models))
    settings = replace(
        settings,
        prompt=_text(query, "prompt", limits.max_prompt_chars, warnings),
        target=_text(query, "target", limits.max_prompt_chars, warnings),
    )
    for name in ("max_new_tokens", "seed"):
        value = _number(query, name, ranges[name], warnings, integer=True)
        if value is not None:
            settings = replace(settings, **{name: int(value)})
    for name in ("temperature", "top_p"):
        value = _number(query, name, ranges[name], warnings, integer=False)
        if value is not None:
            settings = replace(settings, **{name: value})
    settings = replace(
        settings,
        decoding=_choice(query, "decoding", DECODING_CHOICES, settings.decoding, warnings),
        template=_choice(query, "template", TEMPLATE_CHOICES, settings.template, warnings),
        projector=query.get("projector", "").strip().lower() in ("1", "true", "yes", "on"),
    )
    return settings, warnings


def link_names_models(settings: Settings) -> bool:
    return any(m.strip() for m in settings.models)


def link_has_settings(query: Mapping[str, str]) -> bool:
    """True if the query sets anything beyond the display (``projector``, ``__theme``)."""
    return any(name in query for name in SETTING_KEYS)


def _text(query: Mapping[str, str], name: str, limit: int, warnings: list[str]) -> str:
    value = query.get(name, "")
    if len(value) > limit:
        warnings.append(f"'{name}' in the link has {len(value):,} characters; kept the first {limit:,}.")
        value = value[:limit]
    return value


def _number(query: Mapping[str, str], name: str, bounds: Range, warnings: list[str], *, integer: bool) -> float | None:
    if name not in query:
        return None
    try:
        value = float(query[name])
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (integer and value != int(value)):
        warnings.append(f"'{name}={_short(query[name])}' in the link is not a valid number; using the default.")
        return None
    if not bounds.low <= value <= bounds.high:
        clamped = min(max(value, bounds.low), bounds.high)
        warnings.append(
            f"'{name}={_short(query[name])}' is outside {_number_text(bounds.low)}-{_number_text(bounds.high)}; "
            f"using {_number_text(clamped)}."
        )
        value = clamped
    return value


def _choice(query: Mapping[str, str], name: str, choices: tuple[str, ...], default: str, warnings: list[str]) -> str:
    if name not in query:
        return default
    by_lower = {c.lower(): c for c in choices}
    value = by_lower.get(query[name].strip().lower())
    if value is None:
        warnings.append(f"'{name}={_short(query[name])}' in the link is not one of {', '.join(choices)}; ignored.")
        return default
    return value


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
