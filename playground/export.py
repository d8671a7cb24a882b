"""The JSON export: one versioned document for the page's downloads, the /compare endpoint, the
command line and ``compare_many(...).to_json()``.

The document is built field by field from the results (never ``asdict`` of internal classes), so
a refactor inside the engine does not change it. Every field is described in
docs/export-schema.md and checked by the JSON Schema in ``playground/export-schema.json``.
A new optional field raises the minor version; removing or renaming a field, the major one.
"""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from playground import why
from playground.causes import Cause
from playground.compare import Column, Request, Result, as_columns
from playground.export_result import plain, result_entry

SCHEMA_VERSION = "1.1"  # 1.1: why they differ, per prompt
SCHEMA_FILE = Path(__file__).with_name("export-schema.json")

SETTING_FIELDS = (
    "max_new_tokens",
    "do_sample",
    "temperature",
    "top_p",
    "top_k",
    "seed",
    "use_chat_template",
    "speed",
    "target",
    "task",
    "source_lang",
    "target_lang",
)


@dataclass(frozen=True)
class PromptRun:
    """The results of the models on one prompt, in column order."""

    prompt: str
    results: Sequence[Result]


def document(
    runs: Sequence[PromptRun],
    *,
    columns: Sequence[Column | str] | None = None,
    request: Request | None = None,
    given: Mapping | None = None,
    preset: str | None = None,
    producer: str | None = None,
    device: str | None = None,
    causes: Sequence[Sequence[Cause]] | None = None,
) -> dict:
    """The export of one or more prompts run through the same models, as plain JSON data.

    ``columns`` are the models as the caller named them (a column's reference and its own
    decoding choices); ``request`` the engine's settings; ``given`` the settings as the caller
    wrote them (the page's form, the command's options), kept verbatim under ``request``;
    ``causes`` each prompt's "why they differ" when the caller has worked them out already.
    """
    given = dict(given or {})
    results = [r for run in runs for r in run.results]
    models = len(runs[0].results) if runs else 0
    column_list = _columns(columns, given, models)
    if causes is None:
        causes = [explain(run, column_list if len(column_list) == len(run.results) else None, request) for run in runs]
    return {
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "producer": producer,
        "versions": versions(),
        "machine": machine(device or _device_of(results), models),
        "preset": preset if preset is not None else (given.get("preset") or None),
        "settings": settings(request, given),
        "request": plain(given),
        "prompts": [run.prompt for run in runs],
        "results": [
            result_entry(index, run.prompt, result, column_list[i] if i < len(column_list) else None)
            for index, run in enumerate(runs)
            for i, result in enumerate(run.results)
        ],
        "why": [cause_entry(index, cause) for index, found in enumerate(causes) for cause in found],
    }


def explain(run: PromptRun, columns: Sequence[Column] | None, request: Request | None) -> list[Cause]:
    """Why the models differ on one prompt (``why.explain``). ``request`` holds the settings every
    prompt ran with; its text is replaced by the run's prompt. Without a request the causes that
    need the text or the decoding settings (surprising word, decoding) are left out."""
    if request is not None and request.text != run.prompt:
        request = replace(request, text=run.prompt)
    return why.explain(run.results, request, columns)


def cause_entry(index: int, cause: Cause) -> dict:
    """One cause as the export writes it: the prompt it explains, its name, sentence and numbers."""
    return {"prompt_index": index, "cause": cause.cause, "sentence": cause.sentence, "numbers": plain(cause.numbers)}


def lines(data: dict) -> list[dict]:
    """The document as JSON Lines: one result per line with the schema version and the causes of
    its prompt, so that each line can be read on its own."""
    causes: dict[int, list[dict]] = {}
    for entry in data["why"]:
        causes.setdefault(entry["prompt_index"], []).append(entry)
    return [
        {"schema_version": data["schema_version"], **entry, "why": causes.get(entry["prompt_index"], [])}
        for entry in data["results"]
    ]


def dumps(data: dict) -> str:
    """Strict JSON (no NaN or Infinity: a number that is not finite is written as null)."""
    return json.dumps(_finite(data), indent=2, ensure_ascii=False, allow_nan=False)


def dumps_line(data: dict) -> str:
    """Strict JSON on one line, for JSON Lines output."""
    return json.dumps(_finite(data), ensure_ascii=False, allow_nan=False)


def versions() -> dict:
    import torch
    import transformers

    from playground import __version__

    try:
        gradio = metadata.version("gradio")
    except metadata.PackageNotFoundError:
        gradio = None
    return {
        "playground": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "gradio": gradio,
    }


def machine(device: str, models: int) -> dict:
    """Where the comparison ran. ``threads_per_model``: the CPU threads each model's operations
    used side by side (``compare.threads_per_model``); None on a GPU."""
    import torch

    from playground.compare import threads_per_model

    on_cpu = device.startswith("cpu")
    return {
        "platform": platform.platform(),
        "architecture": platform.machine(),
        "cpu_count": os.cpu_count(),
        "device": device,
        "accelerator": torch.cuda.get_device_name(0) if torch.cuda.is_available() and not on_cpu else None,
        "torch_threads": torch.get_num_threads(),
        "threads_per_model": threads_per_model(models) if on_cpu and models else None,
    }


def settings(request: Request | None, given: Mapping) -> dict:
    """The engine's settings: from the Request when there is one, else read from the caller's form."""
    if request is not None:
        gen = request.generation
        values = {f.name: getattr(gen, f.name) for f in fields(gen)}
        values |= {k: getattr(request, k) for k in ("target", "task", "source_lang", "target_lang")}
    else:
        values = {k: given.get(k) for k in SETTING_FIELDS}
        if values["do_sample"] is None and "decoding" in given:  # the page's "Greedy" / "Sampling"
            values["do_sample"] = given["decoding"] == "Sampling"
        template = given.get("chat_template", given.get("template"))  # the page's "Auto" / "On" / "Off"
        if values["use_chat_template"] is None and template in ("On", "Off"):
            values["use_chat_template"] = template == "On"
    values = {k: values.get(k) for k in SETTING_FIELDS}
    return {k: (v or None) if k in ("target", "task", "source_lang", "target_lang") else v for k, v in values.items()}


def _columns(columns: Sequence[Column | str] | None, given: Mapping, count: int) -> list[Column]:
    if columns is not None:
        return as_columns(list(columns))
    # The page's form lists up to three model boxes; the filled ones are the columns, in order.
    boxes = given.get("models") or [given.get(f"model_{i}") for i in range(1, 4)]
    named = [m for m in boxes if isinstance(m, str) and m.strip()]
    return [Column(m.strip()) for m in named] if len(named) == count else []


def _device_of(results: Sequence[Result]) -> str:
    devices = [r.facts.device for r in results if r.facts]
    return devices[0] if devices else "cpu"


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
