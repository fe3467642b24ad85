"""Vectorised bracketing of roots."""

from __future__ import annotations

import numpy as np

from mhep_model.engine.solve import find_roots


def test_finds_first_crossing_per_row() -> None:
    def evaluate(x: np.ndarray) -> np.ndarray:
        return np.stack([x[0] ** 2, 3 * x[1] - 1, np.sin(x[2])])

    roots = find_roots(
        evaluate, np.zeros(3), np.array([10.0, 10.0, 10.0]), np.array([2.0, 0.0, 0.0])
    )
    assert np.allclose(roots.value, [np.sqrt(2), 1 / 3, 0.0], atol=1e-9)


def test_no_crossing_is_nan_with_range_ends() -> None:
    roots = find_roots(lambda x: x + 5, np.zeros(1), np.ones(1), np.zeros(1))
    assert np.isnan(roots.value[0])
    assert roots.at_lo[0] == 5 and roots.at_hi[0] == 6
