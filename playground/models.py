"""Load a model once, from any reference, through one path that ends in ``from_pretrained``.

Loading is checked in stages, each before the next allocates anything: the reference resolves to a
folder (a packaged model is converted once), the config is read and made to use local code only,
its size is compared with the weight files' headers (``playground.checkpoints``), then the weights
are built and any that the files lacked is refused. Between stages the request's deadline is
checked (``playground.limits.checkpoint``); building the weights is one step that cannot be
interrupted, which the memory budget and the size check keep bounded.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoConfig, AutoTokenizer

from playground import checkpoints
from playground.errors import PlaygroundError, for_visitor
from playground.facts import ModelFacts, read_facts
from playground.kinds import Kind, auto_class, detect_kind
from playground.lecture import REMOVED_FAMILIES
from playground.limits import checkpoint
from playground.packaged import PACKAGED, packaged_folder, packaged_names
from playground.references import ModelRef, not_a_model_folder

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
_INSTRUCT_NAME = re.compile(r"(instruct|chat|-it\b|-it-|-sft|-dpo)", re.IGNORECASE)
# from_pretrained patches process-wide functions while it builds a model (torch.nn.init and
# torch.linspace, see transformers.initialization), so two loads in two threads undo each other's
# patches and fail ("Cannot copy out of meta tensor"). Loads therefore take turns; running
# models keep running meanwhile.
LOAD_LOCK = threading.RLock()


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to run: weights, tokenizer, kind and facts, and what loading cost."""

    ref: ModelRef
    model: torch.nn.Module
    tokenizer: object
    kind: Kind
    facts: ModelFacts
    load_seconds: float
    device: torch.device
    document_start_id: int | None

    @property
    def label(self) -> str:
        return self.ref.label


def default_device() -> torch.device:
    """CUDA when present, else CPU; $PLAYGROUND_DEVICE overrides."""
    if name := os.environ.get("PLAYGROUND_DEVICE"):
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_dtype(device: torch.device) -> torch.dtype:
    """bf16 on a GPU that supports it (half the bytes, same range as fp32), else fp32.

    On a CPU fp32 is the default: precision moves perplexity by several per cent,
    and the playground shows the dtype beside every metric. $PLAYGROUND_DTYPE overrides.
    """
    if name := os.environ.get("PLAYGROUND_DTYPE"):
        return parse_dtype(name)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def parse_dtype(name: str) -> torch.dtype:
    table = {
        "float32": torch.float32,
        "fp32": torch.float32,
        "bfloat16": torch.bfloat16,
        "bf16": torch.bfloat16,
    }
    table |= {"float16": torch.float16, "fp16": torch.float16}
    if name not in table:
        raise PlaygroundError(f"Unknown dtype '{name}': use one of float32, bfloat16, float16.")
    return table[name]


def load_model(
    ref: ModelRef,
    *,
    device: torch.device | None = None,
    dtype: torch.dtype | None = None,
    cache_dir: Path | None = None,
    allow_pickle: bool = False,
    progress: Progress | None = None,
    device_map: str | dict | None = None,
    before_weights: Callable[[int | None], None] | None = None,
) -> LoadedModel:
    """Resolve the reference to something ``from_pretrained`` takes, load model and tokenizer.

    ``before_weights`` is called with the parameter count ``inspect_model`` gives, after the
    config and weight-file checks and before any weight is read (``ModelCache`` makes room there).

    Never runs code from a model repository (``trust_remote_code=False``), and loads Hub weights
    only from safetensors unless ``allow_pickle`` (pickle files can run code when unpickled).
    ``device_map`` (e.g. "auto", or ``planner.load_kwargs(plan)["device_map"]``) lets accelerate
    spread a model too large for one device over several GPUs or GPU and CPU.
    """
    progress = progress or (lambda f, m: log.info("[%3.0f%%] %s", f * 100, m))
    device = device or default_device()
    dtype = dtype or default_dtype(device)
    with LOAD_LOCK:
        return _load(
            ref, device, dtype, cache_dir, allow_pickle, progress, time.perf_counter(), device_map, before_weights
        )


