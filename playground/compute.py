"""What training a model cost: floating-point operations, and days on real accelerators.

The rule of thumb (Kaplan et al., 2020, "Scaling Laws for Neural Language Models", section 2.1):

    training FLOPs  C = 6 x N x D        N parameters, D training tokens

Checked against published runs in the tests: GPT-3 175B on 300B tokens gives 3.15e23 FLOPs
(the paper's own estimate is 3.14e23); LLaMA-65B on 1.4T tokens on 2,048 A100s comes out at 21
days at the 47 % utilisation its reported 380 tokens/s/GPU implies.
"""

from __future__ import annotations

from dataclasses import dataclass

from playground.errors import PlaygroundError

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Accelerator:
    """One accelerator's peak dense matrix-multiply throughput, from its maker's datasheet."""

    name: str
    peak_flops: float  # FLOP/s, dense (no 2:4 sparsity), tensor cores
    precision: str
    source: str


ACCELERATORS = {
    a.name: a
    for a in [
        Accelerator("V100 SXM2", 125e12, "fp16", "NVIDIA Tesla V100 datasheet: 125 TFLOPS tensor performance"),
        Accelerator("A100", 312e12, "bf16", "NVIDIA A100 Tensor Core GPU datasheet: BF16 tensor core 312 TFLOPS"),
        Accelerator(
            "H100 SXM",
            989e12,
            "bf16",
            "NVIDIA H100 Tensor Core GPU datasheet: BF16 tensor core 1,979 TFLOPS with sparsity, half that dense",
        ),
        Accelerator(
            "H200",
            989e12,
            "bf16",
            "NVIDIA H200 datasheet: BF16 tensor core 1,979 TFLOPS with sparsity, half that dense (as H100 SXM)",
        ),
    ]
}


def training_flops(parameters: float, tokens: float) -> float:
    """Training compute C = 6 x N x D floating-point operations (FLOPs), N parameters, D tokens.

    Why 6: each parameter takes part in one multiply-add per token in the forward pass, and a
    multiply-add is 2 FLOPs, so the forward pass costs 2N per token; the backward pass computes
    gradients for both the activations and the weights, twice the forward work, 4N. Attention over
    the context adds a term that is small next to 6N for contexts shorter than about 12 x the
    model width, and it is left out, as in the papers whose figures this reproduces.
    """
    if parameters <= 0 or tokens <= 0:
        raise PlaygroundError("Training compute needs a positive number of parameters and of tokens.")
    return 6.0 * parameters * tokens


def gpu_days(flops: float, peak_flops_per_gpu: float, utilisation: float) -> float:
    """GPU-days of work = FLOPs / (peak FLOP/s x utilisation) / 86,400 s; divide by the GPUs for days.

    ``utilisation`` is the model FLOPs utilisation (MFU, Chowdhery et al., 2022, PaLM appendix B):
    the share of the datasheet peak that training really turns into model FLOPs. Large runs
    reach about 0.3-0.55; the rest goes to communication, memory traffic and idle time.
    """
    if not 0 < utilisation <= 1:
        raise PlaygroundError(f"Utilisation is a share of the peak, above 0 and at most 1 (got {utilisation}).")
    if peak_flops_per_gpu <= 0:
        raise PlaygroundError("The accelerator's peak FLOP/s must be positive.")
    return flops / (peak_flops_per_gpu * utilisation) / SECONDS_PER_DAY


def training_days(flops: float, gpus: int, peak_flops_per_gpu: float, utilisation: float) -> float:
    """Wall-clock days on ``gpus`` accelerators working together = GPU-days / GPUs."""
    if gpus < 1:
        raise PlaygroundError(f"Training needs at least one accelerator (got {gpus}).")
    return gpu_days(flops, peak_flops_per_gpu, utilisation) / gpus


def model_flops_utilisation(parameters: float, tokens_per_second_per_gpu: float, peak_flops_per_gpu: float) -> float:
    """MFU = 6 x N x (tokens per second per GPU) / peak FLOP/s per GPU: the utilisation a measured
    training throughput implies (same 6N FLOPs per token as ``training_flops``)."""
    return 6.0 * parameters * tokens_per_second_per_gpu / peak_flops_per_gpu


@dataclass(frozen=True)
class Estimate:
    """Training cost of N parameters on D tokens, on ``gpus`` accelerators of one kind."""

    parameters: float
    tokens: float
    flops: float
    accelerator: Accelerator
    gpus: int
    utilisation: float
    gpu_days: float
    days: float  # wall clock


def estimate(parameters: float, tokens: float, accelerator: str, gpus: int, utilisation: float = 0.4) -> Estimate:
    """C = 6ND, and the days it takes on ``gpus`` of a named accelerator at the given utilisation."""
    if accelerator not in ACCELERATORS:
        raise PlaygroundError(f"Unknown accelerator '{accelerator}'. Known: {', '.join(ACCELERATORS)}.")
    chip = ACCELERATORS[accelerator]
    flops = training_flops(parameters, tokens)
    work = gpu_days(flops, chip.peak_flops, utilisation)
    return Estimate(
        parameters,
        tokens,
        flops,
        chip,
        gpus,
        utilisation,
        work,
        training_days(flops, gpus, chip.peak_flops, utilisation),
    )
