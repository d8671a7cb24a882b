"""Presets: named sets of two or three models, example prompts and notes for students.

A preset is a YAML file in ``presets/``. Loading checks every key and value and names the file
and key that is wrong, so a lecturer editing a preset before class sees at once what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from playground.compare import MAX_MODELS, MIN_MODELS, Column
from playground.errors import PlaygroundError
from playground.lecture import TEXT2TEXT_TASKS
from playground.suggest import did_you_mean


def _preset_dir() -> Path:
    """The preset folder: inside the installed package (the wheel ships ``presets/`` as
    ``playground/presets_data``, see setup.py), else ``presets/`` beside the package in a checkout."""
    installed = resources.files("playground") / "presets_data"
    if installed.is_dir():
        return Path(str(installed))
    return Path(__file__).resolve().parent.parent / "presets"


PRESET_DIR = _preset_dir()
DEFAULT_PRESET = "offline-default"
_TOP_KEYS = {
    "title",
    "purpose",
    "models",
    "prompts",
    "notes",
    "offline",
    "offline_alternative",
    "target",
    "order",
    "task",
    "source_lang",
    "target_lang",
}
_MODEL_KEYS = {"id", "note", "use_chat_template", "do_sample", "training", "source"}


@dataclass(frozen=True)
class PresetModel:
    id: str
    note: str = ""
    use_chat_template: bool | None = None
    do_sample: bool | None = None  # None: the request's decoding; the decoding preset sets it per column
    training: str = ""  # what the preset states about training (tokens, data, licence)
    source: str = ""  # where that statement comes from

    @property
    def column(self) -> Column:
        return Column(self.id, self.use_chat_template, self.do_sample)


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    purpose: str
    models: list[PresetModel]
    prompts: list[str]
    notes: str = ""
    offline: bool = False
    offline_alternative: str = ""
    target: str = ""
    order: int = 100
    task: str = ""  # encoder-decoders: summarization, translation or generative_qa
    source_lang: str = ""
    target_lang: str = ""
    path: Path = field(default=Path(), compare=False)

    @property
    def columns(self) -> list[Column]:
        return [m.column for m in self.models]


def _fail(path: Path, key: str, message: str) -> PlaygroundError:
    return PlaygroundError(f"Preset {path.name}: '{key}' {message}")


def _text(path: Path, data: dict, key: str, required: bool = False) -> str:
    value = data.get(key, "")
    if required and not value:
        raise _fail(path, key, "is required: give it a short text.")
    if not isinstance(value, str):
        raise _fail(path, key, f"must be text, not {type(value).__name__}.")
    return value.strip()


def _model(path: Path, index: int, item) -> PresetModel:
    where = f"models[{index}]"
    if isinstance(item, str):
        item = {"id": item}
    if not isinstance(item, dict):
        raise _fail(path, where, "must be a model id or a mapping with an 'id'.")
    unknown = set(item) - _MODEL_KEYS
    if unknown:
        raise _fail(
            path,
            f"{where}.{sorted(unknown)[0]}",
            f"is not a known key; use {', '.join(sorted(_MODEL_KEYS))}.",
        )
    if not isinstance(item.get("id"), str) or not item["id"].strip():
        raise _fail(
            path,
            f"{where}.id",
            "is required: a Hub id, a local folder or a packaged model name.",
        )
    choices = {key: item.get(key) for key in ("use_chat_template", "do_sample")}
    for key, value in choices.items():
        if value is not None and not isinstance(value, bool):
            raise _fail(path, f"{where}.{key}", "must be true or false.")
    texts = {k: _text(path, item, k) for k in ("note", "training", "source")}
    return PresetModel(item["id"].strip(), **choices, **texts)


def _task(path: Path, data: dict) -> str:
    task = _text(path, data, "task")
    if task and task not in TEXT2TEXT_TASKS:
        raise _fail(path, "task", f"must be one of {', '.join(TEXT2TEXT_TASKS)} (got '{task}').")
    return task


def load_preset(path: Path) -> Preset:
    """Read and validate one preset file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PlaygroundError(f"Preset {path.name} could not be read: {exc}") from exc
    if not isinstance(data, dict):
        raise PlaygroundError(f"Preset {path.name} must be a mapping of keys (title, purpose, models, prompts).")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise _fail(
            path,
            sorted(unknown)[0],
            f"is not a known key; use {', '.join(sorted(_TOP_KEYS))}.",
        )
    models = data.get("models")
    if not isinstance(models, list) or not MIN_MODELS <= len(models) <= MAX_MODELS:
        count = len(models) if isinstance(models, list) else 0
        raise _fail(
            path,
            "models",
            f"must list {MIN_MODELS} or {MAX_MODELS} models (found {count}).",
        )
    prompts = data.get("prompts")
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) and p.strip() for p in prompts):
        raise _fail(path, "prompts", "must be a list of at least one non-empty example prompt.")
    for key in ("offline",):
        if not isinstance(data.get(key, False), bool):
            raise _fail(path, key, "must be true or false.")
    order = data.get("order", 100)
    if not isinstance(order, int) or isinstance(order, bool):
        raise _fail(path, "order", "must be a whole number.")
    return Preset(
        name=path.stem,
        title=_text(path, data, "title", required=True),
        purpose=_text(path, data, "purpose", required=True),
        models=[_model(path, i, m) for i, m in enumerate(models)],
        prompts=[p.strip() for p in prompts],
        notes=_text(path, data, "notes"),
        offline=data.get("offline", False),
        offline_alternative=_text(path, data, "offline_alternative"),
        target=_text(path, data, "target"),
        order=order,
        task=_task(path, data),
        source_lang=_text(path, data, "source_lang"),
        target_lang=_text(path, data, "target_lang"),
        path=path,
    )


def load_presets(folder: Path = PRESET_DIR) -> dict[str, Preset]:
    """Every preset in the folder, by name (file name without .yaml), in their stated order."""
    presets = [load_preset(p) for p in sorted(folder.glob("*.yaml"))]
    return {p.name: p for p in sorted(presets, key=lambda p: (p.order, p.name))}


def get_preset(name: str, folder: Path = PRESET_DIR) -> Preset:
    path = folder / f"{name}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in folder.glob("*.yaml"))
        raise PlaygroundError(f"Unknown preset '{name}'.{did_you_mean(name, names)} Presets: {', '.join(names)}.")
    return load_preset(path)
