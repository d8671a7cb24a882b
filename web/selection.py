"""What the page shows before a run: a preset's models, prompt and notes, a share link's settings,
and the two text boxes as the loaded models need them. Part of ``web.handlers.Handlers``.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import gradio as gr

from playground import remote
from playground.errors import PlaygroundError
from playground.facts import ModelFacts
from playground.kinds import Kind
from playground.presets import Preset
from web import offline, share
from web.escape import warning
from web.render import columns as render
from web.render import teaching
from web.results import RUN_OUTPUTS, cleared
from web.settings import COLUMN_DECODING, LINK, Settings

PRESET_OUTPUTS = ("model_1", "model_2", "model_3", "preset_info", "prompt", "target", "examples", "chat_template")
PRESET_OUTPUTS += ("notes", "task", "source_lang", "target_lang", "column_decoding", "tabs", "task_row")
"""What choosing a preset sets (besides clearing the results: ``RUN_OUTPUTS``)."""
RESTORE_OUTPUTS = (*LINK, "preset_info", "examples", "notes")
RESTORE_LAYOUT = ("tabs", "task_row", "settings")
"""What a share link changes of the page's layout: set by a first load event, the values after it
(``restore``), so that no box is mounted again after its value has landed (it would show its
first render's value: a link's seed came back as 0 one time in three)."""
BOX_INPUTS = ("preset", "model_1", "model_2", "model_3", "task", "target")
"""What names the two boxes: the models (and the preset's), the task and the second text."""
BOX_OUTPUTS = ("prompt", "target", "task_row")


def ordered(values: dict, names: tuple[str, ...]) -> list:
    """Outputs by name as the list an event returns; a name not given is left as it is."""
    return [values.get(name, gr.skip()) for name in names]


def greedy_first(preset: Preset) -> bool:
    """A preset whose columns decode differently (greedy next to sampled) opens with column 1 greedy."""
    return any(model.do_sample is not None for model in preset.models)


class Selection:
    """Preset, share-link and text-box handlers; mixed into ``Handlers``, whose presets, cache and parsing they use."""

    def select_preset(self, preset: str, request: gr.Request) -> list:
        """A preset fills the model slots, the first lecture prompt, its target, examples, task and
        notes, opens the results tab that makes its point, and clears the results of another (a
        run in flight ends first)."""
        name = self.parse({"preset": preset}, ("preset",)).preset
        chosen = self.preset(name) or self.presets[self.default_preset]
        slots = render.preset_slots(chosen)
        values = (
            cleared(slots)
            | self.preset_values(chosen)
            | {
                "model_1": slots[0],
                "model_2": slots[1],
                "model_3": slots[2],
                "prompt": chosen.prompts[0],
                "chat_template": "Auto",
            }
        )
        values |= self.boxes(slots, chosen.task, chosen, chosen.target)
        values["target"] = gr.Textbox(value=chosen.target, **values["target"])
        values["prompt"] = gr.Textbox(value=chosen.prompts[0], **values["prompt"])
        if request is not None and request.session_hash:  # a run in flight ends with these views
            self.supersede(request.session_hash, {name: values[name] for name in RUN_OUTPUTS})
        return ordered(values, PRESET_OUTPUTS + RUN_OUTPUTS)

    def preset_values(self, preset: Preset) -> dict:
        """What a preset sets beyond its models and prompt."""
        return {
            "preset_info": render.preset_info(preset, preset.name in self.offline_presets),
            "examples": gr.Dataset(samples=[[p] for p in preset.prompts]),
            "notes": teaching.preset_notes(preset),
            "task": preset.task,
            "source_lang": preset.source_lang,
            "target_lang": preset.target_lang,
            "column_decoding": COLUMN_DECODING[greedy_first(preset)],
            "tabs": gr.Tabs(selected=teaching.preset_view(preset)),
        }

    def switch(self, preset: str, request: gr.Request) -> list:
        """The offline stand-in of a preset, selected (the button under a run that needed the Hub)."""
        current = self.parse({"preset": preset}, ("preset",)).preset
        name = offline.stand_in(self.preset(current), self.presets, self.default_preset)
        return [name, *self.select_preset(name, request)]

    def restore_layout(self, request: gr.Request) -> list:
        """Page load, first: the tab, the task row and the settings box a share link asks for."""
        query = dict(request.query_params) if request else {}
        if not share.link_has_settings(query):
            return ordered({}, RESTORE_LAYOUT)
        settings, _ = share.decode(query, self.presets, self.default_preset, self.limits)
        preset = self.presets[settings.preset]
        task = settings.task if "task" in query else preset.task
        target = settings.target or preset.target
        return ordered(
            {
                "tabs": gr.Tabs(selected=teaching.preset_view(preset)),
                "task_row": self.boxes(settings.models or (), task, preset, target)["task_row"],
                # A link that sets generation settings opens them: whoever opens it sees them.
                "settings": gr.Accordion(open=share.link_sets_generation(query)),
            },
            RESTORE_LAYOUT,
        )

    def restore(self, request: gr.Request) -> list:
        """Page load, after ``restore_layout``: the settings of a share link. Without one the page
        keeps what it shows (the default preset), so text typed while the page loads is not
        overwritten."""
        query = dict(request.query_params) if request else {}
        settings, warnings = share.decode(query, self.presets, self.default_preset, self.limits)
        for message in warnings:
            warning(message)
        if not share.link_has_settings(query):
            return ordered({"projector": settings.projector}, RESTORE_OUTPUTS)
        preset = self.presets[settings.preset]
        values = {name: getattr(settings, name) for name in LINK} | self.preset_values(preset)
        if not share.link_names_models(settings):
            values |= dict(zip(("model_1", "model_2", "model_3"), render.preset_slots(preset), strict=True))
        values["prompt"] = settings.prompt or preset.prompts[0]
        values["target"] = settings.target or preset.target
        if "task" not in query:
            values["task"] = preset.task
        if "columns" not in query:
            values["column_decoding"] = COLUMN_DECODING[greedy_first(preset)]
        return ordered(values, RESTORE_OUTPUTS)

    def share_link(self, request: gr.Request, **values) -> str:
        """A link that reopens the page with these settings."""
        return share_url(self.parse(values, LINK), request)

    # --- the two boxes ----------------------------------------------------------------------

    def cached_facts(self, ref: str) -> ModelFacts | None:
        """Facts of a model already loaded; None if it is not (nothing is loaded here)."""
        try:
            if not isinstance(ref, str) or not ref.strip() or remote.is_remote(ref):
                return None
            loaded = self.cache.peek(ref)
            return loaded.facts if loaded is not None else None
        except PlaygroundError:
            return None

    def boxes(self, models, task: str, preset: Preset | None, target: str) -> dict:
        """The prompt box's and the second box's labels, and which of the second box and the task
        row the loaded models (or the preset) need: hidden until something uses them."""
        kinds = [f.kind for f in map(self.cached_facts, models) if f is not None]
        labels = render.box_labels(kinds, task)
        text2text = Kind.ENCODER_DECODER in kinds or bool(task) or bool(preset and preset.task)
        second = (
            bool(target and target.strip())
            or bool(preset and preset.target)
            or Kind.QUESTION_ANSWERING in kinds
            or (Kind.ENCODER_DECODER in kinds and task in ("", "generative_qa"))
        )
        return {
            "prompt": {"label": labels.prompt, "info": labels.prompt_info},
            "target": {"label": labels.second, "info": labels.second_info, "visible": second},
            "task_row": gr.Row(visible=text2text),
        }

    def label_boxes(self, **values) -> list:
        """Name the two boxes by what the loaded models do with them (a context and a question for
        QA), and show the second box and the task row where the loaded models need them."""
        settings = self.parse(values, BOX_INPUTS)
        boxes = self.boxes(settings.models, settings.task, self.preset(settings.preset), settings.target)
        return [gr.Textbox(**boxes["prompt"]), gr.Textbox(**boxes["target"]), boxes["task_row"]]


def share_url(settings: Settings, request: gr.Request | None) -> str:
    """An absolute link to this page with the settings in its query (the page's own address when
    the browser sent it, else the address the request came to)."""
    base = ""
    headers = dict(request.headers) if request is not None and getattr(request, "headers", None) else {}
    referer = headers.get("referer", "")
    if referer.startswith(("http://", "https://")):
        parts = urlsplit(referer)
        base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    elif headers.get("host"):
        scheme = headers.get("x-forwarded-proto", "http").split(",")[0].strip()
        host = headers.get("x-forwarded-host", headers["host"]).split(",")[0].strip()
        base = f"{scheme}://{host}/"
    return f"{base}?{share.encode(settings)}"
