"""Repacking a float weight matrix for the native decode step, in groups of 32 along its input.

- 4-bit with a scale and an offset per group (GGUF's Q4_1 layout) where every group of a matrix
  already lies on such a grid: the packaged models' weights were de-quantized from 4-bit GGUF
  blocks, so this is lossless for them and halves the bytes of int8;
- otherwise int8 with one scale per group: the grid's own step where the group lies on a
  symmetric grid of at most 255 levels (GGUF's Q8_0 and Q5_0: lossless), else max |w| / 127.

``Packed.exact`` says whether the packing kept every weight (``NativeModel.precision`` reports it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

GROUP = 32
# Relative tolerance of "lies on a grid": float32 rounding of de-quantized weights is ~1e-7 of
# a group's largest value; a grid step is at least 1/255 of it.
GRID_TOLERANCE = 1e-5


@dataclass
class Packed:
    """One matrix in the layout of native.c's ``Mat``, with whether the packing kept every weight exactly."""

    kind: int  # 0: int8, 1: 4-bit
    q: torch.Tensor
    d: torch.Tensor
    m: torch.Tensor | None
    bias: torch.Tensor | None
    exact: bool

    def dequantize(self) -> torch.Tensor:
        """The weights this packing multiplies by (for tests and error reports)."""
        rows, groups = self.d.shape
        if self.kind == 0:
            values = self.q.float().reshape(rows, groups, GROUP)
            return (values * self.d[..., None]).reshape(rows, groups * GROUP)
        low, high = self.q.reshape(rows, groups, 16) & 0x0F, self.q.reshape(rows, groups, 16) >> 4
        values = torch.cat([low, high], -1).float()
        return (values * self.d[..., None] + self.m[..., None]).reshape(rows, groups * GROUP)


def pack(weight: torch.Tensor, bias: torch.Tensor | None = None, rows_at_once: int = 4096) -> Packed:
    """Repack a [rows, cols] float weight: 4-bit if it lies on a 4-bit grid, else int8.

    Works through ``rows_at_once`` rows at a time, so that its temporaries stay small (a
    262,144 x 640 embedding took 7 s in one piece, 1 s in pieces)."""
    w = weight.detach().float()
    rows, cols = w.shape
    groups = w.reshape(rows, cols // GROUP, GROUP)
    bias = bias.detach().float().contiguous() if bias is not None else None
    pieces = [groups[start : start + rows_at_once] for start in range(0, rows, rows_at_once)]
    # Try the 4-bit grid on a sample first: most matrices that are not on one fail at once.
    if _on_4bit_grid(groups[:64]) is not None:
        grids = []
        for piece in pieces:
            if (grid := _on_4bit_grid(piece)) is None:
                break
            step, low, q = grid
            grids.append(((q[..., :16] | (q[..., 16:] << 4)).to(torch.uint8).reshape(len(piece), cols // 2), step, low))
        else:
            packed, step, low = (torch.cat(parts).contiguous() for parts in zip(*grids, strict=True))
            return Packed(1, packed, step, low, bias, True)
    quantized, scales, lossless = [], [], True
    for piece in pieces:
        amax = piece.abs().amax(-1)
        scale = _symmetric_step(piece)
        exact = scale > 0
        scale = torch.where(exact, scale, amax / 127.0)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        quantized.append(
            torch.round(piece / scale[..., None]).clamp(-127, 127).to(torch.int8).reshape(len(piece), cols)
        )
        scales.append(scale)
        lossless = lossless and bool(exact.all())
    return Packed(0, torch.cat(quantized).contiguous(), torch.cat(scales).contiguous(), None, bias, lossless)


def _levels(groups: torch.Tensor, origin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The grid step of each group's values above ``origin`` (the smallest gap between distinct
    values, refined over the whole span) and the integer level of each value on it."""
    values, _ = groups.sort(-1)
    span = values[..., -1] - values[..., 0]
    tolerance = GRID_TOLERANCE * groups.abs().amax(-1, keepdim=True)
    gaps = values[..., 1:] - values[..., :-1]
    gaps = torch.where(gaps > tolerance, gaps, torch.full_like(gaps, math.inf)).amin(-1)
    count = torch.where(torch.isfinite(gaps), torch.round(span / gaps), torch.zeros_like(span))
    step = torch.where(count > 0, span / count.clamp(min=1), torch.zeros_like(span))
    return step, _round(groups, origin, step)


def _round(groups: torch.Tensor, origin: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    safe = torch.where(step > 0, step, torch.ones_like(step))
    return torch.round((groups - origin[..., None]) / safe[..., None])


def _fits(groups, step, origin, level) -> torch.Tensor:
    error = (level * step[..., None] + origin[..., None] - groups).abs().amax(-1)
    return error <= GRID_TOLERANCE * groups.abs().amax(-1)


def _on_4bit_grid(groups: torch.Tensor):
    """(step, offset, levels 0-15) if every group is d * q + m with q in 0..15, else None.

    Most groups that are on such a grid use both its ends (Q4_1 puts the minimum at 0 and the
    maximum at 15), so (max - min) / 15 is tried first; only the others are sorted (Q4_K's)."""
    low = groups.amin(-1)
    step = (groups.amax(-1) - low) / 15
    level = _round(groups, low, step)
    good = _fits(groups, step, low, level)
    if not bool(good.all()):
        rest = ~good
        step_rest, level_rest = _levels(groups[rest], low[rest])
        if not bool((_fits(groups[rest], step_rest, low[rest], level_rest) & (level_rest.amax(-1) <= 15)).all()):
            return None
        step[rest], level[rest] = step_rest, level_rest
    return step, low, level.to(torch.int32)


def _symmetric_step(groups: torch.Tensor) -> torch.Tensor:
    """Per group: the step s of a grid k * s (k a whole number, |k| <= 127) the group lies on, else 0.

    Q8_0 groups use max |w| / 127, tried first; the others (Q5_0's, for one) are found through
    the smallest gap between values, which is a multiple of their step."""
    zero = torch.zeros(groups.shape[:-1])
    step = groups.abs().amax(-1) / 127.0
    level = _round(groups, zero, step)
    good = (step > 0) & _fits(groups, step, zero, level)
    found = torch.where(good, step, zero)
    rest = ~good
    if bool(rest.any()):
        candidate, level = _levels(groups[rest], zero[rest])
        fits = (candidate > 0) & _fits(groups[rest], candidate, zero[rest], level) & (level.abs().amax(-1) <= 127)
        found[rest] = torch.where(fits, candidate, zero[rest])
    return found
