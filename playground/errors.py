"""The one exception type whose message is meant for the person using the playground, and the
function that makes a library's message fit to show a visitor of a shared page."""

from __future__ import annotations

import os
import re


class PlaygroundError(Exception):
    """A problem the user can act on.

    The message says what was wrong and what to do about it; the UI shows it as is
    (as ``gr.Error`` for a whole request, or in the column of the model it concerns).
    """


class Stopped(PlaygroundError):
    """A request stopped before it finished: its caller went away, pressed Stop, or it reached the
    request time limit. Not a failure: a column keeps what it produced and says why it stopped.

    ``output`` is the text produced before the stop, when the work that stopped returns text in
    one piece (text-to-text generation) rather than streaming it.
    """

    def __init__(self, message: str, output: str | None = None):
        super().__init__(message)
        self.output = output


MESSAGE_CHARS = 600
"""Longest message shown to a visitor; a library's message past it is cut."""

SERVER_PATH = "(a path on the server)"

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TRACEBACK_LINE = re.compile(r'^\s*(File ".*", line \d+.*|Traceback \(most recent call last\):.*)$')
# An absolute path: '/' or '~/' (or a Windows drive) not preceded by a word character, '/', ':' or
# '.', so that "owner/name", "tokens/s" and "https://host/x" are left alone.
_PATH = re.compile(r"(?<![\w/:.~\\-])(?:~?/|[A-Za-z]:\\)[^\s'\"`,;()<>\[\]{}|]+")
_SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|CREDENTIAL|AUTH", re.IGNORECASE)
# Library advice to switch a safety off. The sentence goes and the project's own words replace it.
_UNSAFE_ADVICE = {
    re.compile(r"weights_only|Weights only load failed|pickle", re.IGNORECASE): (
        "The weights are a pickle file the playground does not open (pickle files can run code when "
        "they are read); use a checkpoint saved as safetensors."
    ),
    re.compile(r"trust_remote_code|custom code|execute the configuration file", re.IGNORECASE): (
        "This model needs code from its own repository, which the playground never runs; "
        "pick a model that transformers supports itself."
    ),
    re.compile(r"allow_all_kernels|use_kernels", re.IGNORECASE): (
        "It asks for kernel code from the Hub, which the playground never runs."
    ),
    re.compile(r"ignore_mismatched_sizes", re.IGNORECASE): (
        "Some weights do not have the shapes the config gives, and the playground does not replace them "
        "with random values."
    ),
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def shown(text: str, limit: int = 60) -> str:
    """What a visitor typed, to quote it back in a message: cut to ``limit`` characters, with
    control characters (an escape code, a newline) written as escapes instead of acted on."""
    cut = text if len(text) <= limit else text[:limit] + "…"
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in cut)


def for_visitor(text: str, typed: str | None = None, folder: str | None = None) -> str:
    """A library's message, made fit for a visitor of a shared page.

    No ANSI escape codes or control characters, no traceback lines, no absolute path (``folder``,
    the server's path of the model, becomes ``typed``, what the visitor wrote; any other path
    becomes "(a path on the server)"), no value of a secret environment variable, no advice to
    turn a safety off (replaced by the project's own words), one line of at most
    ``MESSAGE_CHARS`` characters.
    """
    text = _ANSI.sub("", str(text))
    lines = [line for line in text.splitlines() if not _TRACEBACK_LINE.match(line)]
    text = _CONTROL.sub(" ", " ".join(lines))
    text = _hide_secrets(text)
    if folder and typed:
        for form in {folder, os.path.realpath(folder), os.path.abspath(folder)}:
            text = text.replace(form, typed)
    text = _PATH.sub(lambda match: _path_shown(match.group(0), typed), text)
    text = _replace_unsafe_advice(text)
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"


def _path_shown(path: str, typed: str | None) -> str:
    """A path under what the visitor typed stays (they named it); any other becomes SERVER_PATH."""
    typed = (typed or "").rstrip("/")
    if typed and typed not in ("", "~") and (path == typed or path.startswith(typed + "/")):
        return path
    return SERVER_PATH


def _replace_unsafe_advice(text: str) -> str:
    sentences = _SENTENCE_END.split(text)
    kept, added = [], []
    for sentence in sentences:
        advice = [words for pattern, words in _UNSAFE_ADVICE.items() if pattern.search(sentence)]
        if advice:
            added += [words for words in advice if words not in added]
        else:
            kept.append(sentence)
    return " ".join(kept + added)


def _hide_secrets(text: str) -> str:
    for name, value in os.environ.items():
        if len(value) >= 6 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, "***")
    return text
