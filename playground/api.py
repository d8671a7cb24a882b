"""One call from a notebook: compare two or three models on one or many prompts.

    import playground
    runs = playground.compare_many(["smollm2-135m-instruct", "gemma-3-270m"], ["Hello", "Bonjour"])
    runs.to_frame()          # one row per prompt and model, units in the column names
    runs.why()[0]            # why the models differ on the first prompt, in words and numbers

Models load once and stay loaded for the next call. Hub ids are checked against the network
first (``playground.hub``): offline, they fail at once instead of retrying a connection. The
process's torch thread setting is as it was after the call (the engine gives each model a share
of the cores while they run side by side).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

import torch

from playground import export, export_result, hub, report
from playground.cache import ModelCache
from playground.causes import Cause
from playground.compare import MAX_MODELS, MIN_MODELS, Column, Request, Result, compare
from playground.errors import PlaygroundError
from playground.generation import GenerationSettings
from playground.limits import Limits
from playground.presets import Preset
from playground.suggest import check_reference, did_you_mean

log = logging.getLogger(__name__)

GENERATION_KEYS = tuple(f.name for f in fields(GenerationSettings))
REQUEST_KEYS = ("target", "task", "source_lang", "target_lang")
SAMPLING_KEYS = ("temperature", "top_p", "top_k")
OTHER_KEYS = ("device", "dtype", "cache", "limits")
SETTING_KEYS = GENERATION_KEYS + REQUEST_KEYS + OTHER_KEYS
# Column name -> (metric key of export.metrics, factor from its SI unit to the column's unit).
FRAME_METRICS = {
    "prompt tokens": ("prompt_tokens", 1),
    "new tokens": ("new_tokens", 1),
    "perplexity": ("perplexity", 1),
    "bits per byte": ("bits_per_byte", 1),
    "time to first token (s)": ("time_to_first_token", 1),
    "decode speed (tokens/s)": ("decode_speed", 1),
    "total time (s)": ("total_time", 1),
    "load time (s)": ("load_time", 1),
    "weights (MB)": ("weights", 1e-6),
    "memory growth (MB)": ("memory_growth", 1e-6),
}
PERPLEXITY_OF = {"causal": "the prompt", "conditional": "the target given the prompt", "pseudo": "the prompt (pseudo)"}

_caches: dict[tuple[str | None, str | None], ModelCache] = {}


@dataclass(frozen=True)
class Comparisons:
    """The results of the same models on each prompt: ``runs[i].results[j]`` is model j on prompt i."""

    columns: tuple[Column, ...]
    runs: tuple[export.PromptRun, ...]
    request: Request  # the settings every prompt ran with (its text is the first prompt)
    preset: str | None = None
    given: dict = field(default_factory=dict)
    _why: list = field(default_factory=list, init=False, repr=False, compare=False)  # why(), once

    @property
    def results(self) -> list[Result]:
        """Every result, prompt by prompt, in column order."""
        return [r for run in self.runs for r in run.results]

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.status == "error"]

    def to_frame(self):
        """A pandas DataFrame: one row per prompt and model, the unit of each number in its column name."""
        import pandas as pd

        rows = []
        for number, run in enumerate(self.runs, start=1):
            for column, result in zip(self.columns, run.results, strict=True):
                values = export_result.metrics(result)
                row = {
                    "prompt #": number,
                    "prompt": run.prompt,
                    "model": result.model,
                    "reference": column.reference,
                    "kind": result.facts.kind if result.facts else None,
                    "status": result.status,
                    "output": result.output,
                }
                for name, (key, factor) in FRAME_METRICS.items():
                    value = values[key]["value"]
                    row[name] = None if value is None else value * factor
                row["perplexity of"] = PERPLEXITY_OF.get(result.score.kind) if result.score else None
                row["dtype"] = result.facts.dtype if result.facts else None
                row["decoded with"] = result.generation.precision if result.generation else None
                row["error"] = result.error
                rows.append(row)
        return pd.DataFrame(rows)

    def why(self) -> list[list[Cause]]:
        """Why the models differ, per prompt in order: the causes in words and numbers
        (``playground.why.explain``; the rules are in docs/teaching.md)."""
        if not self._why:  # the alignment behind them is the slow part: worked out once
            self._why.extend(export.explain(run, self.columns, self.request) for run in self.runs)
        return [list(causes) for causes in self._why]

    def to_json(self, producer: str = "python") -> str:
        """The versioned JSON export (docs/export-schema.md)."""
        return export.dumps(self.document(producer))

    def document(self, producer: str = "python") -> dict:
        return export.document(
            self.runs,
            columns=self.columns,
            request=self.request,
            given=self.given,
            preset=self.preset,
            producer=producer,
            causes=self.why(),
        )

    def to_csv(self) -> str:
        """One row per prompt and model (report.runs_to_csv)."""
        return report.runs_to_csv(self.runs)


def compare_many(
    models: Sequence[str | Column] | Preset,
    prompts: str | Sequence[str] | None = None,
    *,
    progress: Callable[[int, int, list[Result]], None] | None = None,
    **settings,
) -> Comparisons:
    """Run every prompt through the same 2-3 models; the models load once.

    ``models``: a list of model names (packaged names, Hub ids, local folders), ``Column``s, or a
    ``Preset`` (its columns, and its first example prompt when ``prompts`` is None).
    ``prompts``: one text or a list of texts. ``settings``: ``GenerationSettings`` fields
    (max_new_tokens, do_sample, temperature, top_p, top_k, seed, use_chat_template, speed), the
    request's target, task, source_lang and target_lang, and device, dtype, cache and limits.
    ``progress(done, total, results)`` is called after each prompt.
    """
    columns, preset = check_models_argument(models)
    texts = check_prompts_argument(prompts, preset)
    check_setting_names(settings)
    check_sampling(columns, settings)
    for column in columns:
        check_reference(column.reference)
    generation = GenerationSettings(**{k: settings[k] for k in GENERATION_KEYS if k in settings})
    limits = settings.get("limits") or default_limits()
    requests = [Request(text, generation=generation, **{k: settings.get(k) for k in REQUEST_KEYS}) for text in texts]
    for request in requests:  # every prompt is checked before any model loads
        request.check(limits)
    cache = settings.get("cache") or default_cache(settings.get("device"), settings.get("dtype"))
    hub.missing_offline([c.reference for c in columns])  # offline, a Hub id then fails at once
    runs = []
    for number, request in enumerate(requests, start=1):  # compare() restores torch's thread count
        log.info("prompt %d of %d: %s", number, len(requests), _shorten(request.text))
        results = compare(list(columns), request, cache, limits)
        runs.append(export.PromptRun(request.text, tuple(results)))
        if progress is not None:
            progress(number, len(requests), results)
    given = {k: v for k, v in settings.items() if k not in ("cache", "limits")}
    return Comparisons(
        tuple(columns), tuple(runs), requests[0], preset.name if preset else None, export_result.plain(given)
    )


def default_cache(device: str | torch.device | None = None, dtype: str | None = None) -> ModelCache:
    """One model cache per device and dtype for the whole process, so a second call reuses the models."""
    from playground.models import parse_dtype

    chosen = check_device(device) if device is not None else None
    key = (str(chosen) if chosen else None, str(dtype) if dtype else None)
    if key not in _caches:
        _caches[key] = ModelCache(device=chosen, dtype=parse_dtype(dtype) if dtype else None)
    return _caches[key]


def default_limits() -> Limits:
    """The deployment's limits from the environment, as the page reads them (``Limits.from_env``)."""
    from playground.presets import load_presets

    return Limits.from_env({m.id for p in load_presets().values() for m in p.models})


