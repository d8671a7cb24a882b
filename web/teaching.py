"""The handlers of the teaching views that have their own controls: the next token and the
training-cost estimate. Part of ``web.handlers.Handlers``; the GPU part (one forward pass per
model) goes through ``web.gpu.distributions``, one ZeroGPU call for all models.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace

import gradio as gr

from playground import remote
from playground.compare import Column
from playground.distribution import Distribution, next_token_distribution
from playground.errors import PlaygroundError
from playground.kinds import Kind
from playground.limits import Deadline, within
from web import gpu, offline
from web.escape import error
from web.render import facts as facts_view
from web.render import teaching
from web.render.common import short_label
from web.settings import COST, NEXT

NEXT_INPUTS = (*NEXT, "preset", "chat_template")
"""The next-token view's inputs: its own settings, and the preset and chat-template setting that
decide which prompt each column read (``Handlers.columns``)."""

log = logging.getLogger(__name__)

CANDIDATES = 10
"""Next tokens listed per model."""
NEXT_PLACEHOLDER = (
    '<div class="pg-empty">Run, or press Show, to see what each model would write next. '
    "Top-k 0 keeps every token.</div>"
)


def reading_columns(columns: list[Column]) -> list[tuple[int, Column]]:
    """The columns that read different prompts, with each one's slot (0-based), first of each kind.

    A column reads what its model and chat-template choice make of the prompt; greedy or sampled
    does not change what it reads, so a model shown greedy and sampled has one next-token chart,
    and a model with and without its template has two.
    """
    seen: dict[tuple[str, bool | None], tuple[int, Column]] = {}
    for slot, column in enumerate(columns):
        seen.setdefault(
            (column.reference, column.use_chat_template), (slot, Column(column.reference, column.use_chat_template))
        )
    return list(seen.values())


class Teaching:
    """The next-token and cost handlers; mixed into ``Handlers``, whose cache, limits and presets they use."""

    def next_tokens(self, **values) -> str:
        """Each column's most likely next tokens after ``prompt[:position]``, read as the column read
        the prompt (its chat-template choice), and what temperature, top-k and top-p leave for
        sampling. Columns that read the same thing (a model greedy and sampled) are shown once;
        models load if needed."""
        settings = self.parse(values, NEXT_INPUTS)
        if not settings.prompt.strip():
            raise error("The prompt is empty: type a text to see what each model would write next.")
        refs = list(dict.fromkeys(ref for ref in settings.models if ref))
        if not refs:
            raise error("Put a model in at least one slot.")
        needs_hub = set(offline.unavailable(refs, self.cache.names()))
        deadline = Deadline.after(self.limits.request_seconds)
        with within(deadline):
            for ref in refs:  # loading is not GPU work: on ZeroGPU it happens outside the GPU call
                if ref not in needs_hub:
                    with contextlib.suppress(Exception):
                        self.limits.check_model(ref)
                        self.cache.get(ref)
        facts = {ref: self.cached_facts(ref) for ref in refs}
        readers = reading_columns(self.columns(settings, facts))
        position = min(settings.position, len(settings.prompt))
        sampling = (settings.next_temperature, settings.next_top_p, settings.next_top_k)
        columns = [column for _, column in readers]
        shown = gpu.distributions(self.key, columns, settings.prompt, position, CANDIDATES, *sampling)
        label = f"temperature {sampling[0]:g} · top-p {sampling[1]:g} · top-k {sampling[2] or 'off'}"
        slots = [slot for slot, _ in readers]
        return teaching.next_token_view(settings.prompt, position, [c.label for c in columns], shown, label, slots)

    def distribution(
        self, column: Column, prompt: str, position: int, k: int, temperature: float, top_p: float, top_k: int
    ) -> Distribution | str:
        """One column's next-token distribution, read with its chat-template choice, or the reason
        it has none (for its panel)."""
        ref = column.reference
        if remote.is_remote(ref):
            return "A remote column sends text, not probabilities: it has no next-token view."
        if offline.unavailable([ref], self.cache.names()):
            return "Needs the Hugging Face Hub, which this server cannot reach."
        try:
            self.limits.check_model(ref)
            lm = self.cache.get(ref).model
            with within(Deadline.after(self.limits.request_seconds)):
                if lm.kind is not Kind.ENCODER_DECODER:
                    return next_token_distribution(
                        lm, prompt, position, k, temperature, top_p, top_k, use_chat_template=column.use_chat_template
                    )
                view = next_token_distribution(lm, prompt, None, k, temperature, top_p, top_k)
            note = "An encoder-decoder reads the whole text as its source: this is its first output token."
            return replace(view, note=note)
        except PlaygroundError as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - one model's failure must not take down the others' panels
            log.exception("next-token view of %s failed", ref)
            return f"{short_label(ref)} failed: {type(exc).__name__}."

    def prompt_positions(self, prompt: str) -> tuple:
        """A new prompt: the position slider spans its characters and starts at its end, and the
        next-token view of the old prompt goes."""
        length = len(prompt) if isinstance(prompt, str) else 0
        return gr.Slider(minimum=0, maximum=max(length, 1), value=length), NEXT_PLACEHOLDER

    def estimate_cost(self, **values) -> str:
        """Training compute C = 6ND per loaded model and the days it takes: N from the model, D typed
        or as the preset states it. Nothing is loaded here: an unloaded model says so."""
        settings = self.parse(values, COST)
        refs = [ref for ref in settings.models if ref]
        stated = {m.id: (m.training, m.source) for m in getattr(self.preset(settings.preset), "models", [])}
        try:
            return facts_view.cost_view(
                refs,
                [self.cached_facts(ref) for ref in refs],
                [stated.get(ref, ("", "")) for ref in refs],
                facts_view.parse_tokens(settings.training_tokens),
                settings.accelerator,
                settings.gpus,
                settings.utilisation,
            )
        except PlaygroundError as exc:
            raise error(exc) from None
