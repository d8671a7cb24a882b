"""The page's events: which component triggers which handler, with which inputs and outputs.

Every event has an ``api_name``, so every action of the page is also an API endpoint. Events that
take settings pass the schema's components by name (``inputs_kwargs``) with Gradio's own value
checks off (``preprocess=False``): the settings schema checks them, once, with messages that
name the setting (``web.settings.parse``).
"""

from __future__ import annotations

import gradio as gr
import torch

from playground.limits import env_number, on_zero_gpu
from web.handlers import Handlers
from web.results import RUN_OUTPUTS
from web.selection import BOX_INPUTS, BOX_OUTPUTS, PRESET_OUTPUTS, RESTORE_LAYOUT, RESTORE_OUTPUTS
from web.settings import COST, LINK, LOAD, RUN, api_signature
from web.teaching import NEXT_INPUTS
from web.visitors import MODELS, Admission

GPU_CONCURRENCY = 16


def default_concurrency() -> int:
    """Comparisons that run at once, unless PLAYGROUND_CONCURRENCY says otherwise: one on a CPU,
    where two runs only slow each other down; several on a GPU, where the one decoding thread
    batches the visitors on the same model (docs/decoding.md). On ZeroGPU the platform queues
    the GPU calls itself: one."""
    default = GPU_CONCURRENCY if torch.cuda.is_available() and not on_zero_gpu() else 1
    return env_number("PLAYGROUND_CONCURRENCY", default)


CONCURRENCY = default_concurrency()
QUEUE_SIZE = env_number("PLAYGROUND_QUEUE_SIZE", 64)
"""Visitors waiting for a comparison; past it, the next is told "Queue is full! Please try again."
at once instead of waiting minutes. The queue itself holds no model memory."""


def wire(demo: gr.Blocks, page: dict, handlers: Handlers, admission: Admission) -> None:
    """Connect the page's components (``web.components.build``) to the handlers. Every event that
    runs models is admitted first (``web.visitors``: a fair share of the queue per visitor)."""

    def named(names: tuple[str, ...]) -> dict:
        return {name: page[name] for name in names}

    def listed(names: tuple[str, ...]) -> list:
        return [page[name].dataset if name == "examples" else page[name] for name in names]

    models = {"concurrency_id": MODELS, "concurrency_limit": CONCURRENCY, "preprocess": False}
    quiet = {"api_visibility": "undocumented", "show_progress": "hidden", "preprocess": False}

    run = page["run"].click(
        handlers.run,
        inputs_kwargs=named(RUN),
        outputs=listed(RUN_OUTPUTS),
        api_name="run",
        validator=admission.validator(RUN),
        trigger_mode="once",
        show_progress="minimal",
        show_progress_on=[page["status"]],
        **models,
    )
    load = page["load"].click(
        handlers.load_models,
        inputs_kwargs=named(LOAD),
        outputs=listed(("facts", "guide", "load_status", "tabs")),
        api_name="load_models",
        validator=admission.validator(LOAD),
        trigger_mode="once",
        **models,
    )
    # A new preset or an edited prompt ends a run in flight (Handlers.supersede), so that its
    # results never land in the views of another preset or prompt.
    page["preset"].input(
        handlers.select_preset,
        inputs_kwargs=named(("preset",)),
        outputs=listed(PRESET_OUTPUTS + RUN_OUTPUTS),
        api_name="select_preset",
        preprocess=False,
    )
    for name, trigger in (("prompt_edited", page["prompt"].input), ("example_picked", page["examples"].dataset.click)):
        trigger(
            handlers.edited,
            None,
            listed(RUN_OUTPUTS),
            api_name=name,
            concurrency_limit=None,  # queued, so that its update follows the run's last one on the wire
            api_visibility="undocumented",
            trigger_mode="always_last",
        )
    page["switch"].click(
        handlers.switch,
        inputs_kwargs=named(("preset",)),
        outputs=listed(("preset", *PRESET_OUTPUTS, *RUN_OUTPUTS)),
        api_name="switch_preset",
        preprocess=False,
    )
    demo.load(
        handlers.restore_layout, None, listed(RESTORE_LAYOUT), api_name="restore_layout", show_progress="hidden"
    ).then(handlers.restore, None, listed(RESTORE_OUTPUTS), api_name="restore_settings")
    page["projector"].change(None, page["projector"], None, js="(on) => window.pgProjector(on)", api_name="projector")
    # Projector mode shows token spellings as text (nobody in a room can hover); the box can undo it.
    page["projector"].change(None, page["projector"], page["spellings"], js="(on) => on", api_name="spellings_follow")
    page["spellings"].change(None, page["spellings"], None, js="(on) => window.pgSpellings(on)", api_name="spellings")
    page["task"].input(
        handlers.label_boxes, inputs_kwargs=named(BOX_INPUTS), outputs=listed(BOX_OUTPUTS), api_name="label_boxes",
        queue=False, preprocess=False,
    )  # fmt: skip
    page["prompt"].change(
        handlers.prompt_positions,
        page["prompt"],
        listed(("position", "next")),
        api_name="prompt_positions",
        queue=False,
    )
    next_tokens = {
        "inputs_kwargs": named(NEXT_INPUTS),
        "outputs": page["next"],
        "concurrency_id": MODELS,
        "validator": admission.validator(NEXT_INPUTS),
    }
    cost = {"inputs_kwargs": named(COST), "outputs": page["cost"]}
    for name, event in (("load", load), ("run", run)):
        event.success(
            handlers.label_boxes, inputs_kwargs=named(BOX_INPUTS), outputs=listed(BOX_OUTPUTS),
            api_name=f"label_boxes_after_{name}", **quiet,
        )  # fmt: skip
        event.success(handlers.estimate_cost, api_name=f"estimate_cost_after_{name}", **cost, **quiet)
    run.success(handlers.next_tokens, api_name="next_tokens_after_run", **next_tokens, **quiet)
    page["next_show"].click(handlers.next_tokens, api_name="next_tokens", preprocess=False, **next_tokens)
    controls = [page[name].release for name in ("position", "next_temperature", "next_top_p", "next_top_k")]
    gr.on(
        controls,
        handlers.next_tokens,
        api_name="next_tokens_on_change",
        trigger_mode="always_last",
        **next_tokens,
        **quiet,
    )
    cost_triggers = [page["training_tokens"].submit, page["accelerator"].input, page["gpus"].submit]
    gr.on(
        [*cost_triggers, page["utilisation"].release],
        handlers.estimate_cost,
        api_name="estimate_cost",
        preprocess=False,
        **cost,
    )
    page["stop"].click(handlers.stop, None, None, api_name="stop", queue=False)
    page["make_link"].click(
        handlers.share_link, inputs_kwargs=named(LINK), outputs=page["share"], api_name="share_link", queue=False,
        preprocess=False,
    )  # fmt: skip
    gr.api(
        api_signature(RUN, handlers.limits)(handlers.compare),
        api_name="compare",
        concurrency_id=MODELS,
        concurrency_limit=CONCURRENCY,
    )
    # gr.api takes no validator argument; its event is admitted like the others.
    compare = next(fn for fn in demo.fns.values() if fn.api_name == "compare")
    compare.validator = admission.validator(RUN)
