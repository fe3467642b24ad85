"""The batch IRR: root nearest zero in (-99%, +100%] a month."""

from __future__ import annotations

import numpy as np

from mhep_model.engine.irr import irr_annual, irr_monthly


def test_simple_loan() -> None:
    # -100 in month 1, +110 in month 13: 10% over 12 months
    cf = np.zeros((1, 13))
    cf[0, 0], cf[0, 12] = -100, 110
    assert np.isclose(irr_annual(cf)[0], 0.10, rtol=1e-10)


def test_batch_of_rates_and_blanks() -> None:
    months = 24
    rates = np.array([-0.5, -0.01, 0.0, 0.02, 0.5])
    cf = np.zeros((rates.size + 2, months))
    cf[: rates.size, 0] = -1000
    cf[: rates.size, -1] = 1000 * (1 + rates) ** (months - 1)
    cf[-2, 0] = 100  # never negative: no root
    # last row all zero: blank
    r = irr_monthly(cf)
    assert np.allclose(r[: rates.size], rates, atol=1e-12)
    assert np.isnan(r[-2]) and np.isnan(r[-1])


def test_root_nearest_zero_is_chosen() -> None:
    # (1+r)^-1 roots at r = 0.1 and r = 0.5: cf = -1, +2.6, -1.65 (x = 1/(1+r))
    a, b = 1 / 1.1, 1 / 1.5
    # polynomial in x: c1 x + c2 x^2 + c3 x^3 with roots a, b (and 0): x (x - a)(x - b)
    cf = np.array([[a * b, -(a + b), 1.0]])
    assert np.isclose(irr_monthly(cf)[0], 0.1, atol=1e-12)
    assert np.isclose(irr_monthly(-cf)[0], 0.1, atol=1e-12)


def test_long_horizon_does_not_overflow() -> None:
    cf = np.zeros((1, 600))
    cf[0, 0], cf[0, -1] = -1.0, 0.001
    r = irr_monthly(cf)[0]
    assert np.isclose((1 + r) ** 599, 0.001, rtol=1e-9)
