"""What a user may type to name a model, and what it resolves to.

Three sources, one loading path: a packaged offline model (``smollm2-135m-instruct``), a local
folder written by ``save_pretrained`` (``./my-model``), or a Hugging Face Hub id with an optional
revision (``openai-community/gpt2@main``). All of them end in ``from_pretrained``.

A folder is always named as the user typed it, never by the server path it resolves to. Outside
the places models are kept (the working directory, or ``$PLAYGROUND_MODEL_DIRS``; hidden folders
never count), a folder that does not exist, cannot be read or holds no model gets one and the same
message, so that a visitor of a shared page cannot probe the server's disk with the model field.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from playground.errors import PlaygroundError, shown
from playground.packaged import PACKAGED, packaged_names

Source = Literal["packaged", "local", "hub", "remote"]

# Hub repo ids: "name" or "owner/name", letters, digits, '-', '_', '.', at most 96 characters
# each part; checked before any network call so that a typo or an injected path never reaches it.
_HUB_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$")
_REVISION = re.compile(r"^[\w./-]{1,128}$")
# The NAME of a remote:NAME column: it becomes part of environment variable names.
REMOTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference: where the weights come from and under which name."""

    source: Source
    name: str  # a local folder's resolved path: for loading, never shown
    revision: str | None = None
    typed: str | None = None  # a local folder as the user typed it

    @property
    def label(self) -> str:
        """The name shown in tables, columns and messages."""
        if self.source == "remote":
            return f"remote:{self.name}"
        if self.source == "local":
            return self.typed or self.name
        return f"{self.name}@{self.revision}" if self.revision else self.name


def existing_folder(text: str) -> Path | None:
    """The folder the text names, if it is one; None for anything else, however malformed."""
    try:
        folder = Path(text).expanduser()
        return folder if folder.is_dir() else None
    except (OSError, ValueError, RuntimeError):  # too long, a NUL byte, or "~user" with no such user
        return None


def model_places() -> list[Path]:
    """Folders where models are kept: $PLAYGROUND_MODEL_DIRS (separated by the system's path
    separator), else the working directory. Messages about a folder inside them may say what is
    wrong with it; about any other folder they say only that it is not a model folder."""
    if env := os.environ.get("PLAYGROUND_MODEL_DIRS"):
        return [Path(part).expanduser().resolve() for part in env.split(os.pathsep) if part.strip()]
    return [Path.cwd().resolve()]


def in_model_places(folder: Path) -> bool:
    """True if the resolved folder lies in one of ``model_places`` and no part of it is hidden."""
    for place in model_places():
        try:
            inside = folder.relative_to(place)
        except ValueError:
            continue
        return not any(part.startswith(".") for part in inside.parts)
    return False


def not_a_model_folder(typed: str) -> PlaygroundError:
    """The one message for a folder outside the model places that cannot be loaded, whatever the reason."""
    return PlaygroundError(
        f"'{shown(typed)}' is not a model folder the playground can read. Give a folder written by "
        "save_pretrained (config.json and weights), a Hub id, or one of the " + _offline_hint()
    )


def looks_like_path(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~")) or existing_folder(text) is not None


def parse_reference(text: str) -> ModelRef:
    """Parse what a user typed into a ModelRef, or raise PlaygroundError saying why not."""
    if not isinstance(text, str) or not text.strip():
        raise PlaygroundError("No model given: type a Hub id, a local folder or one of the " + _offline_hint())
    text = text.strip()
    if text.startswith("remote:"):
        name = text.removeprefix("remote:").strip()
        if not REMOTE_NAME.match(name):
            raise PlaygroundError(
                f"'{shown(text)}' is not a valid remote column: write remote:NAME "
                "(letters, digits, '-' or '_'), the NAME of a server configured by PLAYGROUND_REMOTE_<NAME>_URL."
            )
        return ModelRef("remote", name)
    if text.startswith("packaged:"):
        text = text.removeprefix("packaged:")
        if text not in PACKAGED:
            raise PlaygroundError(
                f"Unknown packaged model '{shown(text)}'. Packaged models: {', '.join(packaged_names())}."
            )
    if text in PACKAGED:
        return ModelRef("packaged", text)
    if looks_like_path(text):
        return ModelRef("local", str(_model_folder(text)), typed=text)
    repo, _, revision = text.partition("@")
    if not _HUB_ID.match(repo) or ".." in repo:
        raise PlaygroundError(
            f"'{shown(text)}' is not a valid model id: use 'owner/name' (letters, digits, '-', '_', '.'), "
            f"a local folder, or one of the {_offline_hint()}"
        )
    if revision and (not _REVISION.match(revision) or ".." in revision):
        raise PlaygroundError(f"'{shown(revision)}' is not a valid revision: use a branch, tag or commit hash.")
    return ModelRef("hub", repo, revision or None)


def _model_folder(typed: str) -> Path:
    """The resolved folder a typed path names, if it holds a model; else the message to show."""
    try:
        folder = Path(typed).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):  # "~user" with no such user, a NUL byte, a symlink loop
        raise not_a_model_folder(typed) from None
    if _readable_config(folder):
        return folder
    if not in_model_places(folder):
        raise not_a_model_folder(typed)
    if not folder.is_dir():
        raise PlaygroundError(f"Folder '{shown(typed)}' does not exist. Give a folder written by save_pretrained.")
    raise PlaygroundError(
        f"Folder '{shown(typed)}' holds no model (no config.json). Give a folder written by save_pretrained."
    )


def _readable_config(folder: Path) -> bool:
    config = folder / "config.json"
    try:
        return config.is_file() and os.access(config, os.R_OK)
    except (OSError, ValueError):
        return False


def _offline_hint() -> str:
    return "models available offline: " + ", ".join(packaged_names()) + "."
