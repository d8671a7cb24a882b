"""Keep loaded models within a memory budget, each loaded once however many requests use it."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace

import psutil
import torch

from playground import fast
from playground.errors import PlaygroundError
from playground.kinds import Kind
from playground.models import (
    LoadedModel,
    Progress,
    default_device,
    default_dtype,
    load_model,
)
from playground.references import ModelRef, parse_reference

log = logging.getLogger(__name__)


def default_budget_bytes(device: torch.device) -> int:
    """$PLAYGROUND_MEMORY_BUDGET_GB, else 80 % of the GPU's memory or half of the machine's RAM."""
    if env := os.environ.get("PLAYGROUND_MEMORY_BUDGET_GB"):
        return int(float(env) * 2**30)
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory * 0.8)
    return int(psutil.virtual_memory().total * 0.5)


@dataclass(frozen=True)
class Lease:
    """A model handed out by the cache, and whether this request paid for loading it.

    ``load_seconds`` counts converting (first use of a packaged model), reading the config and
    loading the weights, but not waiting for another model's load to finish.
    """

    model: LoadedModel
    cached: bool
    load_seconds: float


class ModelCache:
    """Least-recently-used cache of loaded models, bounded by the bytes of their weights."""

    def __init__(
        self,
        budget_bytes: int | None = None,
        device: torch.device | None = None,
        dtype=None,
        device_map: str | dict | None = None,
        **load_options,
    ):
        """``device_map`` ("auto", or $PLAYGROUND_DEVICE_MAP) spreads each model over the devices
        accelerate finds; ``load_options`` go to ``load_model`` (``cache_dir``, ``allow_pickle``)."""
        self.device_map = device_map or os.environ.get("PLAYGROUND_DEVICE_MAP") or None
        self.device = device or default_device()
        self.dtype = dtype or default_dtype(self.device)
        self.budget = budget_bytes or default_budget_bytes(self.device)
        self.load_options = load_options
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    @property
    def held_bytes(self) -> int:
        return sum(m.facts.weight_bytes for m in self._models.values())

    def names(self) -> list[str]:
        return list(self._models)

    def peek(self, reference: str | ModelRef) -> LoadedModel | None:
        """The model for a reference if it is loaded now, else None: never loads (views that only
        label what is loaded), and never loads again a model evicted meanwhile."""
        ref = reference if isinstance(reference, ModelRef) else parse_reference(reference)
        with self._lock:
            return self._models.get(ref.label)

    def get(self, reference: str | ModelRef, progress: Progress | None = None) -> Lease:
        """The loaded model for a reference, loading it (once, even if asked concurrently) if needed."""
        ref = reference if isinstance(reference, ModelRef) else parse_reference(reference)
        key = ref.label
        with self._lock:
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._models:
                    self._models.move_to_end(key)
                    return Lease(self._models[key], True, 0.0)

            def make_room(parameters: int | None) -> None:
                """Before any weight is read: the budget, counted from the config and the files' headers."""
                if parameters is not None:
                    self._make_room(ref, parameters * self.dtype.itemsize)

            model = load_model(
                ref,
                device=self.device,
                dtype=self.dtype,
                progress=progress,
                device_map=self.device_map,
                before_weights=make_room,
                **self.load_options,
            )
            if model.kind is Kind.DECODER and (self.device.type == "cpu" or self.device_map is None):
                # The fast decode path (repacked weights on a CPU, captured steps on a GPU) is made
                # now, with the load's progress, so that the first click does not wait for it.
                started = time.perf_counter()
                fast.prepare(model, progress)
                model = replace(model, load_seconds=model.load_seconds + time.perf_counter() - started)
            with self._lock:
                self._make_room(ref, model.facts.weight_bytes)
                self._models[key] = model
            return Lease(model, False, model.load_seconds)

    def _make_room(self, ref: ModelRef, need: int) -> None:
        if need > self.budget:
            raise PlaygroundError(
                f"{ref.label} needs {need / 2**30:.2f} GiB for its weights, more than the memory budget of "
                f"{self.budget / 2**30:.2f} GiB. Pick a smaller model, or raise PLAYGROUND_MEMORY_BUDGET_GB."
            )
        while self._models and self.held_bytes + need > self.budget:
            name, evicted = self._models.popitem(last=False)
            log.info(
                "evicting %s (%d bytes) to make room for %s",
                name,
                evicted.facts.weight_bytes,
                ref.label,
            )
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
