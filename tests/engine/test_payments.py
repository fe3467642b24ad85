"""Outcomes, payer caps, settlement and the provider's outcome pay (spec section 5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mhep_model.engine import payments
from mhep_model.engine.payments import cap_cumulative, cap_per_year, eligible_counts, settle
from tests.conftest import MINIMAL, run_text


def test_eligible_counts_cap_cumulatively_and_scale_bands() -> None:
    flow = np.array([[[1.0, 2.0, 2.0, 2.0], [1.0, 2.0, 2.0, 2.0]]])  # two bands
    elig = eligible_counts(flow, np.array([9.0]))
    assert np.allclose(elig.sum(axis=1), [[2, 4, 3, 0]])
    assert np.allclose(elig[0, 0], elig[0, 1])
    assert eligible_counts(flow, np.array([np.inf])) is flow  # no cap: no copy (issue 15)
    assert np.array_equal(eligible_counts(flow, np.array([np.inf])), flow)


def test_settle_quarterly_with_lag_and_drop_past_horizon() -> None:
    amount = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]])
    m = np.arange(1, 8)
    pay_month = 3 * (-(-m // 3)) + 1
    paid = settle(amount, pay_month[None, :], np.array([7]))
    assert paid.tolist() == [[0, 0, 0, 6.0, 0, 0, 15.0]]  # month 7's quarter pays in month 10


def test_cap_cumulative() -> None:
    paid = cap_cumulative(np.array([[5.0, 5.0, 5.0]]), np.array([12.0]))
    assert paid.tolist() == [[5, 5, 2]]


def test_cap_cumulative_amended_cap_is_monotone() -> None:
    # lowered below what was paid: no claw-back; raised: held-back invoices paid at once
    amount = np.array([[5.0, 5.0, 5.0, 5.0, 0.0, 5.0]])
    cap = np.array([[12.0, 12.0, 8.0, 8.0, 30.0, 30.0]])
    paid = cap_cumulative(amount, cap)
    assert paid.tolist() == [[5, 5, 0, 0, 10, 5]]


def test_cap_per_year_resets_each_contract_year() -> None:
    amount = np.full((1, 26), 10.0)
    paid = cap_per_year(amount, np.array([25.0]), np.array([24]))
    assert paid[0, :12].sum() == 25
    # the tail (months 25-26) belongs to year 2, whose cap is already used up
    assert paid[0, 12:24].sum() == 25 and paid[0, 24:].sum() == 0


def test_cap_per_year_with_a_raised_cap_mid_year() -> None:
    amount = np.full((1, 12), 10.0)
    cap = np.where(np.arange(12) < 6, 30.0, 50.0)[None, :]
    paid = cap_per_year(amount, cap, np.array([12]))
    assert paid[0].tolist() == [10, 10, 10, 0, 0, 0, 20, 0, 0, 0, 0, 0]


def test_payers_windows_factor_self_and_unfunded(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "  council: {name: Council, cap: 20000}\n  spv: {self: true}",
        "  council: {name: Council, window: [1, 6], tariff_factor: 0.5}\n"
        "  spv: {self: true, window: [1, 6]}",
    )
    out = run_text(tmp_path, text)
    pay = out.results.payments
    engagement = out.results.stages[0][0, 0]
    job_start = out.results.stages[1][0]
    value = engagement * 500 + job_start[0] * 700 + job_start[1] * 1300  # full tariffs
    assert np.allclose(
        pay.paid[0, 0, :6], (engagement * 500 * 0.8 + value - engagement * 500)[:6] * 0.5
    )
    assert np.allclose(pay.self_funded[0, :6], engagement[:6] * 500 * 0.2)
    assert np.all(pay.paid[0, 0, 6:] == 0) and np.all(pay.self_funded[0, 6:] == 0)
    # after month 6 nobody pays: unfunded at the full tariff, and the provider is still paid
    assert np.allclose(pay.unfunded[0, 6:], value[6:])
    assert np.all(pay.unfunded[0, :6] == 0)
    assert np.allclose(pay.provider_outcome_payments[0, 6:], 0.8 * value[6:])


def test_quarterly_settlement_caps_and_unsettled(tmp_path: Path) -> None:
    text = MINIMAL + "settlement: {frequency: quarterly, lag_months: 7}\n"
    out = run_text(tmp_path, text)
    pay = out.results.payments
    summary = out.results.summary
    paid_months = np.flatnonzero(pay.paid[0, 0]) + 1
    assert set(paid_months.tolist()) <= {10, 13, 16}  # quarters end 3, 6, 9; paid 7 later
    assert np.cumsum(pay.paid[0, 0]).max() <= 20000 + 1e-6
    assert summary["capped"][0] > 0
    # the quarter ending in month 12 would be paid in month 19, past H = 18
    assert summary["unsettled"][0] > 0
    assert np.all(pay.unsettled[0, :9] == 0) and np.all(pay.unsettled[0, 9:12] > 0)


@pytest.mark.parametrize("rows", [0, 1, 5, 300])
def test_nonzero_payers_and_same_rows_match_numpy(rows: int) -> None:
    rng = np.random.default_rng(rows)
    x = np.where(rng.random((rows, 4, 12)) < 0.02, rng.normal(size=(rows, 4, 12)), 0.0)
    x[:, 3] = 0.0  # a payer with no share anywhere
    if rows:
        x[rows // 2, 0, 5] = np.nan  # NaN counts as nonzero, as numpy's any has it
    expected = x.any(axis=(0, 2))
    assert payments.nonzero_payers(x).tolist() == expected.tolist()
    assert payments.nonzero_payers(x[:, :, ::2]).tolist() == x[:, :, ::2].any(axis=(0, 2)).tolist()
    one = np.broadcast_to(x[:1], x.shape) if rows else x
    assert payments.nonzero_payers(one).tolist() == one.any(axis=(0, 2)).tolist()
    assert payments.same_rows(one)
    assert payments.same_rows(x) == (rows <= 1 or bool((x == x[:1]).all()))  # one row: itself
    y = np.repeat(np.ones((1, 3)), rows, axis=0)
    assert payments.same_rows(y)
    if rows > 2:
        y[1, 2] = 2.0  # differs in a middle row only: the full comparison finds it
        assert not payments.same_rows(y)