def check_device(name: str | torch.device) -> torch.device:
    """A torch device this machine has; "gpu" means "cuda". Anything else: a message naming what to use."""
    if isinstance(name, torch.device):
        device = name
    else:
        text = str(name).strip().lower()
        text = "cuda" + text[3:] if text.startswith("gpu") else text
        try:
            device = torch.device(text)
        except (RuntimeError, ValueError):
            raise PlaygroundError(f"Unknown device '{name}': use cpu, cuda or cuda:N.") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, no GPU visible"
            raise PlaygroundError(
                f"Device '{name}': this machine has no CUDA GPU (torch {torch.__version__}, {build}). "
                "Use the CPU: leave the device out or give cpu."
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise PlaygroundError(
                f"Device '{name}': this machine has {torch.cuda.device_count()} GPU(s), cuda:0 to "
                f"cuda:{torch.cuda.device_count() - 1}."
            )
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise PlaygroundError(f"Device '{name}': Apple's MPS is not available here. Use cpu.")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise PlaygroundError(f"Device '{name}': the playground runs on cpu, cuda or mps.")
    return device


def check_models_argument(models) -> tuple[list[Column], Preset | None]:
    """The columns of a models argument, or a message saying what to pass instead."""
    if isinstance(models, Preset):
        return models.columns, models
    if isinstance(models, str):
        from playground.presets import PRESET_DIR

        hint = (
            f" For the preset '{models}', pass playground.presets.get_preset('{models}')."
            if (PRESET_DIR / f"{models}.yaml").is_file()
            else ""
        )
        raise PlaygroundError(
            f"models must be a list of {MIN_MODELS} or {MAX_MODELS} models, e.g. "
            f"['smollm2-135m-instruct', 'gemma-3-270m'], not the text '{models[:60]}'.{hint}"
        )
    if not isinstance(models, list | tuple):
        raise PlaygroundError(
            f"models must be a list of {MIN_MODELS} or {MAX_MODELS} models (got {type(models).__name__})."
        )
    for model in models:
        if not isinstance(model, str | Column):
            raise PlaygroundError(f"Each model must be a name or a Column (got {type(model).__name__}: {model!r:.40}).")
    if not MIN_MODELS <= len(models) <= MAX_MODELS:
        raise PlaygroundError(f"Compare {MIN_MODELS} or {MAX_MODELS} models; {len(models)} given.")
    return [m if isinstance(m, Column) else Column(m.strip()) for m in models], None


def check_prompts_argument(prompts, preset: Preset | None) -> list[str]:
    if prompts is None:
        if preset is None:
            raise PlaygroundError("Give the prompts: one text, or a list of texts.")
        return [preset.prompts[0]]
    if isinstance(prompts, str):
        return [prompts]
    if not isinstance(prompts, list | tuple) or not prompts:
        raise PlaygroundError(f"prompts must be a text or a non-empty list of texts (got {type(prompts).__name__}).")
    for i, prompt in enumerate(prompts, start=1):
        if not isinstance(prompt, str):
            raise PlaygroundError(f"Prompt {i} must be text (got {type(prompt).__name__}).")
    return list(prompts)


def check_setting_names(settings: dict) -> None:
    for name in settings:
        if name not in SETTING_KEYS:
            hint = did_you_mean(name, SETTING_KEYS)
            raise PlaygroundError(f"Unknown setting '{name}'.{hint} Settings: {', '.join(SETTING_KEYS)}.")


def check_sampling(columns: Sequence[Column], settings: dict, spell=lambda key: key, fix="pass do_sample=True") -> None:
    """Temperature, top-p and top-k change only sampled columns: refuse them where no column samples,
    rather than ignore them. ``spell`` names a setting as the caller wrote it; ``fix`` says what to add."""
    given = [spell(k) for k in SAMPLING_KEYS if settings.get(k) is not None]
    samples = settings.get("do_sample") or any(c.do_sample for c in columns)
    if given and not samples:
        raise PlaygroundError(
            f"{' and '.join(given)} only {'changes' if len(given) == 1 else 'change'} sampled columns, and every "
            f"column here decodes greedily: {fix}, or leave {' and '.join(given)} out."
        )


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
