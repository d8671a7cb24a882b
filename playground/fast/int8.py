"""Int8 linear weights for decoding on an x86-64 CPU, with a small matrix-vector kernel in C.

Decoding one token reads every weight once, so on a CPU its speed is the bytes streamed from
memory: int8 weights are a quarter of float32's bytes and half of float16's. PyTorch has no fast
int8-weight, float-activation product for AVX2 CPUs (``torch._weight_int8pack_mm`` was 3x slower
than float32 here; dynamic int8 quantizes the activations too, which moved SmolLM2's perplexity
2.4-4.8x), so this module compiles one: each output row is a dot product of float32 activations
with int8 weights, one float32 scale per group of 32 weights (the layout of GGUF's Q8_0; the
packaged models' 4-bit blocks are themselves groups of 32). Activations, accumulation, norms,
attention and the KV cache stay float32.

The kernel is compiled once with the system's C compiler (``cc``, AVX2 and FMA, OpenMP) by
``playground.fast.build`` and loaded with ctypes, which releases the interpreter lock while it
runs. Where that is not possible (no compiler, not x86-64 with AVX2
and FMA, a width that is not a multiple of 32), ``available`` says why and the caller keeps its
float16 path.
"""

from __future__ import annotations

import ctypes
import logging
import threading

import torch

from playground.fast import build

log = logging.getLogger(__name__)

GROUP = 32
PRECISION = "int8 weights (groups of 32), float32 activations"

SOURCE = r"""
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_hadd_ps(s, s);
    s = _mm_hadd_ps(s, s);
    return _mm_cvtss_f32(s);
}

/* y[m, n] = sum over groups g of scale[n, g] * sum_{k in g} q[n, k] * x[m, k]  (32 k per group) */
void gemm_q8(const float *x, const int8_t *q, const float *scale, float *y,
             int rows, int n_out, int k, int threads) {
    const int groups = k / 32;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int n = 0; n < n_out; n++) {
        const int8_t *w = q + (size_t)n * k;
        const float *s = scale + (size_t)n * groups;
        for (int m = 0; m < rows; m++) {
            const float *xm = x + (size_t)m * k;
            __m256 acc = _mm256_setzero_ps();
            for (int g = 0; g < groups; g++) {
                const int8_t *b = w + g * 32;
                const float *xv = xm + g * 32;
                __m256i w8 = _mm256_loadu_si256((const __m256i *)b);
                __m128i lo = _mm256_castsi256_si128(w8), hi = _mm256_extracti128_si256(w8, 1);
                __m256 d = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), _mm256_loadu_ps(xv));
                d = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))),
                                    _mm256_loadu_ps(xv + 8), d);
                d = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), _mm256_loadu_ps(xv + 16), d);
                d = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))),
                                    _mm256_loadu_ps(xv + 24), d);
                acc = _mm256_fmadd_ps(d, _mm256_set1_ps(s[g]), acc);
            }
            y[(size_t)m * n_out + n] = hsum(acc);
        }
    }
}
"""

_lock = threading.Lock()
_state: dict[str, object] = {}


def available() -> bool:
    """Whether the kernel is compiled and loaded (compiling it on first call: about a second)."""
    return _library() is not None


def why_unavailable() -> str | None:
    _library()
    return _state.get("reason")  # type: ignore[return-value]


def _library() -> ctypes.CDLL | None:
    with _lock:
        if "library" not in _state:
            library, reason = _build()
            _state["library"], _state["reason"] = library, reason
            if reason:
                log.info("int8 decoding kernel unavailable: %s", reason)
        return _state["library"]  # type: ignore[return-value]


def _build() -> tuple[ctypes.CDLL | None, str | None]:
    library, reason = build.library("int8-gemm", SOURCE)
    if library is not None:
        library.gemm_q8.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_int] * 4
        library.gemm_q8.restype = None
    return library, reason


def quantize(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 per group of 32 along the input dimension: (int8 [out, in], float32 [out, in/32])."""
    out_features, in_features = weight.shape
    groups = weight.detach().float().reshape(out_features, in_features // GROUP, GROUP)
    scale = groups.abs().amax(-1) / 127.0
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.round(groups / scale[..., None]).clamp(-127, 127).to(torch.int8)
    return q.reshape(out_features, in_features).contiguous(), scale.contiguous()


def dequantize(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    out_features, in_features = q.shape
    return (q.float().reshape(out_features, -1, GROUP) * scale[..., None]).reshape(out_features, in_features)


def fits(weight: torch.Tensor) -> bool:
    """Whether a linear weight has the kernel's layout: 2-D with a multiple of 32 inputs."""
    return weight.dim() == 2 and weight.shape[1] % GROUP == 0 and weight.shape[1] > 0


class Linear8(torch.nn.Module):
    """y = x W^T + b with W in int8 groups of 32 (``quantize``), x and y in float32."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        if _library() is None:
            raise RuntimeError(f"int8 kernel unavailable: {why_unavailable()}")
        q, scale = quantize(weight)
        self.register_buffer("qweight", q, persistent=False)
        self.register_buffer("scale", scale, persistent=False)
        self.bias = bias
        self.out_features, self.in_features = q.shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features).to(torch.float32).contiguous()
        y = torch.empty((rows.shape[0], self.out_features), dtype=torch.float32, device=x.device)
        threads = torch.get_num_threads()
        q, scale = self.qweight, self.scale
        # Looked up per call, not kept on the module: a ctypes function would make the model uncopyable.
        gemm = _state["library"].gemm_q8
        gemm(rows.data_ptr(), q.data_ptr(), scale.data_ptr(), y.data_ptr(), rows.shape[0], *q.shape, threads)
        y = y.reshape(*x.shape[:-1], self.out_features)
        return y if self.bias is None else y + self.bias
