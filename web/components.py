"""The page's layout: every component, by name, in the order a lecturer needs them.

Projector first: at 1280x720 the preset picker, the prompt and Run are on the first screen; the
models, the settings and the results follow. The second box and the encoder-decoder task row are
hidden until the loaded models (or the preset) use them (``Handlers.boxes``). Inputs come from
the settings schema (``web.settings``), so their names are the API's parameter names.
"""

from __future__ import annotations

import gradio as gr

from playground.compare import MAX_MODELS
from playground.limits import Limits
from playground.presets import Preset
from web.render import columns, facts, metrics, status, teaching
from web.results import PLACEHOLDER
from web.settings import BY_NAME
from web.teaching import NEXT_PLACEHOLDER

Page = dict[str, object]
"""Components, layout blocks and the lecture prompts (``gr.Examples``), by name."""


def build(presets: dict[str, Preset], default: str, limits: Limits, unavailable: set[str]) -> Page:
    """Lay out the page inside the current ``gr.Blocks``; returns its components by name."""
    page: Page = {}
    preset = presets[default]

    def field(name: str, **layout) -> None:
        page[name] = BY_NAME[name].component(limits, **layout)

    with gr.Row(equal_height=True, elem_id="pg-top"):
        gr.HTML("<h1>Model Comparison Playground</h1>", elem_id="pg-header")
        field("projector", scale=0, min_width=190)
    page["preset"] = gr.Dropdown(
        columns.preset_choices(presets, unavailable), value=default, label="Model set (preset)", elem_id="pg-preset"
    )
    boxes = columns.box_labels([], preset.task)
    with gr.Row(equal_height=True):
        field(
            "prompt",
            value=preset.prompts[0],
            label=boxes.prompt,
            info=boxes.prompt_info,
            lines=3,
            max_lines=12,
            scale=3,
        )
        second = {"label": boxes.second, "info": boxes.second_info, "visible": bool(preset.target), "scale": 2}
        field("target", value=preset.target, lines=3, max_lines=12, **second)
    with gr.Row(elem_id="pg-actions"):
        page["run"] = gr.Button("Run", variant="primary", size="lg", elem_id="pg-run", scale=3)
        page["stop"] = gr.Button("Stop", variant="secondary", size="lg", scale=1, min_width=120, elem_id="pg-stop")
        page["switch"] = gr.Button(visible=False, variant="primary", size="lg", scale=2, elem_id="pg-switch")
    page["status"] = gr.HTML(status.idle(), elem_id="pg-run-status")
    page["examples"] = gr.Examples(
        [[p] for p in preset.prompts],
        inputs=[page["prompt"]],
        cache_examples=False,
        label="Lecture prompts (click one)",
        api_name="pick_example",
        preload=False,
    )
    slots = columns.preset_slots(preset)
    with gr.Row(equal_height=True, elem_id="pg-models"):
        for i in range(1, MAX_MODELS + 1):
            suffix = " (optional)" if i == MAX_MODELS else ""
            field(
                f"model_{i}",
                value=slots[i - 1],
                label=f"Model {i}{suffix}",
                placeholder=BY_NAME["model_1"].info,
                info=None,
            )
    page["preset_info"] = gr.HTML(columns.preset_info(preset, default in unavailable), elem_id="pg-preset-info")
    with gr.Row(equal_height=True, elem_id="pg-task-row", visible=bool(preset.task)) as page["task_row"]:
        field("task", value=preset.task, scale=3)
        field("source_lang", value=preset.source_lang, placeholder="en", scale=1)
        field("target_lang", value=preset.target_lang, placeholder="fr", scale=1)
    with gr.Accordion("Generation settings and model loading", open=False, elem_id="pg-settings") as page["settings"]:
        with gr.Row():
            field("max_new_tokens", elem_id="pg-max-tokens")
            field("decoding")
            field("chat_template")
        with gr.Row():
            field("temperature")
            field("top_p")
            field("seed")
            field("column_decoding")
        with gr.Row(equal_height=True):
            page["load"] = gr.Button("Load models only", scale=0, min_width=200, elem_id="pg-load")
            page["load_status"] = gr.HTML(elem_id="pg-load-status")
    page["guide"] = gr.HTML(elem_id="pg-input-guide")
    _results(page, preset, limits)
    with gr.Row():
        page["json"] = gr.DownloadButton("Download JSON", interactive=False, elem_id="pg-json")
        page["csv"] = gr.DownloadButton("Download CSV", interactive=False, elem_id="pg-csv")
        page["make_link"] = gr.Button("Make share link", elem_id="pg-make-link")
    page["share"] = gr.Textbox(label="Share link (reopens these settings)", buttons=["copy"], elem_id="pg-share")
    return page


