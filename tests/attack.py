"""What the attack tests share: models built to be slow, raw calls to the HTTP API, and the CPU
the page's process spends (the page runs in the test's own process)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import torch
from transformers import BertConfig, BertForMaskedLM

from tests import tiny_models

LONG_TEXT = (" ".join(tiny_models.CORPUS[:3]) * 20)[:3000]
"""About 600 WordPiece tokens: pseudo-perplexity over it masks every one of them in turn."""


def slow_masked_lms(folder: Path) -> list[str]:
    """Two masked LMs with a 1,024-token window, deep enough that pseudo-perplexity over
    ``LONG_TEXT`` takes half a minute or more on a 2-core CPU: work that only a stop ends early."""
    wordpiece = tiny_models.wordpiece_tokenizer()
    wordpiece.model_max_length = 1024
    folders = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        config = BertConfig(
            vocab_size=len(wordpiece),
            hidden_size=128,
            num_hidden_layers=4,
            num_attention_heads=4,
            intermediate_size=256,
            max_position_embeddings=1024,
        )
        BertForMaskedLM(config).save_pretrained(folder / f"mlm-{seed}")
        wordpiece.save_pretrained(folder / f"mlm-{seed}")
        folders.append(str(folder / f"mlm-{seed}"))
    return folders


def parameter_order(url: str, endpoint: str) -> list[str]:
    """The names of an endpoint's parameters in the order a raw call sends their values."""
    info = httpx.get(f"{url}/gradio_api/info", timeout=30).json()
    return [p["parameter_name"] for p in info["named_endpoints"][endpoint]["parameters"]]


def post_job(url: str, endpoint: str, values: dict, order: list[str], address: str | None = None) -> httpx.Response:
    """``POST /gradio_api/call/<endpoint>``, as a client that may never read the results would;
    ``address`` is sent as X-Forwarded-For (the page trusts its first entry in these tests)."""
    headers = {"x-forwarded-for": address} if address else {}
    body = {"data": [values[name] for name in order]}
    return httpx.post(f"{url}/gradio_api/call{endpoint}", json=body, headers=headers, timeout=30)


def read_job(url: str, endpoint: str, event_id: str, timeout: float = 60.0) -> tuple[str, object]:
    """The last event of a job's result stream ("complete" or "error") and its data."""
    event, payload = "", None
    with httpx.stream("GET", f"{url}/gradio_api/call{endpoint}/{event_id}", timeout=timeout) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line.removeprefix("data:"))
    return event, payload


def seconds_until_idle(limit_s: float, window_s: float = 1.0, idle_cores: float = 0.15) -> float | None:
    """Seconds until this process's CPU use over one ``window_s`` falls under ``idle_cores`` (the
    process CPU time counts every thread: the page's workers included), or None within ``limit_s``."""
    started = time.monotonic()
    last = time.process_time()
    while time.monotonic() - started < limit_s:
        time.sleep(window_s)
        now = time.process_time()
        if (now - last) / window_s < idle_cores:
            return time.monotonic() - started
        last = now
    return None