def _load(
    ref, device, dtype, cache_dir, allow_pickle, progress, start, device_map=None, before_weights=None
) -> LoadedModel:
    checkpoint(f"waiting to load {ref.label}")
    folder, hub = _resolve(ref, cache_dir, progress)
    checkpoint(f"loading {ref.label}")
    options = _options(ref)
    config = _load_config(ref, folder, hub, options)
    kind = detect_kind(config)
    parameters = _parameters(ref, folder, hub, config, kind)  # refuses weight files that do not fill the config
    if before_weights is not None:
        before_weights(parameters)
    checkpoint(f"loading {ref.label}")
    progress(
        0.9 if ref.source == "packaged" else 0.3,
        f"{ref.label}: loading the {kind.value} weights",
    )
    weights = dict(options, dtype=dtype, config=config, output_loading_info=True)
    if device_map is not None:
        weights["device_map"] = device_map
    if hub and not allow_pickle:
        weights["use_safetensors"] = True
    try:
        model, info = auto_class(kind).from_pretrained(folder, **weights)
        checkpoints.check_loaded(ref.label, info)
        tokenizer = _load_tokenizer(folder, options)
    except PlaygroundError:
        raise
    except Exception as exc:
        raise PlaygroundError(_load_failure(ref, folder, hub, exc)) from exc
    if device_map is None:
        model.to(device)
    else:
        device = model.device  # where the first layers went: inputs start there
    model.eval()
    instruct = _is_instruct(ref, tokenizer)
    start_id = document_start_id(tokenizer)
    start_token = tokenizer.convert_ids_to_tokens(start_id) if start_id is not None else None
    facts = read_facts(ref.label, kind, model, tokenizer, instruct=instruct, document_start=start_token)
    seconds = time.perf_counter() - start
    progress(1.0, f"{ref.label}: loaded in {seconds:.1f} s")
    return LoadedModel(ref, model, tokenizer, kind, facts, seconds, device, start_id)


def inspect_model(
    ref: ModelRef, *, cache_dir: Path | None = None, allow_pickle: bool = False, progress: Progress | None = None
) -> tuple[Kind, int | None, float]:
    """The kind of a model and how many parameters loading it will hold, without loading its
    weights, and the seconds this took (a packaged model's one-off conversion happens here).

    The count is the larger of what the config builds and what the safetensors headers hold
    (from the Hub: a few kB), so that a model too large for the memory budget is refused before
    any weights are downloaded or allocated, whichever of the two understates it. Weight files
    that hold far fewer values than the config's parameters are refused here. None when the
    config cannot be counted.
    """
    with LOAD_LOCK:
        checkpoint(f"waiting to load {ref.label}")
        start = time.perf_counter()
        folder, hub = _resolve(ref, cache_dir, progress or (lambda f, m: log.info(m)))
        config = _load_config(ref, folder, hub, _options(ref))
        kind = detect_kind(config)
        parameters = _parameters(ref, folder, hub, config, kind)
        seconds = time.perf_counter() - start
    return kind, parameters, seconds


def _parameters(ref: ModelRef, folder: str, hub: bool, config, kind: Kind) -> int | None:
    """The parameter count the budget must use; refuses weight files too small for the config."""
    return checkpoints.budget_parameters(ref.label, folder, hub, ref.revision, config, auto_class(kind))


def _options(ref: ModelRef) -> dict:
    options = {"trust_remote_code": False}
    if ref.revision:
        options["revision"] = ref.revision
    return options


