"""Share links: the settings of one comparison as URL query parameters, so a link reopens it.

The keys are the settings' ``link`` names in ``web.settings.SCHEMA``. Reading a link never fails:
a value that is missing, malformed or out of range falls back to its default (or is cut or
clamped to the range) with a warning that names the parameter, because a link may be hand-edited,
truncated by a chat program, or written by an older version. Warnings quote the link's values
as they are; the page escapes them where it shows them (``web.escape``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import urlencode

from playground.limits import Limits
from web.settings import BY_NAME, LINK, SCHEMA, Setting, Settings

DISPLAY_ONLY = ("projector", "__theme")
"""Query parameters that change how the page looks, not what it compares."""
TRUE = ("1", "true", "yes", "on")


def encode(settings: Settings) -> str:
    """The query string (without '?') of a share link; empty texts and default values are left out."""
    params: dict[str, str] = {}
    for setting in SCHEMA:
        value = getattr(settings, setting.name)
        if setting.link is None or value == setting.default or (isinstance(value, str) and not value.strip()):
            continue
        params[setting.link] = _number_text(value) if isinstance(value, float) else str(value)
    if settings.projector:
        params["projector"] = "1"
        params["__theme"] = "light"  # Gradio reads this one itself and forces its light theme
    return urlencode(params)


def decode(
    query: Mapping[str, str], presets: Mapping[str, object], default_preset: str, limits: Limits | None = None
) -> tuple[Settings, list[str]]:
    """Settings from a page's query parameters, and a warning for each parameter that was ignored,
    cut or clamped. Unknown parameters (``__theme``, tracking tags) are ignored silently."""
    limits = limits or Limits()
    warnings: list[str] = []
    values: dict[str, object] = {"preset": default_preset}
    for name in LINK:
        setting = BY_NAME[name]
        if setting.link is None or setting.link not in query:
            continue
        value = _read(setting, str(query[setting.link]), limits, warnings)
        if value is not None:
            values[name] = value
    if values["preset"] not in presets:
        warnings.append(f"Unknown preset '{_short(str(values['preset']))}' in the link; showing '{default_preset}'.")
        values["preset"] = default_preset
    values["projector"] = str(query.get("projector", "")).strip().lower() in TRUE
    return replace(Settings(), **values), warnings


def link_names_models(settings: Settings) -> bool:
    return any(settings.models)


GENERATION_LINKS = ("max_new_tokens", "decoding", "temperature", "top_p", "seed", "template", "columns")
"""The link keys of the settings inside the page's "Generation settings" box."""


def link_sets_generation(query: Mapping[str, str]) -> bool:
    return any(key in query for key in GENERATION_LINKS)


def link_has_settings(query: Mapping[str, str]) -> bool:
    """True if the query sets anything beyond the display (``projector``, ``__theme``)."""
    return any(BY_NAME[name].link in query for name in LINK if BY_NAME[name].link)


def _read(setting: Setting, raw: str, limits: Limits, warnings: list[str]) -> object | None:
    """One link value as the setting wants it, or None (the default) with a warning."""
    key = setting.link
    if setting.kind == "text":
        most = getattr(limits, setting.capped_by) if setting.capped_by else 500
        if len(raw) > most:
            warnings.append(f"'{key}' in the link has {len(raw):,} characters; kept the first {most:,}.")
        return raw[:most]
    if setting.kind == "choice":
        by_lower = {v.lower(): v for v in setting.values}
        if raw.strip().lower() not in by_lower:
            shown = ", ".join(v or "none" for v in setting.values)
            warnings.append(f"'{key}={_short(raw)}' in the link is not one of {shown}; ignored.")
            return None
        return by_lower[raw.strip().lower()]
    try:
        number = float(raw)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or (setting.kind == "whole" and number != int(number)):
        warnings.append(f"'{key}={_short(raw)}' in the link is not a valid number; using the default.")
        return None
    low, high = setting.bounds(limits)
    clamped = min(max(number, low if low is not None else number), high if high is not None else number)
    if clamped != number:
        warnings.append(
            f"'{key}={_short(raw)}' is outside {_number_text(low)}-{_number_text(high)}; using {_number_text(clamped)}."
        )
    return int(clamped) if setting.kind == "whole" else clamped


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