def _results(page: Page, preset: Preset, limits: Limits) -> None:
    """The results: one tab per teaching view, and the preset's notes beside them."""

    def field(name: str, **layout) -> None:
        page[name] = BY_NAME[name].component(limits, **layout)

    with gr.Row(equal_height=False, elem_id="pg-results"):
        with gr.Column(scale=4, min_width=640), gr.Tabs(selected=teaching.preset_view(preset)) as page["tabs"]:
            with gr.Tab("Outputs", id="outputs", elem_id="pg-tab-outputs"):
                # Why they differ, above the outputs it explains (filled when the run ends).
                page["why"] = gr.HTML(elem_id="pg-why")
                with gr.Row(equal_height=False):
                    for i, slot in enumerate(columns.preset_slots(preset)):
                        shown = columns.idle_column(i, slot) if slot else columns.UNUSED
                        page[f"column_{i + 1}"] = gr.HTML(shown, elem_id=f"pg-col-{i + 1}", min_width=280)
            with gr.Tab("Size & metrics", id="size", elem_id="pg-tab-size"):
                # The size view first: it makes the size point; the table of every metric follows.
                page["size"] = gr.HTML(PLACEHOLDER, elem_id="pg-size")
                page["metrics"] = gr.HTML(metrics.metrics_table([]), elem_id="pg-metrics")
                page["missing"] = gr.HTML(elem_id="pg-missing")
                page["charts"] = gr.HTML(elem_id="pg-charts")
            with gr.Tab("Tokenizers", id="tokens", elem_id="pg-tab-tokens"):
                # Off by default; projector mode turns it on (web.events): a room cannot hover.
                page["spellings"] = gr.Checkbox(
                    False, label="Show token spellings as text (Ġ ▁: a space, ##: inside a word, lower case)",
                    elem_id="pg-spellings", container=False,
                )  # fmt: skip
                page["tokens"] = gr.HTML(PLACEHOLDER, elem_id="pg-tokens")
            with gr.Tab("Surprise", id="surprise", elem_id="pg-tab-surprise"):
                page["surprise"] = gr.HTML(PLACEHOLDER, elem_id="pg-surprise")
            with gr.Tab("Next token", id="next", elem_id="pg-tab-next"):
                # One row, so that moving a control and seeing the bars change fit on one screen.
                with gr.Row(equal_height=True, elem_id="pg-next-controls"):
                    prompt = preset.prompts[0]
                    field("position", minimum=0, maximum=len(prompt), value=len(prompt), step=1, scale=3, min_width=200)
                    field("next_temperature", scale=2, min_width=150)
                    field("next_top_p", scale=2, min_width=150)
                    field("next_top_k", scale=2, min_width=150, elem_id="pg-next-k")
                    page["next_show"] = gr.Button("Show", scale=0, min_width=110, elem_id="pg-next-show")
                page["next"] = gr.HTML(NEXT_PLACEHOLDER, elem_id="pg-next")
            with gr.Tab("Facts & cost", id="facts", elem_id="pg-tab-facts"):
                with gr.Row(equal_height=True):
                    field("training_tokens", elem_id="pg-cost-tokens")
                    accelerator = BY_NAME["accelerator"]
                    page["accelerator"] = gr.Dropdown(
                        list(accelerator.choices), value=accelerator.default, label="GPU", elem_id="pg-gpu"
                    )
                    field("gpus", label="GPUs")
                    field("utilisation")
                page["cost"] = gr.HTML(elem_id="pg-cost")
                page["facts"] = gr.HTML(facts.facts_table([], [], []), elem_id="pg-facts")
        with gr.Column(scale=1, min_width=240, elem_id="pg-notes-col"):
            page["notes"] = gr.HTML(teaching.preset_notes(preset), elem_id="pg-notes")
