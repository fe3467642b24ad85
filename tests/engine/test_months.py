"""Month-axis helpers (issue 15): the same numbers as numpy's own, bit for bit, on few
rows (numpy's path) and on many (steps over columns or the flattened array)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mhep_model.engine import months
from mhep_model.engine.heap import retain_freed_memory

SHAPES = [(3, 48), (months.MANY_ROWS, 7), (300, 2, 36), (80, 4, 48), (600, 1), (5, 0)]


def _values(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Money-like values with the awkward ones: zeros, -0.0, negatives, huge and tiny."""
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=1e4, size=shape)
    pick = rng.random(shape)
    x[pick < 0.2] = 0.0
    x[(pick >= 0.2) & (pick < 0.25)] = -0.0
    x[(pick >= 0.25) & (pick < 0.3)] = 1e-310
    x[(pick >= 0.3) & (pick < 0.32)] = 1e300
    return x


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal bit for bit (so -0.0 and 0.0 differ)."""
    return a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_running_sums_maxima_and_differences_match_numpy(shape: tuple[int, ...], seed: int) -> None:
    x = _values(shape, seed)
    assert _same(months.running_total(x), np.cumsum(x, axis=-1))
    assert _same(months.running_max(x), np.maximum.accumulate(x, axis=-1))
    assert _same(months.month_diff(x), np.diff(x, axis=-1, prepend=0.0))
    assert _same(x, _values(shape, seed))  # the input is left alone


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("lag", [0, 1, 5, 47, 48, 60])
def test_delays_match_slices(shape: tuple[int, ...], lag: int) -> None:
    x = _values(shape, lag)
    length = shape[-1]
    expected = np.zeros(shape)
    if lag < length:
        expected[..., lag:] = x[..., : length - lag]
    assert _same(months.delay(x, lag), expected)
    base = _values(shape, lag + 100)
    out, expected = base.copy(), base.copy()
    months.add_delayed(out, x, lag)
    if lag < length:
        expected[..., lag:] += x[..., : length - lag]
    assert _same(out, expected)


def test_a_strided_view_is_delayed_like_a_copy() -> None:
    x = _values((400, 3, 24), 4)[:, 1]  # rows of a view, not contiguous
    expected = np.zeros(x.shape)
    expected[:, 2:] = x[:, :-2]
    assert _same(months.delay(x, 2), expected)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=30),
    st.integers(1, 400),
)
def test_settle_steps_add_each_payment_month_in_achievement_order(
    offsets: list[int], rows: int
) -> None:
    """Any calendar (paid the same month or later, or never): the steps add the same
    amounts in the same order as one step per achievement month."""
    length = len(offsets)
    when = np.array([m + 1 + d if m + 1 + d <= length else 0 for m, d in enumerate(offsets)])
    x = _values((rows, 2, length), length)
    naive = np.zeros(x.shape)
    for month in np.flatnonzero(when):
        naive[..., when[month] - 1] += x[..., month]
    stepped = np.zeros(x.shape)
    for target, source in months.settle_steps(when):
        stepped[..., target] += x[..., source]
    assert _same(stepped, naive)


def test_quarterly_settlement_is_three_strided_slices() -> None:
    when = np.array([(m // 3 + 1) * 3 + 1 for m in range(12)])
    when[when > 12] = 0
    steps = months.settle_steps(when)
    assert steps == [
        (slice(3, 10, 3), slice(0, 7, 3)),
        (slice(3, 10, 3), slice(1, 8, 3)),
        (slice(3, 10, 3), slice(2, 9, 3)),
    ]


def test_freed_memory_is_kept_on_glibc() -> None:
    import os
    import sys

    glibc = sys.platform.startswith("linux") and "glibc" in (
        os.confstr("CS_GNU_LIBC_VERSION") or ""
    )
    assert retain_freed_memory() is glibc
