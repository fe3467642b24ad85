"""Internal rate of return for a batch of monthly cash-flow series (spec section 7).

The IRR of a series ``cf[m]``, m = 1..H, is the monthly rate r in (-99%, +100%] with
``sum_m cf[m] / (1 + r)^m = 0``; where there are several, the one nearest zero. No library
computes that for a batch, so: evaluate the NPV's sign on a fixed grid of rates (one matrix
product for all rows), take the sign changes nearest zero on each side, and close both
brackets for all rows together. A series whose signs change once (an investor who pays in,
then is paid back) has at most one root (Descartes' rule of signs), so a coarse grid finds
its bracket; only other series need the fine grid.
"""

from __future__ import annotations

import numpy as np

from mhep_model.engine.inputs import FloatArray

R_MIN = -0.99
R_MAX = 1.0
_FINE_HALF = 400
_COARSE_HALF = 32
_ITERATIONS = 40


def _grid(half: int) -> FloatArray:
    u = np.linspace(0.0, 1.0, half + 1)[1:]
    neg = R_MIN * u**2  # dense near zero, where most roots lie
    pos = R_MAX * u**2
    return np.concatenate([neg[::-1], [0.0], pos])


def _scaled_npv(cf: FloatArray, r: FloatArray) -> FloatArray:
    """NPV times a positive factor, finite for every r in the range.

    ``cf`` is ``(R, T)``; ``r`` is ``(R, G)`` (or broadcastable). For r >= 0 this is
    ``sum cf[m] (1+r)^-m``; for r < 0 it is that times ``(1+r)^T``, which keeps the powers
    below 1 and so never overflows. Either way the sign is the NPV's.
    """
    months = cf.shape[-1]
    m = np.arange(1, months + 1, dtype=np.float64)
    log1p = np.log1p(r)[..., None]  # (R, G, 1)
    expo = np.where(log1p >= 0, -m * log1p, (months - m) * log1p)
    out: FloatArray = np.einsum("rt,rgt->rg", cf, np.exp(expo))
    return out


def _illinois(
    cf: FloatArray, lo: FloatArray, hi: FloatArray, f_lo: FloatArray, f_hi: FloatArray
) -> FloatArray:
    """Roots inside brackets ``[lo, hi]`` (signs of ``f`` differ), for every row at once, by
    the Illinois variant of false position: superlinear, and the bracket is always kept."""
    a, b, fa, fb = lo.copy(), hi.copy(), f_lo.copy(), f_hi.copy()
    # Only rows not yet converged are iterated: a converged row is frozen, and each row's
    # arithmetic is its own (rows never interact), so the results are the same bit for bit
    # as iterating every row, at a fraction of the work (issue 15).
    live = np.arange(a.shape[0])
    for _ in range(_ITERATIONS):
        if not live.size:
            break
        la, lb, lfa, lfb = a[live], b[live], fa[live], fb[live]
        denom = np.where(lfb != lfa, lfb - lfa, 1.0)
        c = np.where(lfb != lfa, (la * lfb - lb * lfa) / denom, 0.5 * (la + lb))
        c = np.where((c > np.minimum(la, lb)) & (c < np.maximum(la, lb)), c, 0.5 * (la + lb))
        fc = _scaled_npv(cf[live], c[:, None])[:, 0]
        flip = np.sign(fc) != np.sign(lfb)  # the root lies between b and c
        converged = (np.abs(c - lb) <= 1e-15 * (1.0 + np.abs(c))) | (fc == 0)
        a[live] = np.where(flip, lb, la)
        fa[live] = np.where(flip, lfb, 0.5 * lfa)
        b[live] = c
        fb[live] = fc
        live = live[~converged]
    return b


def sign_changes(cf: FloatArray) -> np.ndarray:
    """``(R,)`` number of sign changes along each series, zeros skipped."""
    signs = np.sign(cf)
    months = np.arange(cf.shape[1])
    last = np.maximum.accumulate(np.where(signs != 0, months, 0), axis=1)
    filled = np.take_along_axis(signs, last, axis=1)
    return (filled[:, 1:] * filled[:, :-1] < 0).sum(axis=1)  # type: ignore[no-any-return]


def irr_monthly(cashflows: FloatArray) -> FloatArray:
    """``(R,)`` monthly IRR of each ``(R, T)`` series; NaN where none (or all zero)."""
    cf = np.asarray(cashflows, dtype=np.float64)
    result = np.full(cf.shape[0], np.nan)
    simple = sign_changes(cf) <= 1
    for rows, half in ((simple, _COARSE_HALF), (~simple, _FINE_HALF)):
        if rows.any():
            result[rows] = _irr_on_grid(cf[rows], _grid(half))
    return result


def _irr_on_grid(cf: FloatArray, grid: FloatArray) -> FloatArray:
    rows, months = cf.shape
    m = np.arange(1, months + 1, dtype=np.float64)
    # One product for all rows: powers (G, T), positive and negative sides scaled apart.
    log1p = np.log1p(grid)[:, None]
    powers = np.exp(np.where(log1p >= 0, -m * log1p, (months - m) * log1p))
    # einsum, not a matrix product: BLAS may add in an order that depends on the batch's
    # size, and a row's IRR must not depend on which other rows share its batch.
    values = np.einsum("rt,gt->rg", cf, powers)  # (R, G)
    sign = np.sign(values)
    zero_idx = int(np.searchsorted(grid, 0.0))
    result = np.full(rows, np.nan)
    best_dist = np.full(rows, np.inf)

    exact = sign == 0
    if exact.any():
        dist = np.where(exact, np.abs(grid)[None, :], np.inf)
        j = dist.argmin(axis=1)
        hit = np.isfinite(dist[np.arange(rows), j])
        result[hit] = grid[j[hit]]
        best_dist[hit] = dist[np.arange(rows), j][hit]

    change = sign[:, :-1] * sign[:, 1:] < 0  # (R, G-1): a root inside (grid[i], grid[i+1])
    for side in (1, -1):
        idx = np.arange(grid.size - 1)
        on_side = idx >= zero_idx if side > 0 else idx < zero_idx
        cand = change & on_side[None, :]
        has = cand.any(axis=1)
        if not has.any():
            continue
        if side > 0:
            i = np.where(has, cand.argmax(axis=1), 0)
        else:
            i = np.where(has, grid.size - 2 - cand[:, ::-1].argmax(axis=1), 0)
        root = np.full(rows, np.nan)
        sel = np.flatnonzero(has)
        root[sel] = _illinois(
            cf[sel],
            grid[i[sel]],
            grid[i[sel] + 1],
            values[sel, i[sel]],
            values[sel, i[sel] + 1],
        )
        better = has & (np.abs(np.nan_to_num(root, nan=np.inf)) < best_dist)
        result[better] = root[better]
        best_dist[better] = np.abs(root[better])
    all_zero = ~np.any(cf != 0, axis=1)
    result[all_zero] = np.nan
    return result


def irr_annual(cashflows: FloatArray) -> FloatArray:
    """``(R,)`` annualised IRR ``(1 + r)^12 - 1`` [1/year]; NaN where there is none."""
    r = irr_monthly(cashflows)
    return (1.0 + r) ** 12 - 1.0
