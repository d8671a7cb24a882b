"""The line under Run: what the comparison is doing, its load progress, and the prompt it is for.

``data-phase`` (idle, loading, running, finished, stopped, failed, offline) and ``data-prompt``
let the page's script scroll the results into view when they arrive and mark results whose
prompt was edited since (web/static/page.js).
"""

from __future__ import annotations

from playground.compare import FINISHED, Result
from web.escape import esc

PROMPT_SHOWN = 60


def idle() -> str:
    return '<div class="pg-status" data-phase="idle">Press Run: it loads the models that are not loaded yet.</div>'


def run_status(
    results: list[Result],
    seconds: float,
    prompt: str,
    *,
    load_fraction: float = 0.0,
    final: bool = False,
    stopped: bool = False,
) -> str:
    """The run's phase in words, with a progress bar while models load."""
    count = len(results)
    failed = sum(r.status == "error" for r in results)
    if final and stopped:
        kept = sum(r.status == "stopped" and bool(r.output) for r in results)
        phase, text = (
            "stopped",
            f"Stopped after {seconds:.1f} s" + (f" · {kept} of {count} columns keep their text so far" if kept else ""),
        )
    elif final:
        phase = "failed" if failed == count else "finished"
        text = f"Finished in {seconds:.1f} s" + (f" · {failed} of {count} failed" if failed else "")
    elif any(r.status == "loading" for r in results):
        phase = "loading"
        text = f"Loading models… {load_fraction:.0%} · {seconds:.0f} s"
    else:
        done = sum(r.status in FINISHED for r in results)
        phase, text = "running", f"Running… {done} of {count} finished · {seconds:.0f} s"
    bar = (
        f'<progress class="pg-load" max="1" value="{load_fraction:.3f}" aria-label="models loaded"></progress>'
        if phase == "loading"
        else ""
    )
    return (
        f'<div class="pg-status" data-phase="{phase}" data-prompt="{esc(prompt)}" role="status">'
        f"<b>{esc(text)}</b>{bar}{_for_prompt(prompt)}</div>"
    )


def hub_needed(message: str, prompt: str) -> str:
    """A run that did not start: the Hub is unreachable and the models need it."""
    return (
        f'<div class="pg-status pg-status-offline" data-phase="offline" data-prompt="{esc(prompt)}" role="status">'
        f"<b>Not run:</b> {esc(message)}</div>"
    )


def _for_prompt(prompt: str) -> str:
    shown = prompt if len(prompt) <= PROMPT_SHOWN else prompt[:PROMPT_SHOWN] + "…"
    return f' <span class="pg-for">for the prompt “{esc(shown)}”</span>'
