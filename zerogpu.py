"""Hugging Face ZeroGPU: a GPU is attached to the Space only while a function marked
``@spaces.GPU`` runs, for at most the duration it declares.

The page marks two functions (``web/gpu.py``): the generation and scoring of a whole comparison,
all 2-3 models together, and the next-token view's forward passes. Models are loaded outside
them, in the main process, onto ``cuda``: on ZeroGPU the ``spaces`` package makes that device
exist there and moves the weights to the real GPU when a marked function starts, which is how
ZeroGPU wants models placed.

Everywhere else — no ``spaces`` package, or ``SPACES_ZERO_GPU`` unset (a CPU or plain-GPU Space,
a laptop) — ``gpu`` returns the function unchanged and the same code runs on whatever device the
engine picked. ``spaces`` must be imported before CUDA is touched, so ``app`` imports this
module before anything else that imports torch.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from playground.limits import on_zero_gpu

log = logging.getLogger("playground.zerogpu")

# Seconds a ZeroGPU call may ask for: the platform's floor for a useful slot and the most a
# visitor's request may take (PLAYGROUND_REQUEST_SECONDS caps it lower).
MIN_SECONDS = 20
MAX_SECONDS = 180
SECONDS_PER_TOKEN = 0.05  # a small model's decode step on a ZeroGPU slice, with room to spare
SETUP_SECONDS = 10  # moving weights onto the GPU, prefill and scoring


def _spaces():
    """The ``spaces`` module on ZeroGPU, else None (not installed, or not needed)."""
    if not on_zero_gpu():
        return None
    try:
        return importlib.import_module("spaces")
    except ImportError:
        log.warning("SPACES_ZERO_GPU is set but the 'spaces' package is missing: running without ZeroGPU.")
    except Exception:  # noqa: BLE001 - e.g. a CPU-only torch, which ZeroGPU's patches cannot handle
        log.exception("SPACES_ZERO_GPU is set but 'spaces' failed to import: running without ZeroGPU.")
    return None


SPACES = _spaces()


def duration(models: int, max_new_tokens: int, limit_seconds: float = MAX_SECONDS) -> int:
    """Seconds to ask ZeroGPU for: every model's tokens one after another (the worst case), plus
    setup, within [MIN_SECONDS, limit]. Asking for less than a request needs cuts it off; asking
    for much more makes visitors wait longer in ZeroGPU's queue."""
    needed = SETUP_SECONDS + models * max_new_tokens * SECONDS_PER_TOKEN
    return int(min(max(needed, MIN_SECONDS), max(limit_seconds, MIN_SECONDS), MAX_SECONDS))


def gpu(task: Callable, seconds: Callable[..., int]) -> Callable:
    """``task`` as a ZeroGPU function asking for ``seconds(*args)`` seconds on ZeroGPU; elsewhere
    ``task`` itself. Apply at import time: ZeroGPU registers its functions before the app starts."""
    if SPACES is None:
        return task
    return SPACES.GPU(task, duration=seconds)
