"""Model Comparison Playground: load two or three language models and compare them side by side."""

from playground.errors import PlaygroundError

__all__ = ["PlaygroundError"]
