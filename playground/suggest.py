"""'Did you mean …?' for mistyped model names: the packaged models and every preset's models."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from playground.errors import PlaygroundError
from playground.references import ModelRef, looks_like_path, parse_reference


def known_models() -> list[str]:
    """Names a student is likely to mean: packaged models first, then the presets' models."""
    from playground.packaged import packaged_names
    from playground.presets import load_presets

    try:
        preset_models = [m.id for p in load_presets().values() for m in p.models]
    except PlaygroundError:  # a broken preset file must not hide the model message
        preset_models = []
    return list(dict.fromkeys([*packaged_names(), *preset_models]))


def did_you_mean(name: str, choices: Iterable[str] | None = None) -> str:
    """' Did you mean 'x'?' for the closest choice (difflib ratio at least 0.6), else ''."""
    choices = list(known_models() if choices is None else choices)
    if name in choices:
        return ""
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if not close:  # a typo in the name part of owner/name: compare the names alone
        by_name = {c.rsplit("/", 1)[-1]: c for c in choices}
        close = [by_name[m] for m in difflib.get_close_matches(name.rsplit("/", 1)[-1], list(by_name), n=1)]
    return f" Did you mean '{close[0]}'?" if close and close[0] != name else ""


def check_reference(text: str) -> ModelRef:
    """``parse_reference``, with a suggestion added to its message: a folder beside a mistyped folder,
    or a known model name."""
    try:
        return parse_reference(text)
    except PlaygroundError as exc:
        hint = ""
        if isinstance(text, str):
            hint = did_you_mean(text.strip(), sibling_folders(text.strip())) if looks_like_path(text.strip()) else ""
            hint = hint or did_you_mean(text.strip())
        raise PlaygroundError(f"{exc}{hint}") from None


def sibling_folders(text: str) -> list[str]:
    """The folders beside the one a path names (as written: relative stays relative)."""
    parent = Path(text).expanduser().parent
    try:
        names = sorted(p.name for p in parent.iterdir() if p.is_dir())
    except OSError:
        return []
    prefix = text[: len(text) - len(Path(text).name)]
    return [prefix + name for name in names]
