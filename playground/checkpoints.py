"""What a checkpoint must be before the playground builds it: local code only, and weights that are there.

A model folder is two claims that need not agree: the config says what to build, the weight files
say what there is to fill it with. transformers builds what the config says and fills whatever the
files lack with random values; a config that declares 400M parameters beside a file of 2,048 values
builds 1.6 GB of random numbers. So, before anything is allocated:

- the config is made to run local code only (``local_only``): an attention or experts
  implementation that names a Hub kernel becomes the built-in default, a pre-quantized checkpoint
  (its loaders fetch kernels or need extra packages) is refused, ``auto_map`` (code in the
  repository) and architecture names transformers does not have are dropped;
- the parameters the config builds (counted on a skeleton on the meta device, which allocates
  nothing) are compared with the values the safetensors headers hold (``header_values``; the
  header lists every tensor's shape and dtype, so nothing else is read). Fewer values than
  parameters by more than ``MISSING_TOLERANCE`` is refused (``check_sizes``); the memory budget
  is checked against the larger of the two;

and after loading, any weight the model has but the files did not provide is refused by name
(``check_loaded``). Tied weights (an LM head sharing the embeddings) and buffers are not missing:
transformers fills them from what was loaded.
"""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path

import torch
import transformers

from playground.errors import PlaygroundError, shown

log = logging.getLogger(__name__)

LOCAL_ATTENTION = (None, "eager", "sdpa")
"""Attention implementations that run code inside torch and transformers only."""

LOCAL_EXPERTS = (None, "eager", "grouped_mm", "batched_mm")
"""Mixture-of-experts implementations that run code inside torch and transformers only."""

MISSING_TOLERANCE = 0.10
"""Share of the config's parameters the weight files may lack before loading is refused. Real
checkpoints lack none; a new task head (a few thousand values) is caught by name after loading."""

MAX_LAYERS = 1024
"""Most layers a config may declare. Its skeleton is built module by module in Python (about 4 ms
a layer), so a config claiming a million layers would hold the load for an hour; real models
have at most a few hundred."""

MAX_HEADER_BYTES = 100 * 2**20
"""Largest safetensors header read (the format's own limit)."""

_ELEMENT_BYTES = {
    "F64": 8,
    "I64": 8,
    "U64": 8,
    "F32": 4,
    "I32": 4,
    "U32": 4,
    "F16": 2,
    "BF16": 2,
    "I16": 2,
    "U16": 2,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "F8_E8M0": 1,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
}
_ARCHITECTURE = re.compile(r"^[A-Z][A-Za-z0-9]{0,99}$")
_LAYER_FIELDS = ("num_hidden_layers", "n_layer", "num_layers", "encoder_layers", "decoder_layers", "num_decoder_layers")


def local_only(config, label: str) -> None:
    """Make ``config`` (in place) load with code from torch and transformers only, or refuse it."""
    quantization = getattr(config, "quantization_config", None)
    if quantization:
        method = quantization.get("quant_method") if isinstance(quantization, dict) else type(quantization).__name__
        raise PlaygroundError(
            f"{label} is a pre-quantized checkpoint ({shown(str(method), 40)}). The playground loads plain float "
            "weights only: loaders of quantized checkpoints need extra packages, and some fetch kernel code from the "
            "Hub. Load the model's unquantized version."
        )
    for name in _LAYER_FIELDS:
        layers = [n for n in _config_values(config, name) if isinstance(n, int)]
        if layers and max(layers) > MAX_LAYERS:
            raise PlaygroundError(
                f"{label}: its config declares {max(layers):,} layers ({name}); the playground builds models of at "
                f"most {MAX_LAYERS:,}. Check the folder's config.json."
            )
    attention = _config_values(config, "_attn_implementation")
    if any(value not in LOCAL_ATTENTION for value in attention):
        log.warning("%s: config asks for attention %s; using the built-in default", label, attention)
        config._attn_implementation = None  # the setter resets every sub-config too
    experts = _config_values(config, "_experts_implementation")
    if any(value not in LOCAL_EXPERTS for value in experts):
        log.warning("%s: config asks for experts implementation %s; using the built-in default", label, experts)
        config._experts_implementation = None
    if getattr(config, "auto_map", None):
        log.warning("%s: config names code in its repository (auto_map); it is never run", label)
        del config.auto_map
    architectures = getattr(config, "architectures", None) or []
    architectures = architectures if isinstance(architectures, list) else [architectures]
    known = [name for name in architectures if isinstance(name, str) and _in_transformers(name)]
    if known != architectures:
        log.warning("%s: architectures %s are not all in transformers; kind from model_type", label, architectures)
        config.architectures = known or None


def _in_transformers(name: str) -> bool:
    return bool(_ARCHITECTURE.match(name)) and hasattr(transformers, name)


def _config_values(config, name: str) -> list:
    """The attribute ``name`` of the config and of every sub-config (vision, text, encoder, ...)."""
    values = [getattr(config, name, None)]
    for key in getattr(config, "sub_configs", {}) or {}:
        sub = getattr(config, key, None)
        if sub is not None and sub is not config:
            values += _config_values(sub, name)
    return values


def budget_parameters(label: str, folder: str, hub: bool, revision: str | None, config, model_class) -> int | None:
    """The parameters the memory budget must count for a model about to be built (see ``check_sizes``).

    Refuses weight files that hold far fewer values than the config builds. None when neither the
    config (transformers cannot build it: loading will say why) nor the files can be counted.
    """
    files = _file_values(label, folder, hub, revision)
    try:
        declared = skeleton_parameters(config, model_class)
    except Exception as exc:  # noqa: BLE001 - a config transformers cannot build fails the load itself, with its message
        log.info("%s: no skeleton from the config (%s)", label, type(exc).__name__)
        return files
    return check_sizes(label, declared, files)


