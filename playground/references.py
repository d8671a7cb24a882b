"""What a user may type to name a model, and what it resolves to.

Three sources, one loading path: a packaged offline model (``smollm2-135m-instruct``), a local
folder written by ``save_pretrained`` (``./my-model``), or a Hugging Face Hub id with an optional
revision (``openai-community/gpt2@main``). All of them end in ``from_pretrained``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from playground.errors import PlaygroundError
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
    name: str
    revision: str | None = None

    @property
    def label(self) -> str:
        """The name shown in tables and columns."""
        if self.source == "remote":
            return f"remote:{self.name}"
        return f"{self.name}@{self.revision}" if self.revision else self.name


def existing_folder(text: str) -> Path | None:
    """The folder the text names, if it is one; None for anything else, however malformed."""
    try:
        folder = Path(text).expanduser()
        return folder if folder.is_dir() else None
    except (OSError, ValueError, RuntimeError):  # too long, a NUL byte, or "~user" with no such user
        return None


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
                f"'{_shorten(text)}' is not a valid remote column: write remote:NAME "
                "(letters, digits, '-' or '_'), the NAME of a server configured by PLAYGROUND_REMOTE_<NAME>_URL."
            )
        return ModelRef("remote", name)
    if text.startswith("packaged:"):
        text = text.removeprefix("packaged:")
        if text not in PACKAGED:
            raise PlaygroundError(f"Unknown packaged model '{text}'. Packaged models: {', '.join(packaged_names())}.")
    if text in PACKAGED:
        return ModelRef("packaged", text)
    if looks_like_path(text):
        folder = existing_folder(text)
        if folder is None:
            raise PlaygroundError(
                f"Folder '{_shorten(text)}' does not exist. Give a folder written by save_pretrained."
            )
        return ModelRef("local", str(folder.resolve()))
    repo, _, revision = text.partition("@")
    if not _HUB_ID.match(repo) or ".." in repo:
        raise PlaygroundError(
            f"'{_shorten(text)}' is not a valid model id: use 'owner/name' (letters, digits, '-', '_', '.'), "
            f"a local folder, or one of the {_offline_hint()}"
        )
    if revision and (not _REVISION.match(revision) or ".." in revision):
        raise PlaygroundError(f"'{_shorten(revision)}' is not a valid revision: use a branch, tag or commit hash.")
    return ModelRef("hub", repo, revision or None)


def _offline_hint() -> str:
    return "models available offline: " + ", ".join(packaged_names()) + "."


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
