"""The web page of the playground (Gradio). ``playground`` never imports this package.

- ``settings``: the one settings schema (page inputs, API parameters, share links, checks);
  ``share``: share links from it.
- ``components``: the layout; ``events``: the wiring, every event with an ``api_name``.
- ``handlers`` (and ``teaching``): thin handlers that parse, call ``playground`` and render.
- ``runs``: one comparison in flight (load what is missing, then ``compare_stream``);
  ``results``: what a run fills; ``gpu``: the functions ZeroGPU wraps; ``offline``: the Hub probe.
- ``render``: the views as HTML; ``escape``: the one escaping function; ``static``: page.js, page.css.
- ``visitors``: a fair share of the queue per visitor; ``watchdog``: no work for nobody;
  ``uploads``: every upload refused.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from playground.cache import ModelCache
from playground.presets import Preset, load_presets
from web import components, events, offline
from web.events import CONCURRENCY, QUEUE_SIZE
from web.handlers import Handlers
from web.uploads import RefuseUploads
from web.visitors import Admission, QueueRules
from web.watchdog import Watchdog

STATIC = Path(__file__).resolve().parent / "static"
__all__ = ["CONCURRENCY", "QUEUE_SIZE", "build_demo", "launch_options", "serving_options"]


def build_demo(
    presets: dict[str, Preset] | None = None,
    cache: ModelCache | None = None,
    export_dir: Path | None = None,
    rules: QueueRules | None = None,
) -> gr.Blocks:
    """The page. By default: the preset folder, a model cache made on first use, exports in a temp
    folder, the queue's rules from the environment (``web.visitors``). The Hub is probed first
    (once per process), so that presets it alone serves are marked."""
    offline.hub_offline()
    handlers = Handlers(presets or load_presets(), cache, export_dir)
    rules = rules or QueueRules.from_env()
    with gr.Blocks(title="Model Comparison Playground", delete_cache=(3600, 86400)) as demo:
        watchdog = Watchdog(demo, rules.unread_seconds)
        # The first job admitted starts the watchdog on the server's event loop (validators run there).
        admission = Admission(demo, rules, on_admit=watchdog.ensure_running)
        page = components.build(handlers.presets, handlers.default_preset, handlers.limits, handlers.offline_presets)
        events.wire(demo, page, handlers, admission)
    # api_open=False: no endpoint can be called around the queue (Gradio opens /gradio_api/run/<name>
    # to direct calls outside Spaces), so every job is admitted, counted and watched.
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE, api_open=False)
    return demo


FONT = (gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "system-ui", "sans-serif")
"""The page's font, from the files Gradio ships. Its default asks for weights 400 and 600, and the
600 file Gradio ships holds only a few letters: bold text took the others (B, A, …) from another
font, so "BPE" read as a small "B". 400 and 700 are whole fonts; semi-bold text uses 700."""


def launch_options() -> dict:
    """Theme, style sheet and script (web/static): in Gradio 6 these go to ``launch()``."""
    return {
        "theme": gr.themes.Default(primary_hue="blue", font=FONT),
        "css_paths": [STATIC / "page.css"],
        "js": (STATIC / "page.js").read_text(encoding="utf-8"),
    }


def serving_options() -> dict:
    """What the server allows a visitor beyond the page's own events (docs/security.md): no uploads
    (the page takes none: 413, empty files included), no file paths outside Gradio's cache, no
    internal error text (the page's own messages are gr.Error and are always shown), no
    monitoring and no MCP tools."""
    return {
        "app_kwargs": {"middleware": [Middleware(RefuseUploads)]},
        "max_file_size": 0,
        "allowed_paths": [],
        "show_error": False,
        "enable_monitoring": False,
        "mcp_server": False,
    }