def _file_values(label: str, folder: str, hub: bool, revision: str | None) -> int | None:
    """Values in the safetensors files, from their headers only; None when unknown (pickle weights,
    or the Hub not reachable)."""
    if hub:
        try:
            from huggingface_hub import get_safetensors_metadata

            return sum(get_safetensors_metadata(folder, revision=revision).parameter_count.values())
        except Exception:  # noqa: BLE001 - unknown size: the budget uses the config's count
            return None
    files = weight_files(Path(folder))
    return None if files is None else header_values(files, label)


def skeleton_parameters(config, model_class) -> int:
    """Parameters the config builds with ``model_class``, counted on the meta device (no memory).

    Tied tensors count once, as ``model.parameters()`` yields each tensor once.
    """
    with torch.device("meta"):
        model = model_class.from_config(config)
    return sum(p.numel() for p in model.parameters())


def weight_files(folder: Path) -> list[Path] | None:
    """The safetensors files ``from_pretrained`` reads from a folder (its index's shards, else
    model.safetensors); None if it has none (pickle weights: their size is unknown until loaded)."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise PlaygroundError(_corrupt(folder.name, index.name, "its index is not valid JSON")) from None
        return [folder / Path(shard).name for shard in shards]
    single = folder / "model.safetensors"
    return [single] if single.is_file() else None


def header_values(files: list[Path], label: str) -> int:
    """Values (elements) of every tensor the safetensors headers declare, checked against each file's size.

    A header claims tensors by shape, dtype and byte range; a file shorter than its claims, or a
    claim whose bytes do not match its shape, is refused as corrupt here rather than by the loader.
    """
    total = 0
    for file in files:
        try:
            with file.open("rb") as handle:
                size = int.from_bytes(handle.read(8), "little")
                if not 0 < size <= MAX_HEADER_BYTES:
                    raise PlaygroundError(_corrupt(label, file.name, "its header is not a safetensors header"))
                header = json.loads(handle.read(size))
            data_bytes = file.stat().st_size - 8 - size
        except (OSError, ValueError):
            raise PlaygroundError(_corrupt(label, file.name, "its header cannot be read")) from None
        if not isinstance(header, dict):
            raise PlaygroundError(_corrupt(label, file.name, "its header is not a table of tensors"))
        for name, tensor in header.items():
            if name != "__metadata__":
                total += _tensor_values(tensor, data_bytes, label, file.name)
    return total


def _tensor_values(tensor, data_bytes: int, label: str, file: str) -> int:
    try:
        shape, (begin, end) = [int(n) for n in tensor["shape"]], tensor["data_offsets"]
        values = math.prod(shape)
        width = _ELEMENT_BYTES.get(tensor["dtype"])
    except (TypeError, KeyError, ValueError):
        raise PlaygroundError(_corrupt(label, file, "a tensor's entry in its header is malformed")) from None
    if min(shape, default=0) < 0 or not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end):
        raise PlaygroundError(_corrupt(label, file, "a tensor's shape or byte range is negative"))
    if end > data_bytes or (width is not None and end - begin != values * width):
        why = "it is shorter than its header says, or a tensor's bytes do not match its shape"
        raise PlaygroundError(_corrupt(label, file, why))
    return values


def _corrupt(label: str, file: str, why: str) -> str:
    return (
        f"Model '{label}' could not be loaded: its weight file {file} is corrupt or truncated ({why}). "
        "If its weight files are corrupt or truncated, delete them and download or convert them again."
    )


def check_sizes(label: str, config_parameters: int, file_values: int | None) -> int:
    """Refuse weight files that hold far fewer values than the config's parameters; return the count
    the memory budget must use (the larger of the two, each value one element of the load dtype)."""
    if file_values is None:
        return config_parameters
    if file_values < config_parameters * (1 - MISSING_TOLERANCE):
        missing = 1 - file_values / config_parameters
        raise PlaygroundError(
            f"{label}: its config describes a model of {config_parameters:,} parameters, but its weight files hold "
            f"{file_values:,} values, so {missing:.0%} of the weights are not there. The playground does not run a "
            "model on random values: check that the folder's config.json belongs to its weights."
        )
    return max(config_parameters, file_values)


def check_loaded(label: str, info: dict) -> None:
    """Refuse a model that loaded with weights missing from its files (they would be random) or with
    weights of the wrong shape, naming the first few; weights the model does not use are logged only."""
    missing = sorted(info.get("missing_keys") or ())
    mismatched = sorted(str(k[0]) if isinstance(k, tuple) else str(k) for k in info.get("mismatched_keys") or ())
    unexpected = sorted(info.get("unexpected_keys") or ())
    if unexpected:
        log.info("%s: %d weights in the files are not used by the model: %s", label, len(unexpected), unexpected[:5])
    problems = []
    if missing:
        problems.append(f"{len(missing):,} weights are missing from its files ({_first(missing)})")
    if mismatched:
        problems.append(f"{len(mismatched):,} have the wrong shape ({_first(mismatched)})")
    if info.get("error_msgs"):
        problems.append(f"{len(info['error_msgs'])} could not be read")
    if problems:
        extra = f"; the files hold {len(unexpected):,} weights it does not use ({_first(unexpected)})"
        extra = extra if unexpected else ""
        raise PlaygroundError(
            f"{label} is incomplete: {'; '.join(problems)}{extra}. The playground does not run a model with "
            "random values in place of missing weights: load a complete checkpoint of this architecture."
        )


def _first(names: list[str], count: int = 5) -> str:
    shown = ", ".join(names[:count])
    return shown + (f", and {len(names) - count:,} more" if len(names) > count else "")
