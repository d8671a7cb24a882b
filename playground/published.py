"""Size without confounds: published figures of one family across sizes, and when a size chart may
draw a trend.

Two models from different families differ in training data, tokenizer and tuning as well as in
size, so a chart of their scores against parameters does not show what size does: offline, the
bigger packaged model (Gemma-3-270M) is not better per byte than the smaller one (SmolLM2-135M)
on every text. What does show size is one family trained the same way at several sizes, as in
the GPT-2 paper (same data, same tokenizer, four sizes). Its figures live in
``playground/data/published.yaml``, each value with the paper, table and address it comes from,
and labelled "published" wherever it is shown. ``size_comparison`` decides, for loaded models,
whether they are such a family; a chart of anything else says so and draws no line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from playground.errors import PlaygroundError
from playground.facts import ModelFacts, short_name

DATA = Path(__file__).resolve().parent / "data" / "published.yaml"
PUBLISHED = "published"
NOT_A_SIZE_COMPARISON = "different families: not a size comparison"
SAME_SIZE = 1.1  # parameter counts within 10 % of each other are one size: there is no trend to draw


@dataclass(frozen=True)
class Source:
    """Where a figure was published: the paper, the place in it (table, section) and its address."""

    paper: str
    where: str
    url: str


@dataclass(frozen=True)
class Member:
    """One size of a family, as its paper lists it; ``training_tokens`` None: not published."""

    family: str
    model: str
    parameters: float
    layers: int
    width: int
    training_tokens: float | None
    hub_id: str | None
    source: Source


@dataclass(frozen=True)
class Figure:
    """One published value of one metric for one size of a family."""

    family: str
    model: str
    parameters: float  # as the paper counts them
    metric: str
    unit: str
    lower_is_better: bool
    setting: str  # how it was measured, e.g. "zero-shot"
    value: float
    source: Source
    label: str = PUBLISHED


@dataclass(frozen=True)
class Family:
    """Models of one architecture, tokenizer and training data at several sizes.

    ``same_recipe`` is False where the members were also trained differently (Chinchilla saw
    more tokens than Gopher): their figures then compare training budgets, not sizes.
    """

    name: str
    architecture: str
    tokenizer: str
    training: str
    same_recipe: bool
    note: str
    members: tuple[Member, ...]
    figures: tuple[Figure, ...]

    @property
    def metrics(self) -> list[str]:
        return list(dict.fromkeys(f.metric for f in self.figures))


@cache
def families() -> dict[str, Family]:
    """Every published family, by name, in the order of the data file."""
    try:
        data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PlaygroundError(f"The published figures ({DATA.name}) could not be read: {exc}") from exc
    sources = data["sources"]
    return {item["name"]: _family(item, sources) for item in data["families"]}


def size_series(family: str | None = None, metric: str | None = None) -> list[Figure]:
    """Published figures across sizes: of one family and metric, or all of them; smallest first."""
    chosen = families()
    if family is not None:
        if family not in chosen:
            raise PlaygroundError(f"No published figures for '{family}'. Families: {', '.join(chosen)}.")
        chosen = {family: chosen[family]}
    figures = [f for fam in chosen.values() for f in fam.figures if metric is None or f.metric == metric]
    if metric is not None and not figures:
        known = sorted({f.metric for fam in chosen.values() for f in fam.figures})
        raise PlaygroundError(f"No published '{metric}' figures here. Metrics: {', '.join(known)}.")
    return sorted(figures, key=lambda f: (f.family, f.metric, f.parameters))


def _family(item: dict, sources: dict) -> Family:
    name = item["name"]
    cited = sources[item["source"]]
    rows = item["models"]["rows"]
    where = item["models"]["where"]
    members = tuple(
        Member(
            name,
            row["model"],
            float(row["parameters"]),
            row["layers"],
            row["width"],
            float(row["training_tokens"]) if row.get("training_tokens") else None,
            row.get("hub_id"),
            Source(cited["paper"], where, cited["url"]),
        )
        for row in rows
    )
    figures = []
    for metric in item["metrics"]:
        if len(metric["values"]) != len(members):
            raise PlaygroundError(
                f"{DATA.name}: {name}, {metric['name']} has {len(metric['values'])} values for {len(members)} models."
            )
        for member, value in zip(members, metric["values"], strict=True):
            if value is None:
                continue
            place = value.get("where", metric["where"]) if isinstance(value, dict) else metric["where"]
            number = value["value"] if isinstance(value, dict) else value
            figures.append(
                Figure(
                    name,
                    member.model,
                    member.parameters,
                    metric["name"],
                    metric["unit"],
                    metric["lower_is_better"],
                    metric["setting"],
                    float(number),
                    Source(cited["paper"], place, cited["url"]),
                )
            )
    return Family(
        name,
        item["architecture"],
        item["tokenizer"],
        item["training"],
        item["same_recipe"],
        " ".join(item["note"].split()),
        members,
        tuple(figures),
    )


# --- may a chart of loaded models draw a size trend? ---------------------------------------------


@dataclass(frozen=True)
class SizeComparison:
    """Whether loaded models differ in size alone, and what the chart says about it.

    ``trend``: the chart may draw a line through the models. ``label``: said on the chart
    itself. ``differences``: everything besides size that differs (empty for one family).
    """

    trend: bool
    label: str
    differences: tuple[str, ...]


_SIZE_PART = re.compile(r"^(\d+(\.\d+)?[kmbt]|small|medium|large|xl|xxl|base|tiny|mini)$")


def series_name(name: str) -> str:
    """A model's name without its size: "openai-community/gpt2-large" -> "openai-community/gpt2",
    "SmolLM2-360M-Instruct" -> "smollm2-instruct". Two sizes of one release share it."""
    name = name.split("@")[0].rstrip("/")
    owner = name.split("/")[0] + "/" if name.count("/") == 1 and not name.startswith(".") else ""
    parts = [p for p in short_name(name).lower().split("-") if not _SIZE_PART.match(p)]
    return owner.lower() + "-".join(parts)


def size_comparison(facts: Sequence[ModelFacts], training: Sequence[str | None] | None = None) -> SizeComparison:
    """May a chart of these models against their parameter count draw a trend line?

    Only if they are one family: the same kind, architecture, tokenizer (algorithm and
    vocabulary), tuning, precision and name apart from the size (``series_name``), and the same
    training data where it is stated (``training``, one statement per model, e.g. a preset's).
    The name rule only ever withholds a trend: two releases that share an architecture and a
    tokenizer (Llama-style models of different makers) were still trained on different data.
    """
    if len(facts) < 2:
        return SizeComparison(False, "one model: no size comparison", ())
    checks = {
        "kind": [f.kind for f in facts],
        "architecture": [f.model_type for f in facts],
        "tokenizer": [f.tokenizer for f in facts],
        "tuning": ["instruct" if f.instruct else "base" for f in facts],
        "precision": [f.dtype for f in facts],
        "family name": [series_name(f.name) for f in facts],
    }
    stated = [" ".join(t.lower().split()) for t in training or () if t and t.strip()]
    if len(stated) == len(facts):
        checks["training data"] = stated
    differences = tuple(
        f"{what}: {' vs '.join(dict.fromkeys(values))}" for what, values in checks.items() if len(set(values)) > 1
    )
    if differences:
        return SizeComparison(False, NOT_A_SIZE_COMPARISON, differences)
    sizes = [f.parameters for f in facts]
    if max(sizes) < SAME_SIZE * min(sizes):
        return SizeComparison(False, "one family at one size: no size trend", ())
    return SizeComparison(True, f"one family ({checks['family name'][0]}): only the size differs", ())
