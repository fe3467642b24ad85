"""The SPV waterfall and the investor (spec section 7)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.conftest import MINIMAL, run_text


def test_no_income_means_drawdowns_then_a_funding_gap(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "stages:\n  engagement: {from: referral, rate: 0.5",
        "stages:\n  engagement: {from: referral, rate: 0.0",
    )
    text = text.replace("commitment: 50000", "commitment: 10000")
    out = run_text(tmp_path, text)
    spv = out.results.spv
    # monthly outgoings: block 1,000 + fee 500; the 10,000 commitment lasts 6.67 months
    assert np.allclose(spv.drawdown[0, :6], 1500)
    assert spv.drawdown[0].sum() == 10000
    assert spv.funding_gap[0, 6] > 0
    assert out.results.summary["max_funding_gap"][0] == spv.funding_gap[0].max()
    # 75% of each drawdown is loan; interest accrues on last month's principal
    assert np.isclose(spv.loan_principal[0, 0], 1125)
    assert out.results.summary["investor_received"][0] == 0
    assert out.results.summary["loan_loss"][0] > 7500


def test_sweep_pays_interest_then_principal(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "investor: {commitment: 50000, equity_share: 0.25}",
        "investor: {commitment: 50000, equity_share: 0.0, repayment: sweep, sweep_from_month: 6}",
    )
    text = text.replace("cap: 20000", "cap: 200000").replace(
        "share_of_tariff: 0.8", "share_of_tariff: 0.3"
    )
    out = run_text(tmp_path, text)
    spv = out.results.spv
    assert np.all(spv.interest_paid[0, :5] == 0) and np.all(spv.principal_repaid[0, :5] == 0)
    assert spv.interest_paid[0].sum() > 0
    repaid = spv.principal_repaid[0].sum()
    assert np.isclose(repaid + spv.loan_principal[0, -1], spv.drawdown[0].sum())


def test_final_month_pays_out_the_buffer_even_without_equity(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "spv: {management_fee_annual: 6000}", "spv: {management_fee_annual: 0, opening_cash: 1000}"
    )
    text = text.replace("block: {annual: 12000}", "block: {annual: 0}").replace(
        "share_of_tariff: 0.8", "share_of_tariff: 0.0"
    )
    out = run_text(tmp_path, text)
    s = out.results.summary
    assert s["investor_drawn"][0] == 0
    assert np.isnan(s["investor_multiple"][0])  # blank when nothing was drawn
    assert s["investor_received"][0] > 1000
    assert out.results.spv.cash[0, 17] == 0
