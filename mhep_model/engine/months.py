"""Running totals, differences and shifts along the month axis (the last one).

Arrays are C-ordered ``(..., T)`` with a short month axis (tens of months) and many rows.
numpy's own ``cumsum``, ``maximum.accumulate`` and ``diff`` along that axis, and slices
of it, run one short inner loop per row; these helpers give the same numbers, bit for
bit, by steps over whole columns or over the flattened array, a few times faster on a
large batch. On a few rows numpy's own is used (a step per month would cost more).
"""

from __future__ import annotations

import numpy as np

from mhep_model.engine.inputs import FloatArray, IntArray

MANY_ROWS = 256
"""From this many rows (all axes but the last) on, a step per month beats numpy's own."""


def _many(x: np.ndarray) -> bool:
    return x.ndim > 1 and x.size >= MANY_ROWS * x.shape[-1] and x.shape[-1] > 1


def running_total(x: FloatArray) -> FloatArray:
    """``np.cumsum(x, axis=-1)``: the same sums in the same order, a column at a time."""
    if not _many(x):
        return np.cumsum(x, axis=-1)
    out = np.array(x, dtype=np.float64, order="C")
    for t in range(1, x.shape[-1]):
        np.add(out[..., t - 1], out[..., t], out=out[..., t])
    return out


def running_max(x: FloatArray) -> FloatArray:
    """``np.maximum.accumulate(x, axis=-1)``, a column at a time."""
    if not _many(x):
        return np.maximum.accumulate(x, axis=-1)
    out = np.array(x, dtype=np.float64, order="C")
    for t in range(1, x.shape[-1]):
        np.maximum(out[..., t - 1], out[..., t], out=out[..., t])
    return out


def month_diff(x: FloatArray) -> FloatArray:
    """``np.diff(x, axis=-1, prepend=0.0)``: each month less the month before (the first
    month as it is), as one pass over the flattened array whose first column is then put
    right (it took the previous row's last month)."""
    if not _many(x):
        return np.diff(x, axis=-1, prepend=0.0)
    src = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(src)
    flat, whole = out.reshape(-1), src.reshape(-1)
    np.subtract(whole[1:], whole[:-1], out=flat[1:])
    out[..., 0] = src[..., 0] - 0.0  # as numpy's prepend computes it
    return out


def delay(x: FloatArray, months: int) -> FloatArray:
    """``x`` moved ``months`` later along the last axis, exactly (what falls past the
    end is dropped; the first ``months`` are 0)."""
    length = x.shape[-1]
    out = np.zeros(x.shape)
    if months >= length:
        return out
    if months == 0 or not _many(x) or not x.flags.c_contiguous:
        out[..., months:] = x[..., : length - months]
        return out
    out.reshape(-1)[months:] = x.reshape(-1)[:-months]  # one pass; then each row's head
    out[..., :months] = 0.0
    return out


def add_delayed(out: FloatArray, x: FloatArray, months: int) -> None:
    """``out[..., months:] += x[..., :-months]`` in place (``months`` 0: ``out += x``)."""
    length = x.shape[-1]
    if months >= length:
        return
    if months == 0:
        out += x
        return
    if not _many(x) or not (out.flags.c_contiguous and x.flags.c_contiguous):
        out[..., months:] += x[..., : length - months]
        return
    # One pass over the flattened arrays; the first ``months`` columns of each row then
    # hold the previous row's last months, and are put back.
    head = out[..., :months].copy()
    flat = out.reshape(-1)
    flat[months:] += x.reshape(-1)[:-months]
    out[..., :months] = head


def settle_steps(when: IntArray) -> list[tuple[slice | IntArray, slice | IntArray]]:
    """How to move amounts by achievement month to payment months ``when`` ``(T,)``
    (1-based, 0: never paid), adding each payment month's amounts in achievement-month
    order: a list of ``(payment months, achievement months)`` index pairs (0-based), the
    k-th pair holding every payment month's k-th amount. A quarter's three months are
    three steps, each a strided slice, not a step per month."""
    sources = np.flatnonzero(when)
    targets = when[sources] - 1
    rank = np.zeros(sources.size, dtype=np.int64)
    seen: dict[int, int] = {}
    for i, target in enumerate(targets.tolist()):
        rank[i] = seen.get(target, 0)
        seen[target] = rank[i] + 1
    steps: list[tuple[slice | IntArray, slice | IntArray]] = []
    for k in range(int(rank.max(initial=-1)) + 1):
        pick = rank == k
        steps.append((_as_slice(targets[pick]), _as_slice(sources[pick])))
    return steps


def _as_slice(index: IntArray) -> slice | IntArray:
    """An evenly spaced, rising index as a slice (a view, no gather), else the index."""
    if index.size == 1:
        return slice(int(index[0]), int(index[0]) + 1)
    step = int(index[1] - index[0])
    if step > 0 and (np.diff(index) == step).all():
        return slice(int(index[0]), int(index[-1]) + 1, step)
    return index
