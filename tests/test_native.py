"""The native decode step: its repacking keeps weights that lie on a grid exactly, its products
match float32, and one step gives the logits of transformers' forward for Llama, Qwen2 and
Gemma-3 layouts (sliding windows, q/k norms, biases) once the input quantization is taken out."""

from __future__ import annotations

import threading

import pytest
import torch
from transformers import (
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from playground import fast
from playground.cache import ModelCache
from playground.fast import native
from playground.generation import GenerationSettings, generate, start

COMMON = {
    "vocab_size": 300,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 256,
}


def test_the_step_builds_on_this_machine():
    assert native.library() is not None, native._library_state.get("reason")


def q4_1(shape, seed=0) -> torch.Tensor:
    """Weights as GGUF's Q4_1 de-quantizes them: d * q + m per group of 32, q spanning 0..15."""
    g = torch.Generator().manual_seed(seed)
    rows, cols = shape
    d = torch.rand(rows, cols // 32, 1, generator=g).half().float() * 0.01 + 1e-4
    m = -torch.rand(rows, cols // 32, 1, generator=g).half().float() * 0.05
    q = torch.randint(0, 16, (rows, cols // 32, 32), generator=g).float()
    q[..., 0], q[..., 1] = 0, 15
    return (d * q + m).reshape(rows, cols)


def test_weights_on_a_4bit_grid_are_packed_in_4_bits_exactly():
    weight = q4_1((96, 128))
    packed = native.pack(weight)
    assert packed.kind == 1 and packed.exact and packed.q.shape == (96, 64) and packed.q.dtype == torch.uint8
    assert torch.allclose(packed.dequantize(), weight, rtol=0, atol=1e-6)


def test_4bit_groups_that_do_not_use_both_ends_of_the_grid_are_found_too():
    """Q4_K's groups: d * q - m with q often within 1..14; the step comes from the gaps."""
    g = torch.Generator().manual_seed(1)
    q = torch.randint(2, 14, (40, 4, 32), generator=g).float()
    q[..., 0] = 2  # even levels only in some groups: their gaps are twice the step
    q[:5] = q[:5] // 2 * 2
    weight = (q * 0.0037 - 0.021).reshape(40, 128)
    packed = native.pack(weight)
    assert packed.kind == 1 and packed.exact
    assert torch.allclose(packed.dequantize(), weight, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("levels", "name"), [((-16, 16), "Q5_0: symmetric 5-bit"), ((-127, 128), "Q8_0: symmetric 8-bit")]
)
def test_symmetric_grids_are_packed_in_int8_exactly(levels, name):
    g = torch.Generator().manual_seed(2)
    q = torch.randint(*levels, (64, 3, 32), generator=g).float()
    q[..., 0] = levels[0]  # the largest magnitude sets the step: |q| = 16 (Q5_0) or 127 (Q8_0)
    d = torch.rand(64, 3, 1, generator=g) * 0.01 + 1e-4
    weight = (q * d).reshape(64, 96)
    packed = native.pack(weight)
    assert packed.kind == 0 and packed.exact, name
    assert torch.allclose(packed.dequantize(), weight, rtol=0, atol=1e-6), name


def test_other_weights_are_int8_within_half_a_step():
    torch.manual_seed(3)
    weight = torch.randn(48, 96) * torch.logspace(-3, 1, 96)
    packed = native.pack(weight, rows_at_once=7)  # pieces of rows give the same packing
    assert packed.kind == 0 and not packed.exact
    error = (packed.dequantize() - weight).abs().reshape(48, 3, 32)
    assert bool((error <= packed.d[..., None] / 2 + 1e-7).all())
    assert torch.equal(native.pack(weight).q, packed.q)


@pytest.mark.parametrize("weight", [q4_1((70, 96)), torch.randn(70, 96)], ids=["4-bit", "int8"])
def test_product_matches_float32(weight):
    torch.manual_seed(4)
    packed = native.pack(weight, torch.randn(70))
    x = torch.randn(96) * torch.logspace(-2, 1, 96)
    expected = packed.dequantize() @ x + packed.bias
    assert torch.allclose(native.product(packed, x, float_inputs=True), expected, rtol=1e-5, atol=1e-4)
    # int8 inputs: each group's rounding is at most half its step, max |x| / 254 per element
    quantized = native.product(packed, x)
    bound = (packed.dequantize().abs() @ (x.abs().reshape(3, 32).amax(-1).repeat_interleave(32) / 254)) + 1e-4
    assert bool(((quantized - expected).abs() <= bound).all())
    assert not torch.equal(quantized, expected)


def on_grid(model: torch.nn.Module) -> torch.nn.Module:
    """Move every linear weight onto a 4-bit grid, as the packaged GGUF weights are."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                rows, cols = module.weight.shape
                groups = module.weight.reshape(rows, cols // 32, 32)
                low = groups.amin(-1, keepdim=True)
                step = ((groups.amax(-1, keepdim=True) - low) / 15).clamp(min=1e-6)
                module.weight.copy_((torch.round((groups - low) / step) * step + low).reshape(rows, cols))
    return model.eval()


def llama():
    torch.manual_seed(5)
    return LlamaForCausalLM(LlamaConfig(**COMMON, initializer_range=0.2))


def qwen2():
    torch.manual_seed(6)
    return Qwen2ForCausalLM(Qwen2Config(**COMMON, initializer_range=0.2))  # q, k, v with biases


def gemma3():
    torch.manual_seed(7)
    layer_types = ["sliding_attention", "sliding_attention", "full_attention"]
    config = Gemma3TextConfig(**COMMON, head_dim=32, sliding_window=8, layer_types=layer_types, initializer_range=0.2)
    model = Gemma3ForCausalLM(config)
    with torch.no_grad():  # Gemma's norms start at zero (a scale of 1 + w): give them values
        for name, parameter in model.named_parameters():
            if "norm" in name:
                parameter.normal_(0, 0.3)
    return model


def native_logits(model, ids: torch.Tensor, prompt: int, float_inputs: bool) -> torch.Tensor:
    session = native.NativeModel(model).session(ids.shape[1])
    session.state.float_inputs = int(float_inputs)
    with torch.inference_mode():
        rows = [session.prefill(ids[:, :prompt], model)[0].clone()]
        rows += [session.step(ids[0, p], p)[0].clone() for p in range(prompt, ids.shape[1])]
    return torch.stack(rows)


@pytest.mark.parametrize("build", [llama, qwen2, gemma3])
def test_the_step_gives_transformers_logits(build):
    """40 positions: past Gemma's sliding window of 8, so both kinds of layer are checked."""
    model = on_grid(build())
    ids = torch.randint(0, 300, (1, 40), generator=torch.Generator().manual_seed(8))
    with torch.inference_mode():
        expected = model(input_ids=ids).logits[0, 4:]
    got = native_logits(model, ids, 5, float_inputs=True)
    assert (got - expected).abs().max() < 1e-4 * expected.abs().max()


def test_a_wrong_window_would_be_seen():
    """The comparison above can fail: the same Gemma with a window one position wider differs."""
    model = on_grid(gemma3())
    ids = torch.randint(0, 300, (1, 40), generator=torch.Generator().manual_seed(8))
    with torch.inference_mode():
        expected = model(input_ids=ids).logits[0, 4:]
    for layer in model.model.layers:
        if layer.self_attn.sliding_window:
            layer.self_attn.sliding_window += 1
    got = native_logits(model, ids, 5, float_inputs=True)
    assert (got - expected).abs().max() > 1e-2 * expected.abs().max()


def test_unsupported_models_say_why():
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=50))
    assert "gpt2" in native.why_unsupported(gpt2)
    odd = LlamaForCausalLM(LlamaConfig(**{**COMMON, "hidden_size": 40, "num_attention_heads": 4}))
    assert "multiple of 32" in native.why_unsupported(odd)


@pytest.fixture()
def tiny_native(loaded, monkeypatch):
    """The tiny Llama is below the size where the fast path pays: prepare it anyway."""
    lm = loaded["llama"]
    monkeypatch.setattr(fast, "HALF_MIN_BYTES", 0)
    fast.forget(lm)
    yield lm
    fast.forget(lm)


def test_fast_path_decodes_natively_and_says_so(tiny_native):
    lm = tiny_native
    result = generate(lm, "The quick brown fox", GenerationSettings(max_new_tokens=12))
    assert result.decode_method == native.METHOD
    assert result.precision.endswith("int8 activations") and "matrices as loaded" in result.precision
    assert result.new_tokens == 12 or result.stop_reason == "end of sequence"


def test_a_prepared_model_can_still_be_copied(tiny_native):
    import copy

    fast.prepare(tiny_native)
    clone = copy.deepcopy(tiny_native.model)
    ids = torch.tensor([[1, 2, 3]])
    with torch.inference_mode():
        assert torch.equal(clone(ids).logits, tiny_native.model(ids).logits)


def test_sessions_decode_side_by_side_with_their_seeds(tiny_native):
    """Three generations of one model at once, in threads: each gives what it gives alone."""
    lm = tiny_native
    settings = [GenerationSettings(max_new_tokens=16, do_sample=True, temperature=1.5, seed=s) for s in (1, 2, 3)]
    alone = [generate(lm, "A cat sat on", s).text for s in settings]
    together: list[str | None] = [None] * 3

    def run(i: int) -> None:
        together[i] = generate(lm, "A cat sat on", settings[i]).text

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone and len(set(alone)) > 1


@pytest.fixture(scope="module")
def smol():
    return ModelCache().get("smollm2-135m-instruct").model  # prepared at load: the native step


def test_smollm2_weights_are_all_kept_exactly(smol):
    path = fast.decode_path(smol, "fast")
    assert path.method == native.METHOD
    step = path.alone
    assert step.exact == step.matrices == 121 and step.four_bit == 120  # the embedding is Q8_0 in the GGUF


def test_smollm2_step_matches_transformers(smol):
    ids = torch.tensor([start(smol, "Why is the sky blue?", GenerationSettings()).prompt.ids])
    with torch.inference_mode():
        expected = smol.model(input_ids=ids).logits[0, 5:]
    got = native_logits(smol.model, ids, 6, float_inputs=True)
    assert (got - expected).abs().max() < 1e-3 * expected.abs().max()
    quantized = native_logits(smol.model, ids, 6, float_inputs=False)  # what users get
    assert bool((quantized.argmax(-1) == expected.argmax(-1)).float().mean() >= 0.9)
