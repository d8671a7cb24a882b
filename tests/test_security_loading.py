"""Hostile model folders: load only what is there, and only with local code.

Each folder is built here the way an attacker would write it: a config that claims far more than
its weight files hold, a checkpoint with weights missing, configs that ask for Hub kernels or
code. Each must be refused (or made local) before anything large is allocated.
"""

import json
import shutil
import threading
from pathlib import Path

import psutil
import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, LlamaConfig

from playground.cache import ModelCache
from playground.checkpoints import MAX_LAYERS
from playground.compare import Request, compare
from playground.errors import PlaygroundError
from playground.generation import GenerationSettings, generate
from playground.models import inspect_model, load_model
from playground.references import parse_reference

MiB = 2**20


class PeakRss:
    """Peak resident memory of this process over a block, sampled every 2 ms."""

    def __enter__(self):
        self.process = psutil.Process()
        self.before = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.before


def copy_of(folder: str, to: Path) -> Path:
    shutil.copytree(folder, to)
    return to


def edit_config(folder: Path, **changes) -> None:
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(config | changes))


@pytest.fixture
def inflated(tmp_path, tiny_folders) -> Path:
    """A config declaring ~470M parameters beside a safetensors file of one 2,048-value tensor."""
    folder = tmp_path / "inflated"
    folder.mkdir()
    LlamaConfig(
        vocab_size=32_000,
        hidden_size=1024,
        intermediate_size=4096,
        num_hidden_layers=24,
        num_attention_heads=16,
    ).save_pretrained(folder)
    save_file({"model.embed_tokens.weight": torch.zeros(2048)}, folder / "model.safetensors")
    AutoTokenizer.from_pretrained(tiny_folders["llama"]).save_pretrained(folder)
    return folder


def test_a_config_far_larger_than_its_weights_is_refused_before_anything_is_allocated(inflated):
    with PeakRss() as rss, pytest.raises(PlaygroundError) as error:
        ModelCache(budget_bytes=int(0.4 * 2**30)).get(str(inflated))
    message = str(error.value)
    assert "describes a model of 468,239,360 parameters" in message and "hold 2,048 values" in message
    assert "random values" in message
    assert rss.growth < 150 * MiB, f"grew {rss.growth / MiB:.0f} MiB"  # the model would be 1.9 GB of float32


def test_the_budget_counts_the_larger_of_config_and_weight_headers(tmp_path, tiny_folders):
    """Weight files whose headers declare more than the config builds count at their size: a
    sparse file of 100M float32 values (no disk used) beside the tiny GPT-2's config."""
    folder = copy_of(tiny_folders["gpt2"], tmp_path / "heavy")
    header = json.dumps({"h.weight": {"dtype": "F32", "shape": [100_000_000], "data_offsets": [0, 400_000_000]}})
    with (folder / "model.safetensors").open("wb") as handle:
        handle.write(len(header).to_bytes(8, "little") + header.encode())
        handle.truncate(8 + len(header) + 400_000_000)
    kind, parameters, _ = inspect_model(parse_reference(str(folder)))
    assert parameters == 100_000_000
    with pytest.raises(PlaygroundError, match=r"needs 0\.37 GiB .* memory budget of 0\.20 GiB"):
        ModelCache(budget_bytes=int(0.2 * 2**30)).get(str(folder))


def test_a_checkpoint_missing_half_its_weights_is_refused_before_loading(tmp_path, tiny_folders):
    folder = copy_of(tiny_folders["llama"], tmp_path / "half")
    weights = load_file(folder / "model.safetensors")
    kept = {name: t for name, t in weights.items() if "embed_tokens" not in name and "layers.1." not in name}
    save_file(kept, folder / "model.safetensors")
    with PeakRss() as rss, pytest.raises(PlaygroundError, match=r"\d+% of the weights are not there"):
        ModelCache().get(str(folder))
    assert rss.growth < 50 * MiB


