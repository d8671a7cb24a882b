"""Clocks, memory and the reference engines the playground is measured against.

Every decode figure is split the same way for every engine: time to first token (reading the
prompt and producing one token) and milliseconds per token over the remaining tokens. Wall time
is what a user waits; process CPU time per token is reported beside it because, on a shared
machine, wall time also counts the time other processes held the cores (see ``load`` in the JSON).
"""

from __future__ import annotations

import contextlib
import os
import platform
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psutil
import torch


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Clock:
    """Wall and process CPU seconds of a block (CPU time counts every thread of this process)."""

    wall: float = 0.0
    cpu: float = 0.0

    @contextlib.contextmanager
    def run(self, device: torch.device | None = None):
        wall, cpu = time.perf_counter(), time.process_time()
        yield self
        if device is not None:
            sync(device)
        self.wall, self.cpu = time.perf_counter() - wall, time.process_time() - cpu


class PeakMemory:
    """Peak of this process's resident memory while a block runs (sampled every 5 ms), and on
    CUDA the peak allocated by torch. Reported in MiB, with the RSS growth over the block."""

    def __init__(self, device: torch.device):
        self.device = device
        self.process = psutil.Process()

    def __enter__(self):
        self.before = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        return self

    def _sample(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    def as_dict(self) -> dict:
        out = {"peak_rss_MiB": round(self.peak / 2**20), "rss_growth_MiB": round((self.peak - self.before) / 2**20)}
        if self.device.type == "cuda":
            out["cuda_peak_MiB"] = round(torch.cuda.max_memory_allocated(self.device) / 2**20)
        return out


def environment(device: torch.device) -> dict:
    """What the numbers were measured on: date, machine, versions, and how busy the machine was."""
    import transformers

    cpu, flags = platform.processor() or platform.machine(), ""
    with contextlib.suppress(OSError):
        text = Path("/proc/cpuinfo").read_text()
        names = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")]
        cpu = names[0] if names else cpu
        flags = " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "avx_vnni") if f" {f}" in text)
    env = {
        "date": date.today().isoformat(),
        "cpu": cpu,
        "cpu_flags": flags,
        "cores": os.cpu_count(),
        "memory_GiB": round(psutil.virtual_memory().total / 2**30),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "torch_threads_default": torch.get_num_threads(),
        "device": str(device),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    try:
        import llama_cpp

        env["llama_cpp_python"] = llama_cpp.__version__
    except ImportError:
        env["llama_cpp_python"] = None
    return env


def machine_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device).replace(" ", "-").lower()
    return f"cpu-{os.cpu_count()}core"


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run a block with ``n`` intra-op threads (None: leave as is)."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@torch.inference_mode()
def plain_generate(model, ids: torch.Tensor, new_tokens: int, **options) -> None:
    """The baseline a user writes in a notebook: ``generate``, greedy, exactly ``new_tokens``;
    ``options`` go to ``generate`` (e.g. ``cache_implementation="static"``, which transformers
    compiles itself)."""
    model.generate(
        ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
        do_sample=False,
        pad_token_id=model.generation_config.pad_token_id or 0,
        **options,
    )


def decode_split(run, new_tokens: int, device: torch.device, reps: int = 2) -> dict:
    """Time ``run(1)`` and ``run(new_tokens)`` (best of ``reps`` after one warm-up each): TTFT
    and the per-token cost of the rest, in wall and CPU milliseconds (each minimised separately)."""
    best = {}
    for n in (1, new_tokens):
        run(n)
        clocks = []
        for _ in range(reps):
            clock = Clock()
            with clock.run(device):
                run(n)
            clocks.append(clock)
        best[n] = (min(c.wall for c in clocks), min(c.cpu for c in clocks))
    one, full = best[1], best[new_tokens]
    steps = max(1, new_tokens - 1)
    return {
        "ttft_ms": round(one[0] * 1e3, 1),
        "ms_per_token": round((full[0] - one[0]) / steps * 1e3, 2),
        "cpu_ms_per_token": round((full[1] - one[1]) / steps * 1e3, 2),
        "total_s": round(full[0], 3),
        "tokens": new_tokens,
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
