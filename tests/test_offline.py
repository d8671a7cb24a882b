"""The page with the Hugging Face Hub unreachable: a Hub preset answers at once, and the next run is not held up.

The page runs in its own process, as ``python app.py`` would, with HF_ENDPOINT pointing at a
closed port on 127.0.0.1: once with HF_HUB_OFFLINE=1 set by the administrator, once with only
the start-up probe to find out. Run on a preset whose models live on the Hub must answer within
a second, name the offline stand-in and offer to switch to it; a normal run right after must
finish at once, not wait behind connection retries.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from tests.conftest_app import free_port, run_args
from web.results import RUN_OUTPUTS

ROOT = Path(__file__).resolve().parents[1]
HUB_PRESET = "model-types"
HUB_MODELS = ["google-bert/bert-base-uncased", "openai-community/gpt2", "google/flan-t5-small"]
SERVER = textwrap.dedent(
    """
    import json, pathlib, sys, time
    import app
    from playground.presets import load_presets
    from tests.conftest_app import build_tiny_models, tiny_presets

    folder, port = pathlib.Path(sys.argv[1]), int(sys.argv[2])
    paths = build_tiny_models(folder / "models")
    demo = app.build_demo(presets=load_presets() | tiny_presets(paths), export_dir=folder / "exports")
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **app.launch_options(), **app.serving_options())
    print("READY", json.dumps(paths), flush=True)
    while True:
        time.sleep(1)
    """
)


@pytest.fixture(scope="module", params=["HF_HUB_OFFLINE=1", "start-up probe"])
def offline_page(request, tmp_path_factory):
    """The page in a child process with the Hub's address on a closed port; yields (url, tiny model paths, log)."""
    closed, port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env |= {"HF_ENDPOINT": f"http://127.0.0.1:{closed}", "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
    if request.param == "HF_HUB_OFFLINE=1":
        env["HF_HUB_OFFLINE"] = "1"
    folder = tmp_path_factory.mktemp("offline")
    env["PLAYGROUND_CACHE"] = str(folder / "cache")
    log = folder / "server.log"
    with log.open("w") as err:
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(folder), str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    try:
        paths = None
        for line in server.stdout:  # model building may print progress bars first
            if line.startswith("READY "):
                paths = json.loads(line.removeprefix("READY "))
                break
        assert paths, f"the page did not start: {log.read_text()[-3000:]}"
        yield f"http://127.0.0.1:{port}", paths, log
    finally:
        server.terminate()  # the child this fixture started, by its handle
        server.wait(timeout=30)


def test_a_hub_preset_answers_at_once_and_the_next_run_is_not_held_up(offline_page):
    url, paths, log = offline_page
    client = Client(url, verbose=False)
    hub_run = run_args(HUB_MODELS, "Paris is the [MASK] of France.", preset=HUB_PRESET, max_new_tokens=4)
    started = time.perf_counter()
    answer = client.predict(**hub_run, api_name="/run")
    hub_seconds = time.perf_counter() - started
    line = answer[RUN_OUTPUTS.index("status")]
    assert hub_seconds < 1.0, f"Run on a Hub preset took {hub_seconds:.2f} s"
    assert 'data-phase="offline"' in line and "cannot be reached" in line
    assert "offline-default" in line, "the message should name the offline stand-in"

    started = time.perf_counter()
    normal = client.predict(**run_args([paths["tiny-gpt2"], paths["tiny-llama-chat"]], "Hello", max_new_tokens=4),
                            api_name="/run")  # fmt: skip
    normal_seconds = time.perf_counter() - started
    assert "Finished in" in normal[RUN_OUTPUTS.index("status")]
    assert normal_seconds < 30, f"a normal run right after took {normal_seconds:.1f} s"
    assert "Retrying" not in log.read_text(), "the Hub was asked again after the start-up probe"

    switched = client.predict(HUB_PRESET, api_name="/switch_preset")
    assert switched[0] == "offline-default" and switched[1] == "smollm2-135m-instruct"
    print(f"offline: Run on {HUB_PRESET} {hub_seconds:.2f} s, then a normal Run {normal_seconds:.2f} s")


def test_the_picker_marks_the_presets_that_need_the_hub(offline_page):
    url, _, _ = offline_page
    config = httpx.get(f"{url}/config", timeout=30).json()
    picker = next(c for c in config["components"] if c.get("props", {}).get("elem_id") == "pg-preset")
    labels = {value: label for label, value in picker["props"]["choices"]}
    assert "needs the Hub" in labels[HUB_PRESET] and "needs the Hub" in labels["gpt2-sizes"]
    assert "needs the Hub" not in labels["offline-default"] and "needs the Hub" not in labels["tiny-pair"]
