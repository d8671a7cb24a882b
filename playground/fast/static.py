"""A decoder's decode step over a static KV cache, for one or many generations at once, graph-ready.

On a GPU a small decoder's token takes a few hundred kernel launches, and issuing them from Python
costs more than running them. Replaying the step as a CUDA graph removes that cost, but a graph
replays the kernels it recorded with the values the host held at capture: anything the step reads
on the host (a cache length kept in a Python int, a mask size) is frozen into it. So this step
keeps every changing value in a device tensor at a fixed address:

- the KV cache is one preallocated tensor per layer, ``[rows, kv heads, capacity, head dim]``,
  written at the slot ``clock`` (a device scalar): no layer keeps a Python length (transformers'
  sliding-window layers do, which is why Gemma-3's graph disagreed with its eager step);
- sliding-window layers keep every slot like the others, and the window is applied by the mask;
- the masks are built inside the step from ``clock`` and each row's first slot, and handed to the
  model ready-made, so the model computes none from host values;
- each row carries its own positions (``positions``), so rows of different prompt lengths decode
  side by side: a row's prompt sits in the slots just before the clock, left of it slots are
  masked out::

      slot:     0  1  2  3  4  5  6  7  ...          clock = 5 (the next slot written)
      row 0:    a  b  c  d  e  |  next token at position 5
      row 1:    .  .  x  y  z  |  next token at position 3  (first slot 2)

A row's prompt is read eagerly with a dynamic cache (the same computation as decoding alone) and
its keys and values are copied into the row's slots; from then on all rows advance together, one
``flush`` per token. Attention over the masked slots adds exact zeros, so a row's logits are the
ones it gets alone up to rounding (the tests check the tokens on tiny models). One step with one
row is the fast path of a single generation; a step with several rows batches the generations of
many visitors on one model (``playground.scheduler``).
"""

from __future__ import annotations

import inspect
import logging
import threading

import torch
from transformers import Cache, DynamicCache
from transformers.cache_utils import CacheLayerMixin

log = logging.getLogger(__name__)

JOIN_SLACK = 32
"""Slots a shared batch keeps free for a row between claiming it and reading its prompt."""


class SlotLayer(CacheLayerMixin):
    """One layer's keys and values at fixed addresses, written at the shared ``clock`` slot."""

    is_compileable = True
    is_sliding = False

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, clock: torch.Tensor):
        super().__init__()
        self.keys, self.values, self.clock = keys, values, clock
        self.is_initialized = True

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        raise AssertionError("a slot layer is allocated before use")

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        slots = self.clock + torch.arange(key_states.shape[-2], device=self.clock.device)
        self.keys.index_copy_(2, slots, key_states)
        self.values.index_copy_(2, slots, value_states)
        return self.keys, self.values

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.keys.shape[2], 0

    def get_seq_length(self) -> int:
        return self.keys.shape[2]

    def get_max_length(self) -> int:
        return self.keys.shape[2]


