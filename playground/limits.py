"""Limits and model policy for a shared playground (a classroom, a public Space).

Every limit is configurable through the environment, and every refusal names the limit and the
value that broke it. Defaults suit one shared GPU or a small CPU Space.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from playground.errors import PlaygroundError, Stopped, shown


def on_spaces() -> bool:
    """True on Hugging Face Spaces, which sets SPACE_ID in every Space's environment."""
    return bool(os.environ.get("SPACE_ID"))


def on_zero_gpu(environ: dict | None = None) -> bool:
    """Whether this process runs on ZeroGPU hardware (the platform sets SPACES_ZERO_GPU=true).
    This module imports no torch, so ``zerogpu`` can ask before torch is imported."""
    value = (environ if environ is not None else os.environ).get("SPACES_ZERO_GPU", "")
    return value.strip().lower() in ("1", "t", "true")


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def env_number(name: str, default: float, cast=int, zero_turns_off: bool = False):
    """The environment variable ``name`` as a number above 0 (or 0 where ``zero_turns_off``), else
    ``default`` when unset; a message naming the variable for anything else."""
    value = os.environ.get(name)
    if value is None:
        return default
    allowed = "0 (no limit) or more" if zero_turns_off else "above 0"
    try:
        number = cast(value)
    except ValueError:
        raise PlaygroundError(f"{name}={value!r} is not a number: set it to a number {allowed}, or unset it.") from None
    if not math.isfinite(number) or number < 0 or number == 0 and not zero_turns_off:
        raise PlaygroundError(f"{name}={value!r} must be {allowed}.")
    return number


@dataclass(frozen=True)
class Limits:
    """What one request may ask for, and which models a visitor may load.

    ``allowed_models`` None means any valid model id; a set means only those (the preset models
    and the packaged ones), which is the default on Spaces so that visitors cannot make the
    server download arbitrary repositories. ``allow_pickle`` lets Hub models without
    safetensors load (pickle files can run code when unpickled: for administrators only).
    """

    # Chosen by measurement on a shared 2-core CPU (docs/security.md, bench/prompt_cost.py): a
    # comparison of the offline default preset with every model reading 1,024 tokens took 15 s, a
    # sixth of the 180 s limit or less; English text reaches 4,000 characters at about 830 tokens.
    max_prompt_chars: int = 4_000
    max_prompt_tokens: int = 1_024
    max_new_tokens: int = 512
    request_seconds: float = 180.0
    allowed_models: frozenset[str] | None = None
    allow_pickle: bool = False

    @classmethod
    def from_env(cls, preset_models: set[str] | None = None) -> Limits:
        """$PLAYGROUND_MAX_PROMPT_CHARS, $PLAYGROUND_MAX_PROMPT_TOKENS, $PLAYGROUND_MAX_NEW_TOKENS,
        $PLAYGROUND_REQUEST_SECONDS,
        $PLAYGROUND_PRESET_MODELS_ONLY (default: on on Spaces, off elsewhere), $PLAYGROUND_ALLOW_PICKLE."""
        from playground.packaged import PACKAGED  # here: packaged checks the deadline, so it imports this module

        only_presets = _flag("PLAYGROUND_PRESET_MODELS_ONLY", on_spaces())
        allowed = frozenset((preset_models or set()) | set(PACKAGED)) if only_presets else None
        return cls(
            max_prompt_chars=env_number("PLAYGROUND_MAX_PROMPT_CHARS", cls.max_prompt_chars),
            max_prompt_tokens=env_number("PLAYGROUND_MAX_PROMPT_TOKENS", cls.max_prompt_tokens),
            max_new_tokens=env_number("PLAYGROUND_MAX_NEW_TOKENS", cls.max_new_tokens),
            request_seconds=env_number("PLAYGROUND_REQUEST_SECONDS", cls.request_seconds, float),
            allowed_models=allowed,
            allow_pickle=_flag("PLAYGROUND_ALLOW_PICKLE", False),
        )

    def check_prompt(self, text: str, field: str = "prompt") -> None:
        """Refuse a text over ``max_prompt_chars``; ``field`` names it ("prompt", "target", "question")."""
        if len(text) > self.max_prompt_chars:
            raise PlaygroundError(
                f"The {field} has {len(text):,} characters; the limit is {self.max_prompt_chars:,}. "
                f"Shorten the {field}."
            )

    def check_tokens(self, tokens: int, model: str, field: str = "prompt") -> None:
        """Refuse a text that is more than ``max_prompt_tokens`` tokens for one model.

        Reading a text costs time by its tokens, not its characters, and a character is a quarter
        of a token in English but one to two in Chinese or as an emoji (docs/security.md).
        """
        if tokens > self.max_prompt_tokens:
            raise PlaygroundError(
                f"The {field} is {tokens:,} tokens for {model}; the limit is {self.max_prompt_tokens:,} tokens a "
                f"model here. Shorten the {field}: Chinese, Japanese or Korean text and emoji take one or two "
                "tokens a character, English about a quarter."
            )

    def check_new_tokens(self, max_new_tokens: int) -> None:
        """One message for both ends of the range, naming this deployment's cap."""
        if not 1 <= max_new_tokens <= self.max_new_tokens:
            raise PlaygroundError(
                f"max new tokens must be between 1 and {self.max_new_tokens:,} here (got {max_new_tokens:,})."
            )

    def check_model(self, reference: str) -> None:
        """Refuse a model outside the allow-list before anything is downloaded."""
        if reference.startswith("remote:"):
            return  # remote columns reach only the servers an administrator configured
        if self.allowed_models is not None and reference not in self.allowed_models:
            allowed = ", ".join(sorted(self.allowed_models)[:12])
            raise PlaygroundError(
                f"'{shown(reference, 80)}' is not one of the models this playground allows; pick a preset model "
                f"({allowed}…) or run the playground yourself to load any model."
            )


CANCELLED = "Stopped: the comparison was cancelled."
"""A column's reason when its request was stopped (Stop, the visitor left), not timed out."""
GENERATING = "generating; the text so far is kept"
"""What a generation's checkpoint says it was doing: its column keeps the text so far."""


@dataclass(frozen=True)
class Deadline:
    """When one request must stop: at ``at`` (``time.monotonic()``), or as soon as ``cancelled`` is
    set (the visitor pressed Stop or went away). Long loops call ``checkpoint`` between pieces of
    work; work that cannot be interrupted is kept small by the size limits instead."""

    seconds: float
    at: float
    cancelled: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def after(cls, seconds: float, cancelled: threading.Event | None = None) -> Deadline:
        return cls(seconds, time.monotonic() + seconds, cancelled or threading.Event())

    def check(self, doing: str) -> None:
        if self.cancelled.is_set():
            raise Stopped(CANCELLED)
        if time.monotonic() > self.at:
            raise Stopped(f"Stopped at the request time limit of {self.seconds:g} s while {doing}.")


_deadline: ContextVar[Deadline | None] = ContextVar("playground_deadline", default=None)


@contextmanager
def within(deadline: Deadline | None) -> Iterator[None]:
    """Run the block under ``deadline``: every ``checkpoint`` in it (in this thread) checks it."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def checkpoint(doing: str) -> None:
    """Raise ``Stopped`` if the current request is past its time limit or was cancelled; ``doing``
    names the work in progress for the message ("scoring the text"). Free outside a request."""
    deadline = _deadline.get()
    if deadline is not None:
        deadline.check(doing)


def current_deadline() -> Deadline | None:
    return _deadline.get()
