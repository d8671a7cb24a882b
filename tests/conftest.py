"""Shared fixtures: tiny models of each kind, built once per test session, and an offline Hub."""

from __future__ import annotations

import os
import tempfile

# Tests never reach the Hub: fail fast instead of retrying a connection the machine does not have.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PLAYGROUND_CACHE", tempfile.mkdtemp(prefix="playground-cache-"))

import pytest  # noqa: E402
import torch  # noqa: E402

from tests import tiny_models  # noqa: E402

torch.set_num_threads(1)  # small models run faster single-threaded here (docs/decoding.md, Threads)


@pytest.fixture(scope="session")
def tiny_folders(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("tiny")
    return {
        "gpt2": str(tiny_models.build_gpt2(root / "gpt2")),
        "llama": str(tiny_models.build_llama(root / "llama")),
        "t5": str(tiny_models.build_t5(root / "t5")),
        "bert-mlm": str(tiny_models.build_bert(root / "bert-mlm", head=True)),
        "bert": str(tiny_models.build_bert(root / "bert", head=False)),
    }


@pytest.fixture(scope="session")
def cache():
    from playground.cache import ModelCache

    return ModelCache(device=torch.device("cpu"), dtype=torch.float32)


@pytest.fixture(scope="session")
def loaded(tiny_folders, cache):
    """name -> LoadedModel for every tiny model, loaded through the real path."""
    return {name: cache.get(folder).model for name, folder in tiny_folders.items()}


def with_static_steps(loaded: dict, rows: int):
    """The tiny decoders (gpt2, llama) with the GPU's decode steps prepared on the CPU, as a GPU
    gets them at load (without a graph here): one for a generation alone and, with ``rows``, a
    shared batch of that many rows. A generator for a fixture: the steps are forgotten after."""
    from playground import fast

    lms = [loaded["gpt2"], loaded["llama"]]
    for lm in lms:
        fast.prepare(lm, static_step=True, rows=rows)
    yield lms
    for lm in lms:
        fast.forget(lm)
