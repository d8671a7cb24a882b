"""Model Comparison Playground: load two or three language models and compare them side by side.

From Python, one call compares models on one or many prompts::

    import playground
    runs = playground.compare_many(["smollm2-135m-instruct", "gemma-3-270m"], ["Hello", "Bonjour"])
    runs.to_frame()

Importing the package loads nothing heavy: ``compare_many`` imports torch on first use.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from playground.errors import PlaygroundError

DISTRIBUTION = "model-playground"


def _version() -> str:
    """The installed distribution's version; in a checkout that was never installed, pyproject.toml's."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    import tomllib

    try:
        with open(Path(__file__).resolve().parent.parent / "pyproject.toml", "rb") as file:
            return tomllib.load(file)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "0+unknown"


__version__ = _version()
__all__ = ["PlaygroundError", "__version__", "compare_many"]


def __getattr__(name: str):
    if name == "compare_many":  # imported on first use: it brings torch and transformers
        from playground.api import compare_many

        return compare_many
    raise AttributeError(f"module 'playground' has no attribute {name!r}")