def test_a_checkpoint_missing_a_few_weights_is_refused_by_name_after_loading(tmp_path, tiny_folders):
    folder = copy_of(tiny_folders["llama"], tmp_path / "few")
    weights = load_file(folder / "model.safetensors")
    dropped = sorted(name for name in weights if name.startswith("model.layers.1.") and name.endswith("norm.weight"))
    save_file({n: t for n, t in weights.items() if n not in dropped}, folder / "model.safetensors")
    with pytest.raises(PlaygroundError) as error:
        ModelCache().get(str(folder))
    message = str(error.value)
    assert f"{len(dropped)} weights are missing from its files" in message
    assert all(name in message for name in dropped) and "random values" in message


def test_tied_weights_and_buffers_are_not_missing(loaded):
    """The tiny GPT-2 ties its LM head to the embeddings and BERT keeps position ids as buffers:
    both load, as do the packaged models (tests/test_packaged.py)."""
    assert loaded["gpt2"].model.lm_head.weight is loaded["gpt2"].model.transformer.wte.weight
    assert loaded["bert-mlm"].facts.parameters > 0 and loaded["bert"].facts.parameters > 0


def test_a_hub_kernel_for_attention_is_replaced_by_the_built_in_one(tmp_path, tiny_folders):
    folder = copy_of(tiny_folders["llama"], tmp_path / "kernel")
    edit_config(folder, attn_implementation="kernels-community/x", experts_implementation="kernels-community/y")
    lm = load_model(parse_reference(str(folder)))
    assert lm.model.config._attn_implementation in ("sdpa", "eager")
    assert generate(lm, "The cat", GenerationSettings(max_new_tokens=2)).new_tokens <= 2


def test_repository_code_and_unknown_architectures_are_dropped_and_never_run(tmp_path, tiny_folders):
    folder = copy_of(tiny_folders["gpt2"], tmp_path / "custom")
    marker = tmp_path / "ran"
    (folder / "custom_model.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    edit_config(
        folder,
        auto_map={"AutoModelForCausalLM": "custom_model.Evil", "AutoConfig": "custom_model.EvilConfig"},
        architectures=["EvilForCausalLM"],
    )
    lm = load_model(parse_reference(str(folder)))
    assert type(lm.model).__name__ == "GPT2LMHeadModel" and lm.kind.value == "decoder"
    assert not marker.exists()


def test_pre_quantized_checkpoints_are_refused_with_the_reason(tmp_path, tiny_folders):
    folder = copy_of(tiny_folders["gpt2"], tmp_path / "quantized")
    edit_config(folder, quantization_config={"quant_method": "mxfp4"})
    with pytest.raises(PlaygroundError, match=r"pre-quantized checkpoint \(mxfp4\).*fetch kernel code"):
        load_model(parse_reference(str(folder)))


def test_a_config_with_absurdly_many_layers_is_refused_before_its_skeleton_is_built(tmp_path, tiny_folders):
    folder = copy_of(tiny_folders["gpt2"], tmp_path / "deep")
    edit_config(folder, n_layer=10**6)
    with pytest.raises(PlaygroundError, match=f"1,000,000 layers .* at most {MAX_LAYERS:,}"):
        inspect_model(parse_reference(str(folder)))


@pytest.mark.parametrize(
    "damage, why",
    [
        (lambda data: data[:5000], "it is shorter than its header says"),
        (lambda data: (2**40).to_bytes(8, "little") + data[8:], "its header is not a safetensors header"),
        (lambda data: data[:8] + b"!" + data[9:], "its header cannot be read"),
    ],
    ids=["truncated", "huge-header", "bad-json"],
)
def test_corrupt_weight_headers_are_refused_before_loading(tmp_path, tiny_folders, damage, why):
    folder = copy_of(tiny_folders["gpt2"], tmp_path / "corrupt")
    weights = folder / "model.safetensors"
    weights.write_bytes(damage(weights.read_bytes()))
    with pytest.raises(PlaygroundError, match=f"model.safetensors is corrupt or truncated \\({why}"):
        inspect_model(parse_reference(str(folder)))


def test_a_refused_model_fails_in_its_own_column_only(inflated, tiny_folders, cache):
    request = Request("The cat", generation=GenerationSettings(max_new_tokens=2))
    results = compare([str(inflated), tiny_folders["gpt2"]], request, cache)
    assert results[0].status == "error" and "random values" in results[0].error
    assert results[1].status == "done"
