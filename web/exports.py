"""The JSON and CSV downloads of a finished run, and their clean-up.

Each run writes into its own folder under the page's export folder; Gradio serves its own copies
(its ``delete_cache`` removes those), and these originals are pruned by a later run after
``EXPORT_SECONDS``.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import time
from pathlib import Path

from playground import report
from playground.compare import Column, Request, Result

log = logging.getLogger(__name__)

EXPORT_SECONDS = 3600
"""How long a run's JSON and CSV stay on the server."""


def prune(folder: Path, max_age_s: float) -> None:
    """Delete the run folders in ``folder`` older than ``max_age_s``; one that vanishes meanwhile
    (another run pruning) is fine."""
    cutoff = time.time() - max_age_s
    for run in folder.iterdir():
        with contextlib.suppress(OSError):
            if run.is_dir() and run.stat().st_mtime < cutoff:
                shutil.rmtree(run)


def write(
    folder: Path, results: list[Result], form: dict, request: Request, columns: list[Column]
) -> tuple[Path, Path]:
    """comparison.json and comparison.csv of one run, in a new folder; OSError if the disk refuses.
    ``form`` is the page's settings; ``request`` and ``columns`` what the engine ran."""
    folder.mkdir(parents=True, exist_ok=True)
    prune(folder, EXPORT_SECONDS)
    run = Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=folder))
    json_path, csv_path = run / "comparison.json", run / "comparison.csv"
    document = report.to_json(results, form, request=request, columns=columns or None, producer="web page")
    json_path.write_text(document, encoding="utf-8")
    csv_path.write_text(report.to_csv(results), encoding="utf-8")
    return json_path, csv_path