def _resolve(ref: ModelRef, cache_dir: Path | None, progress: Progress) -> tuple[str, bool]:
    if ref.source == "remote":
        raise PlaygroundError(
            f"remote:{ref.name} is served by a remote server: there is nothing to load here; run a comparison."
        )
    if ref.source == "packaged":
        packaged = PACKAGED[ref.name]
        if not packaged.installed() and packaged.hub_id:
            # Where the weight package cannot be installed (a Space installs requirements with
            # their dependencies, and --no-deps is needed), the same model comes from the Hub.
            log.info("%s is not installed; loading %s from the Hub instead", packaged.package, packaged.hub_id)
            return packaged.hub_id, True
        return str(packaged_folder(packaged, cache_dir, progress)), False
    if ref.source == "local":
        if not (Path(ref.name) / "config.json").is_file():
            raise not_a_model_folder(ref.label)
        return ref.name, False
    return ref.name, True


def _load_config(ref: ModelRef, folder: str, hub: bool, options: dict):
    try:
        config = AutoConfig.from_pretrained(folder, **options)
    except Exception as exc:
        for model_type, message in REMOVED_FAMILIES.items():
            if model_type in str(exc) or model_type.replace("-", "_") in str(exc):
                raise PlaygroundError(f"{ref.label}: {message}") from exc
        raise PlaygroundError(_load_failure(ref, folder, hub, exc)) from exc
    checkpoints.local_only(config, ref.label)
    return config


def _load_tokenizer(folder: str, options: dict):
    return AutoTokenizer.from_pretrained(folder, **options)


def _load_failure(ref: ModelRef, folder: str, hub: bool, exc: Exception) -> str:
    """The message for a library's failure to load, in the playground's words and fit for a visitor."""
    text = str(exc).strip()
    detail = for_visitor(text, typed=ref.label, folder=folder)[:300].rstrip(".") if text else type(exc).__name__
    if hub and isinstance(exc, OSError | ValueError) and not Path(folder).exists():
        return (
            f"Model '{ref.label}' could not be loaded from the Hugging Face Hub: it is not available offline "
            f"and the Hub could not be reached or has no such model ({detail}). Models available offline: "
            f"{', '.join(packaged_names())}."
        )
    if "safetensors" in text.lower() and hub:
        return (
            f"Model '{ref.label}' has no safetensors weights; the playground does not load pickle files from the Hub."
        )
    if "trust_remote_code" in text or "does not recognize this architecture" in text:
        return (
            f"Model '{ref.label}' needs code from its own repository (transformers does not know its model type), "
            "which the playground never runs. Pick a model that transformers supports itself."
        )
    if "weights_only" in text or "Weights only load failed" in text:
        return (
            f"Model '{ref.label}' could not be loaded: its weights are a pickle file holding more than tensors, "
            "which the playground does not open (pickle files can run code when they are read). Use a checkpoint "
            "saved as safetensors."
        )
    return (
        f"Model '{ref.label}' could not be loaded: {detail}. If its weight files are corrupt or truncated, "
        "delete them and download or convert them again."
    )


def _is_instruct(ref: ModelRef, tokenizer) -> bool:
    """Instruct (chat-tuned) models want their chat template; base models do not have one."""
    if not getattr(tokenizer, "chat_template", None):
        return False
    if ref.source == "packaged":
        return PACKAGED[ref.name].instruct
    return bool(_INSTRUCT_NAME.search(ref.name))


def document_start_id(tokenizer) -> int | None:
    """The token a training document started with, prepended when scoring text as a document.

    In order: the start token the tokenizer adds itself (Gemma's <bos>, Llama's <s>); else an
    end-of-text separator, which GPT-2-style training put between documents (SmolLM2's
    GGUF declares <|im_start|> as BOS, yet scores like a document start only after
    <|endoftext|>); else the declared BOS, else EOS. None if there is none.
    """
    probe = tokenizer("a", add_special_tokens=True)["input_ids"]
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    if len(probe) > len(plain) and probe[0] != plain[0] and probe[0] in tokenizer.all_special_ids:
        return probe[0]
    vocab = tokenizer.get_vocab()
    if "<|endoftext|>" in vocab:
        return vocab["<|endoftext|>"]
    for token_id in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if token_id is not None:
            return token_id
    return None
