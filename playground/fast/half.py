"""A decoder's twin with its linear layers in float16, for decoding on a CPU.

Decoding reads every weight once per new token, so on a CPU its speed is set by the bytes of
weights streamed from memory: float16 weights halve them. Only the products change: norms,
attention, residual sums, the KV cache and the logits stay float32, and the twin shares every
other parameter with the float32 model (its extra memory is half the linear weights' bytes).

Float16, not bfloat16: the packaged models' weights come from 4-bit GGUF blocks with float16
scales, which float16 holds almost exactly and bfloat16 (8 bits of mantissa) does not; greedy
output follows float32 for longer (bench/results/). Float16's range is the risk: SmolLM2's
down-projection outputs reach 22,500, a third of the largest float16 (65,504). Each layer
therefore gets a power-of-two input scale from a calibration pass at build time, with 64x headroom
over the largest input or output seen; the decode loop also checks the logits and finishes in
float32 if a value ever overflows anyway.
"""

from __future__ import annotations

import copy
import inspect
import math

import torch
import torch.nn.functional as F

HALF = torch.float16
FLOAT16_MAX = 65504.0
HEADROOM = 64.0
CALIBRATION_TEXT = (
    "The quick brown fox jumps over the lazy dog. In 1969, 600 million people watched the first Moon landing; "
    "the mission lasted eight days, 3 hours and 18 minutes. def mean(xs): return sum(xs) / len(xs)  # average\n"
    "Photosynthesis turns sunlight, water and CO2 into sugar. Café, naïve, résumé. 😀 مرحبا שלום 你好世界. "
    "<|im_start|>user\nExplain why the sky is blue.<|im_end|>\n<|im_start|>assistant\n"
)


class Linear16(torch.nn.Module):
    """y = x W^T + b with W held in float16 (or another 16-bit ``dtype``), x and y in float32.

    The product runs in float16 inputs with float32 accumulation (the CPU kernel's), on x / scale,
    and the result is multiplied back by ``scale`` (a power of two: exact), so that neither the
    rounded input nor the float16 output leaves float16's range.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, scale: float = 1.0, dtype=HALF):
        super().__init__()
        self.weight = torch.nn.Parameter(weight.detach().to(dtype).contiguous(), requires_grad=False)
        self.bias = bias
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale == 1.0:
            y = F.linear(x.to(self.weight.dtype), self.weight).to(x.dtype)
        else:
            y = F.linear((x / self.scale).to(self.weight.dtype), self.weight).to(x.dtype) * self.scale
        return y if self.bias is None else y + self.bias


def linear_layers(model: torch.nn.Module) -> dict[str, torch.nn.Module]:
    """The float32 linear layers a twin converts, by name: ``nn.Linear`` and GPT-2's ``Conv1D``."""
    from transformers.pytorch_utils import Conv1D

    return {
        name: module
        for name, module in model.named_modules()
        if type(module) in (torch.nn.Linear, Conv1D) and module.weight.dtype == torch.float32
    }


@torch.inference_mode()
def calibrate(model: torch.nn.Module, tokenizer, max_tokens: int) -> dict[str, float]:
    """The input scale of each linear layer: the smallest power of two >= 1 that keeps its
    largest input and output on the calibration text ``HEADROOM`` times below float16's limit."""
    layers = linear_layers(model)
    largest = dict.fromkeys(layers, 0.0)

    def record(name):
        def hook(module, inputs, output):
            seen = max(float(inputs[0].abs().max()), float(output.abs().max()))
            largest[name] = max(largest[name], seen)

        return hook

    handles = [module.register_forward_hook(record(name)) for name, module in layers.items()]
    try:
        ids = tokenizer(CALIBRATION_TEXT, add_special_tokens=False)["input_ids"][:max_tokens]
        keep = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
        model(input_ids=torch.tensor([ids], device=next(model.parameters()).device), **keep)
    finally:
        for handle in handles:
            handle.remove()
    return {name: _power_of_two_above(seen * HEADROOM / FLOAT16_MAX) for name, seen in largest.items()}


def _power_of_two_above(ratio: float) -> float:
    return 2.0 ** max(0, math.ceil(math.log2(ratio))) if ratio > 1 else 1.0


def twin(model: torch.nn.Module, scales: dict[str, float], dtype: torch.dtype = HALF) -> torch.nn.Module:
    """A copy of ``model`` whose float32 linear layers are ``Linear16`` (``dtype``: float16, or
    bfloat16 for comparison); every other parameter and buffer is shared with the original."""
    return replace_linear(model, lambda name, weight, bias: Linear16(weight, bias, scales.get(name, 1.0), dtype))


def replace_linear(model: torch.nn.Module, make) -> torch.nn.Module:
    """A copy of ``model`` whose float32 linear layers are ``make(name, weight [out, in], bias)``
    (``None``: keep that layer); the copy shares every other parameter and buffer."""
    from transformers.pytorch_utils import Conv1D

    layers = linear_layers(model)

    def convert(module: torch.nn.Module, prefix: str) -> torch.nn.Module:
        if prefix in layers:
            weight = module.weight.t() if type(module) is Conv1D else module.weight  # Conv1D: y = x W + b
            return make(prefix, weight, module.bias) or module
        clone = copy.copy(module)
        clone._modules = {
            name: None if child is None else convert(child, f"{prefix}.{name}" if prefix else name)
            for name, child in module._modules.items()
        }
        return clone

    return convert(model, "")
