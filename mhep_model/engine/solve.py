"""Vectorised bracketing: where does a metric reach a target, for many rows at once.

Each round evaluates a grid of candidates per row in one batch (the caller's ``evaluate``),
keeps the first sub-interval where ``metric - target`` changes sign (or hits zero), and
zooms in; the last bracket is closed by linear interpolation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mhep_model.engine.inputs import FloatArray

GRID = 33
ROUNDS = 6


@dataclass(frozen=True)
class Roots:
    """Per row: the root (NaN where none in range) and the metric at both ends of the range."""

    value: FloatArray
    at_lo: FloatArray
    at_hi: FloatArray

    @property
    def found(self) -> np.ndarray:
        return ~np.isnan(self.value)


def find_roots(
    evaluate: Callable[[FloatArray], FloatArray],
    lo: FloatArray,
    hi: FloatArray,
    target: FloatArray,
    *,
    grid: int = GRID,
    rounds: int = ROUNDS,
) -> Roots:
    """First ``x`` in ``[lo, hi]`` (per row) with ``evaluate(x) == target``.

    ``evaluate`` takes candidates ``(R, G)`` and returns the metric ``(R, G)`` (NaN where
    blank). Rows whose metric never crosses the target in the range get NaN.
    """
    rows = lo.shape[0]
    a, b = lo.astype(np.float64).copy(), hi.astype(np.float64).copy()
    value = np.full(rows, np.nan)
    active = np.ones(rows, dtype=bool)
    at_lo = at_hi = np.full(rows, np.nan)
    steps = np.linspace(0.0, 1.0, grid)
    for round_ in range(rounds):
        x = a[:, None] + (b - a)[:, None] * steps[None, :]
        f = evaluate(x) - target[:, None]
        if round_ == 0:
            at_lo, at_hi = f[:, 0] + target, f[:, -1] + target
        zero = (f == 0) & active[:, None]
        change = (np.sign(f[:, :-1]) * np.sign(f[:, 1:]) < 0) & active[:, None]
        first_zero = np.where(zero.any(axis=1), zero.argmax(axis=1), grid)
        first_change = np.where(change.any(axis=1), change.argmax(axis=1), grid)
        hit = active & (first_zero <= first_change) & (first_zero < grid)
        value[hit] = x[hit, first_zero[hit]]
        active &= ~hit
        if round_ == 0:
            active &= first_change < grid  # never crosses: no root in range
        go = active & (first_change < grid)
        i = np.minimum(first_change, grid - 2)
        r = np.arange(rows)
        if round_ == rounds - 1:
            fa, fb = f[r, i], f[r, i + 1]
            xa, xb = x[r, i], x[r, i + 1]
            with np.errstate(invalid="ignore", divide="ignore"):
                interp = xa - fa * (xb - xa) / (fb - fa)
            value[go] = interp[go]
        else:
            a = np.where(go, x[r, i], a)
            b = np.where(go, x[r, i + 1], b)
        if not active.any():
            break
    return Roots(value, at_lo, at_hi)
