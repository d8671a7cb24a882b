"""Walk the lecture's seven points on the offline presets, as a lecturer on a projector would.

Serves the page with the packaged models (no Hub needed), opens it in headless Chromium at
1280x720 in projector mode, and for each point of ``playground.lecture.LECTURE_POINTS`` picks its
offline preset, presses Run, opens the point's view and takes a screenshot of what the room sees
(point-<n>-<slug>.png, and a full-page one). It prints, per point, the preset, the "why they
differ" lines and what the view says, as JSON.

    python scripts/lecture_walk.py --out test-artifacts/offline

The first run converts the packaged weights once (about a minute each on two CPU cores); later
runs load them from $PLAYGROUND_CACHE.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from playground.lecture import LECTURE_POINTS  # noqa: E402
from playground.presets import load_presets  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 720}
TAB_NAMES = {
    "outputs": "Outputs",
    "size": "Size & metrics",
    "tokens": "Tokenizers",
    "surprise": "Surprise",
    "next": "Next token",
    "facts": "Facts & cost",
}
VIEW_ELEMENT = {
    "outputs": "#pg-col-1",
    "size": "#pg-size",
    "tokens": "#pg-tokens",
    "surprise": "#pg-surprise",
    "next": "#pg-next",
    "facts": "#pg-facts",
}
log = logging.getLogger("lecture_walk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve() -> str:
    import app

    demo = app.build_demo()
    _, url, _ = demo.launch(
        server_name="127.0.0.1",
        server_port=free_port(),
        prevent_thread_lock=True,
        quiet=True,
        **app.launch_options(),
        **app.serving_options(),
    )
    return url.rstrip("/")


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def choose_preset(page: Page, title: str, first_model: str) -> None:
    page.locator("#pg-preset input").click()
    page.get_by_role("option", name=re.compile(f"^{re.escape(title)}")).click()
    expect(page.locator("#pg-model-1 input, #pg-model-1 textarea").first).to_have_value(first_model, timeout=20_000)
    page.wait_for_timeout(500)


def run(page: Page, timeout_s: float) -> float:
    status = page.locator("#pg-run-status")
    status.evaluate("e => e.querySelectorAll('.pg-status').forEach(s => s.remove())")
    started = time.monotonic()
    page.locator("#pg-run").click()
    expect(status).to_contain_text(re.compile("Finished in|Stopped after"), timeout=timeout_s * 1000)
    page.wait_for_function("() => !document.querySelector('.pending, .generating')", timeout=timeout_s * 1000)
    return time.monotonic() - started


def walk(url: str, out: Path, timeout_s: float) -> list[dict]:
    presets = load_presets()
    found = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.goto(url + "/?projector=1")
        expect(page.locator("#pg-projector input")).to_be_checked(timeout=30_000)
        for point in LECTURE_POINTS:
            preset = presets[point.offline_preset]
            choose_preset(page, preset.title, preset.models[0].id)
            seconds = run(page, timeout_s)
            tab = page.get_by_role("tab", name=TAB_NAMES[point.view], exact=True)
            tab.click()
            expect(tab).to_have_attribute("aria-selected", "true")
            if point.view == "next":
                expect(page.locator("#pg-next .pg-cands").first).to_be_visible(timeout=timeout_s * 1000)
            page.wait_for_timeout(500)
            top = "#pg-facts" if point.view == "facts" else "#pg-results"  # the facts table under the cost
            page.locator(top).first.evaluate("e => e.scrollIntoView({block: 'start'})")
            name = f"point-{point.number}-{slug(point.title)}"
            page.screenshot(path=out / f"{name}.png")
            page.screenshot(path=out / f"{name}-full.png", full_page=True)
            view = page.locator(VIEW_ELEMENT[point.view]).first.inner_text()
            found.append(
                {
                    "point": point.number,
                    "title": point.title,
                    "preset": point.offline_preset,
                    "run_seconds": round(seconds, 1),
                    "screenshot": str(out / f"{name}.png"),
                    "why": page.locator("#pg-why li").all_inner_texts(),
                    "view": " ".join(view.split())[:1500],
                }
            )
            log.info("point %d done in %.0f s", point.number, seconds)
        browser.close()
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "offline")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a run may take (first runs convert)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.out.mkdir(parents=True, exist_ok=True)
    found = walk(serve(), args.out, args.timeout)
    (args.out / "walk.json").write_text(json.dumps(found, indent=1, ensure_ascii=False))
    json.dump(found, sys.stdout, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
