"""ZeroGPU integration: the page imports and runs with and without the ``spaces`` package, and on
ZeroGPU one GPU call per comparison asks for a duration that fits the request.

What runs on real ZeroGPU hardware cannot run here (``spaces`` needs a CUDA build of torch to
patch); the README says what is verified on paper only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import zerogpu

ROOT = Path(__file__).resolve().parents[1]

# A child process that imports the page, runs one comparison through the function ZeroGPU would
# wrap, and prints what it found as JSON.
PROBE = textwrap.dedent(
    """
    import json, pathlib, sys
    {prelude}
    import threading
    import app, zerogpu
    from playground.compare import Column, Request
    from playground.generation import GenerationSettings
    from playground.presets import load_presets
    from tests import tiny_models
    from web import gpu
    from web.handlers import Handlers

    folder = sys.argv[1]
    path = tiny_models.build_gpt2(pathlib.Path(folder))
    page = Handlers(load_presets())
    columns = [Column(str(path)), Column(str(path))]
    request = Request("The quick brown fox", generation=GenerationSettings(max_new_tokens=3))
    states = list(gpu.comparison(page.key, columns, request, threading.Event()))
    print(json.dumps({{
        "spaces": "spaces" in sys.modules and sys.modules["spaces"] is not None,
        "wrapped": gpu.comparison_states is not gpu._comparison_states,
        "statuses": [r.status for r in states[-1]],
        "new_tokens": [r.generation.new_tokens for r in states[-1]],
        "calls": getattr(sys.modules.get("spaces"), "calls", []),
    }}))
    """
)


def probe(tmp_path: Path, prelude: str = "", **env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if k != "SPACES_ZERO_GPU"} | env
    environ["PYTHONPATH"] = str(ROOT)
    code = PROBE.format(prelude=prelude)
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "tiny")],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"log": done.stderr}


def test_with_spaces_installed_and_not_on_zerogpu_the_same_code_runs(tmp_path):
    found = probe(tmp_path, prelude="import spaces")
    assert found["spaces"] and not found["wrapped"]
    assert found["statuses"] == ["done", "done"] and found["new_tokens"] == [3, 3]


def test_without_spaces_installed_the_page_runs(tmp_path):
    # None in sys.modules makes ``import spaces`` fail as if the package were not installed.
    found = probe(tmp_path, prelude="sys.modules['spaces'] = None", SPACES_ZERO_GPU="true")
    assert not found["spaces"] and not found["wrapped"]
    assert found["statuses"] == ["done", "done"]
    assert "'spaces' package is missing: running without ZeroGPU" in found["log"]


# A stand-in for ``spaces`` on ZeroGPU hardware: it pickles each call's arguments, as ZeroGPU does
# to hand them to its forked GPU worker, and records the function and the duration it asked for.
STAND_IN = """
import pickle, types
fake = types.ModuleType("spaces")
fake.calls = []
def GPU(task, duration):
    def wrapped(*args):
        pickle.dumps(args)
        fake.calls.append([task.__name__, duration(*args)])
        return task(*args)
    return wrapped
fake.GPU = GPU
sys.modules["spaces"] = fake
"""


def test_on_zerogpu_the_page_hands_its_gpu_call_keys_that_pickle(tmp_path):
    found = probe(tmp_path, prelude=STAND_IN, SPACES_ZERO_GPU="true")
    assert found["wrapped"] and found["statuses"] == ["done", "done"]
    # one call for the whole comparison: 10 s setup + 2 models x 3 tokens x 0.05 s, raised to the floor
    assert found["calls"] == [["_comparison_states", zerogpu.MIN_SECONDS]]


def test_zerogpu_flag_with_a_package_that_cannot_patch_torch_falls_back(tmp_path):
    # Here torch is a CPU build, which ZeroGPU's torch patches cannot handle: the page must still run.
    found = probe(tmp_path, SPACES_ZERO_GPU="true", SPACES_ZERO_DEVICE_API_URL="http://127.0.0.1:9")
    assert not found["wrapped"] and found["statuses"] == ["done", "done"]
    assert "running without ZeroGPU" in found["log"]


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("1", True), ("True", True), ("false", False), ("", False)]
)
def test_zerogpu_is_recognised_from_the_platform_variable(value, expected):
    assert zerogpu.on_zero_gpu({"SPACES_ZERO_GPU": value}) is expected
    assert zerogpu.on_zero_gpu({}) is False


def test_duration_covers_every_model_and_stays_within_the_limits():
    # 10 s setup + 3 models x 100 tokens x 0.05 s = 25 s
    assert zerogpu.duration(3, 100) == 25
    assert zerogpu.duration(2, 1) == zerogpu.MIN_SECONDS  # never below the floor
    assert zerogpu.duration(3, 4096) == zerogpu.MAX_SECONDS  # 624 s wanted, 180 allowed
    assert zerogpu.duration(3, 4096, limit_seconds=60) == 60  # the request time limit caps it


def test_on_zerogpu_each_comparison_is_one_gpu_call_with_its_duration(monkeypatch):
    """The wiring, with a stand-in for ``spaces`` that records what it is asked for (the real
    package needs ZeroGPU hardware): the function and the duration the request implies."""
    calls = []

    class Spaces:
        @staticmethod
        def GPU(task, duration):  # noqa: N802 - the package's spelling
            def wrapped(*args):
                calls.append((task.__name__, duration(*args)))
                return task(*args)

            return wrapped

    monkeypatch.setattr(zerogpu, "SPACES", Spaces)

    def comparison(models, tokens):
        return f"{models} models, {tokens} tokens"

    gpu_comparison = zerogpu.gpu(comparison, lambda models, tokens: zerogpu.duration(models, tokens))
    assert gpu_comparison(3, 200) == "3 models, 200 tokens"
    assert calls == [("comparison", 40)]


def test_comparisons_at_once_one_on_a_cpu_several_on_a_gpu_one_on_zero_gpu(monkeypatch):
    """On a GPU the decoding thread batches visitors on the same model, so the page lets several
    comparisons run together; on a CPU or ZeroGPU one at a time. The variable overrides both."""
    import torch

    from web import events

    monkeypatch.delenv("PLAYGROUND_CONCURRENCY", raising=False)
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert events.default_concurrency() == 1
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert events.default_concurrency() == events.GPU_CONCURRENCY > 1
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert events.default_concurrency() == 1
    monkeypatch.setenv("PLAYGROUND_CONCURRENCY", "3")
    assert events.default_concurrency() == 3


def test_on_zerogpu_a_stop_closes_the_gpu_call_its_forked_worker_cannot_see(monkeypatch):
    """A ZeroGPU call runs in a forked worker, which never sees the page's Stop event: the page
    closes the call's stream instead. A stand-in GPU call that ignores the event must end there."""
    import threading

    from web import gpu

    def ignores_stop(key, run, columns, request):
        for step in range(1000):
            yield [step]

    monkeypatch.setattr(gpu, "comparison_states", ignores_stop)
    monkeypatch.setattr(zerogpu, "SPACES", object())  # on ZeroGPU
    stop = threading.Event()
    seen = []
    for states in gpu.comparison(0, [], None, stop):
        seen.append(states)
        if len(seen) == 3:
            stop.set()
    assert seen == [[0], [1], [2]]

    monkeypatch.setattr(zerogpu, "SPACES", None)  # elsewhere the engine sees the event itself
    assert len(list(gpu.comparison(0, [], None, stop))) == 1000