class StaticBatch:
    """A decode step for ``rows`` generations of one model over ``capacity`` slots each.

    ``claim`` hands out a free row; the row's owner reads its prompt (``StaticRow.prefill``) and
    stages each next token (``StaticRow.stage``); one ``flush`` then runs the step for every
    staged row at once, by replaying the captured graph where there is one. Who flushes: the row
    itself when it is the only row (``StaticRow.step``), else the scheduler that owns the batch.
    """

    def __init__(self, model: torch.nn.Module, rows: int, capacity: int, device: torch.device):
        self.model, self.rows, self.capacity, self.device = model, rows, capacity, device
        self.window = _sliding_window(model.config)
        self.layer_types = _layer_types(model.config)
        shapes = _kv_shapes(model, device)
        self.clock = torch.zeros((), dtype=torch.long, device=device)
        self.tokens = torch.zeros((rows, 1), dtype=torch.long, device=device)
        self.positions = torch.zeros((rows, 1), dtype=torch.long, device=device)
        self.first_slot = torch.zeros(rows, dtype=torch.long, device=device)
        self.slots = torch.arange(capacity, device=device)
        layers = [
            SlotLayer(
                torch.zeros((rows, heads, capacity, k_dim), dtype=dtype, device=device),
                torch.zeros((rows, heads, capacity, v_dim), dtype=dtype, device=device),
                self.clock,
            )
            for heads, k_dim, v_dim, dtype in shapes
        ]
        self.cache = Cache(layers=layers)
        self.dtype = shapes[0][3] if shapes else model.dtype
        self.logits: torch.Tensor | None = None
        self.graph = None
        self.lock = threading.Lock()
        self.owners: list[bool | None] = [None] * rows
        self.staged = [False] * rows
        self.host_clock = 0  # the clock as the host tracks it: which rows can still join
        self.reserve = capacity // 4 if rows > 1 else 0
        self.stale_clock = False  # the host restarted the clock; the device learns it at the next prefill
        self.stream = torch.cuda.Stream(device) if device.type == "cuda" else None

    # --- rows -------------------------------------------------------------------------------

    def claim(self, prompt_tokens: int, new_tokens: int) -> StaticRow | None:
        """A free row for a generation of ``prompt_tokens`` + ``new_tokens``, or None: no row is
        free, the prompt does not fit left of the clock, or the slots would run out first.

        A batch of one row starts every generation at slot 0. A shared batch starts its clock at
        ``reserve`` when it is idle, so that prompts of up to that many tokens can join it at any
        time while it runs; it takes new rows until its clock nears the capacity, and starts
        again once its last row is released."""
        with self.lock:
            free = next((i for i, owner in enumerate(self.owners) if owner is None), None)
            if free is None:
                return None
            if self.rows == 1:
                fits = prompt_tokens + new_tokens <= self.capacity
            else:
                if self.busy_rows == 0:
                    self.host_clock, self.stale_clock = self.reserve, True
                # JOIN_SLACK: rounds may pass between the claim and the reading of the prompt
                fits = prompt_tokens <= self.host_clock and self.host_clock + JOIN_SLACK + new_tokens <= self.capacity
            if not fits:
                return None
            self.owners[free] = True
            return StaticRow(self, free, new_tokens)

    def release(self, row: int) -> None:
        with self.lock:
            self.owners[row] = None
            self.staged[row] = False

    @property
    def busy_rows(self) -> int:
        return sum(o is not None for o in self.owners)

    # --- the step ---------------------------------------------------------------------------

    def masks(self, query_slots: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        """Additive masks [rows, 1, queries, capacity] for ``query_slots`` [queries]: a key slot is
        visible from the row's first slot up to the query's own slot (and within the window for
        sliding-window layers)."""
        keys = self.slots[None, None, None, :]
        queries = query_slots[None, None, :, None]
        visible = (keys >= self.first_slot[:, None, None, None]) & (keys <= queries)
        blocked = torch.finfo(self.dtype).min
        full = torch.zeros(visible.shape, dtype=self.dtype, device=self.device).masked_fill(~visible, blocked)
        if self.window is None:
            return full
        sliding = full.masked_fill(keys <= queries - self.window, blocked)
        return {"full_attention": full, "sliding_attention": sliding}

    def _forward(self) -> torch.Tensor:
        out = self.model(
            input_ids=self.tokens,
            position_ids=self.positions,
            attention_mask=self.masks(self.clock.view(1)),
            cache=self.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        return out.logits[:, -1, :]

    @torch.inference_mode()
    def flush(self) -> torch.Tensor:
        """Run one step for every row: read ``tokens`` at ``positions``, write their keys and values
        at the clock, then advance the clock and the positions. Rows not staged run too (the
        kernels are the same for any number of rows) and their output is ignored."""
        if self.graph is not None:
            self.graph.replay()
        else:
            self.logits = self._forward()
        self.clock.add_(1)
        # Rows nobody owns keep stepping; capping their position keeps it inside the model's
        # position table (an owned row never reaches the cap: its prompt and tokens fit).
        self.positions.add_(1).clamp_(max=self.capacity - 1)
        self.host_clock += 1
        self.staged = [False] * self.rows
        return self.logits

    # --- CUDA graph -------------------------------------------------------------------------

    def capture(self, warmup: int = 3) -> None:
        """Record ``_forward`` as a CUDA graph (CUDA only). Warm-up runs on a side stream first, as
        capture requires; what they write lands in slots that a row's prompt or a later step
        overwrites before any mask shows them."""
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.inference_mode(), torch.cuda.stream(side):
            for _ in range(warmup):
                self._forward()
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), torch.cuda.graph(graph):
            self.logits = self._forward()
        self.graph = graph

    def agrees_with_eager(self, prompt: list[int], steps: int) -> bool:
        """Decode ``steps`` greedy tokens from ``prompt`` with the step as it is (a graph, if
        captured) and with the model's eager dynamic cache, and compare the logits: a step that
        froze a host value would drift from the eager one, and must not be used. ``steps`` should
        pass the sliding window, where the hybrid caches differ."""
        row = self.claim(len(prompt), steps)
        if row is None:
            return False
        ids = torch.tensor([prompt], device=self.device)
        inputs, mine = [], []
        try:
            logits = row.prefill(ids)
            for _ in range(steps):
                inputs.append(logits.argmax(-1))
                logits = row.step(inputs[-1], None).clone()
                mine.append(logits.float())
        finally:
            row.release()
        with torch.inference_mode():
            cache, eager = self.model(input_ids=ids, use_cache=True).cache, []
            for token in inputs:  # the same tokens, read by the model's own dynamic cache
                out = self.model(input_ids=token.view(1, 1), cache=cache, use_cache=True)
                cache = out.cache
                eager.append(out.logits[:, -1, :].float())
        ours, theirs = torch.stack(mine), torch.stack(eager)
        # The same arithmetic in another order (bfloat16 on a GPU): a step that froze a host value
        # is off by the size of the logits themselves, far beyond this.
        return bool((ours - theirs).abs().max() <= 5e-2 * theirs.abs().max())


class RowDoesNotFit(Exception):
    """The batch's clock moved on between claiming a row and reading its prompt: decode elsewhere."""


class StaticRow:
    """One generation's row of a ``StaticBatch``."""

    def __init__(self, batch: StaticBatch, row: int, new_tokens: int = 0):
        self.batch, self.row, self.new_tokens = batch, row, new_tokens

    @property
    def shared(self) -> bool:
        """Whether other generations may share this batch (then only its scheduler flushes it)."""
        return self.batch.rows > 1

    @torch.inference_mode()
    def prefill(self, ids: torch.Tensor, model: torch.nn.Module | None = None) -> torch.Tensor:
        """Read the prompt eagerly (``model`` if given: same architecture, other weights) and put its
        keys and values into this row's slots, ending just before the clock."""
        batch, length = self.batch, ids.shape[1]
        out = (model or batch.model)(input_ids=ids, cache=DynamicCache(config=batch.model.config), use_cache=True)
        with batch.lock:
            if batch.rows == 1:
                batch.host_clock, batch.stale_clock = length, True
            if batch.stale_clock:  # set here, on the stream that flushes the batch
                batch.clock.fill_(batch.host_clock)
                batch.stale_clock = False
            clock = batch.host_clock
            if length > clock or clock + self.new_tokens > batch.capacity:
                raise RowDoesNotFit(f"{length} prompt tokens at slot {clock} of {batch.capacity}")
            for slot_layer, layer in zip(batch.cache.layers, out.cache.layers, strict=True):
                seen = layer.keys.shape[2]  # a sliding-window layer keeps only the last positions
                slot_layer.keys[self.row, :, clock - seen : clock] = layer.keys[0]
                slot_layer.values[self.row, :, clock - seen : clock] = layer.values[0]
            batch.first_slot[self.row] = clock - length
            batch.positions[self.row] = length
        return out.logits[:, -1, :]

    def stage(self, token: torch.Tensor) -> None:
        """Set this row's next input (a device tensor: nothing is read back)."""
        self.batch.tokens[self.row].copy_(token.view(1))
        self.batch.staged[self.row] = True

    def logits(self) -> torch.Tensor:
        return self.batch.logits[self.row : self.row + 1]

    def step(self, token: torch.Tensor, position: int | None = None) -> torch.Tensor:
        """Stage and run at once: for a row alone in its batch."""
        self.stage(token)
        self.batch.flush()
        return self.logits()

    def release(self) -> None:
        self.batch.release(self.row)


_PARAMETERS: dict[type, frozenset[str]] = {}


def takes(model: torch.nn.Module, name: str) -> bool:
    """Whether the model's ``forward`` takes the argument ``name`` (looked up once per class)."""
    kind = type(model)
    if kind not in _PARAMETERS:
        _PARAMETERS[kind] = frozenset(inspect.signature(model.forward).parameters)
    return name in _PARAMETERS[kind]


def supports(model: torch.nn.Module) -> str | None:
    """Why this decoder cannot use a static step, or None if it can: the step needs a model whose
    forward takes ``cache``, ``position_ids``, ``logits_to_keep`` and a ready-made mask."""
    missing = [p for p in ("cache", "position_ids", "logits_to_keep", "attention_mask") if not takes(model, p)]
    if missing:
        return f"its forward takes no {', '.join(missing)}"
    kinds = set(_layer_types(model.config))
    if kinds - {"full_attention", "sliding_attention"}:
        return f"its layers include {', '.join(sorted(kinds - {'full_attention', 'sliding_attention'}))}"
    return None


def _text_config(config):
    return config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config


def _layer_types(config) -> list[str]:
    text = _text_config(config)
    return list(getattr(text, "layer_types", None) or ["full_attention"])


def _sliding_window(config) -> int | None:
    return (
        getattr(_text_config(config), "sliding_window", None) if "sliding_attention" in _layer_types(config) else None
    )


def _kv_shapes(model: torch.nn.Module, device: torch.device) -> list[tuple[int, int, int, torch.dtype]]:
    """(kv heads, key dim, value dim, dtype) of each layer, read from one token through the model:
    every architecture names its head counts differently, its cache does not."""
    with torch.inference_mode():
        out = model(input_ids=torch.zeros((1, 1), dtype=torch.long, device=device), use_cache=True)
    return [(lay.keys.shape[1], lay.keys.shape[-1], lay.values.shape[-1], lay.keys.dtype) for lay in out.cache.layers]
