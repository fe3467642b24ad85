"""Guards for summary columns, tolerances and fast paths that the spec's examples do not
reach (issue 20: each test kills a hand-made mutant of the engine that changed an output)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mhep_model.engine.payments import cap_per_year, settle
from mhep_model.engine.spv import ABS_TOL, REL_TOL, Waterfall, waterfall
from mhep_model.engine.summary import investor_summary
from tests.conftest import MINIMAL, run_text


def _waterfall(rows: int, months: int, **terms: object) -> Waterfall:
    """A waterfall of ``rows`` identical rows; ``terms`` override the defaults."""
    base: dict[str, object] = {
        "management_fee": np.zeros((rows, months)),
        "horizon": np.full(rows, months),
        "opening_cash": np.zeros(rows),
        "min_cash": np.zeros(rows),
        "commitment": np.full(rows, 1e6),
        "equity_share": np.zeros(rows),
        "loan_rate": np.full(rows, 0.12),
        "sweep": np.zeros(rows, dtype=bool),
        "sweep_from_month": np.ones(rows, dtype=np.int64),
        "upfront": np.zeros(rows),
    }
    base.update(terms)
    return Waterfall(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("two_calendars", [False, True])
def test_a_provider_cap_lowered_mid_year_claws_nothing_back(two_calendars: bool) -> None:
    """Lowered below what the year has paid, the annual cap stops payments for the rest of
    the year and never takes back (the running maximum), on the fast path where every row
    shares its calendar and on the general path; each of three years starts afresh."""
    months = 36
    amount = np.full((2, months), 100.0)
    cap = np.full((2, months), 1000.0)
    cap[:, 6:12] = 300.0  # lowered in month 7, after 600 was paid this year
    term = np.array([36, 12 if two_calendars else 36])
    paid = cap_per_year(amount, cap, term)
    assert (paid >= 0).all()
    np.testing.assert_allclose(paid[0, :12], [100.0] * 6 + [0.0] * 6)
    year = [100.0] * 10 + [0.0] * 2  # years 2 and 3: capped at 1,000 each
    np.testing.assert_allclose(paid[0, 12:], year + year)
    if two_calendars:  # the second row's term ends at 12: months 13-36 are year 1's tail,
        # where the cap is back at 1,000: the year pays what it held back, up to it
        assert (paid[1] >= 0).all()
        np.testing.assert_allclose(paid[1, 12:16], [400.0, 0.0, 0.0, 0.0])
        assert paid[1].sum() == pytest.approx(1000.0)
    else:
        np.testing.assert_array_equal(paid[1], paid[0])


def test_settlement_of_rows_on_different_calendars_is_each_row_alone() -> None:
    """Rows whose payment months differ (cases starting in other months, quarterly or
    monthly) are grouped by calendar: each row settles as it would on its own."""
    rng = np.random.default_rng(4)
    rows, months = 6, 14
    amount = rng.random((rows, 2, months))
    m = np.arange(1, months + 1)
    quarter_end = -(-m // 3) * 3
    pay_month = np.stack([m, m + 1, quarter_end, quarter_end + 2, m + 1, m])
    horizon = np.array([14, 14, 12, 14, 9, 14])
    got = settle(amount, pay_month, horizon)
    for r in range(rows):
        alone = settle(amount[r : r + 1], pay_month[r : r + 1], horizon[r : r + 1])
        np.testing.assert_array_equal(got[r], alone[0])
    np.testing.assert_array_equal(got[0], amount[0])  # paid in the month achieved
    np.testing.assert_array_equal(got[1, :, 1:], amount[1, :, :-1])  # a month later
    assert got[1, :, 0].sum() == 0.0
    # quarterly: months 1-3 paid in month 3, in month order
    np.testing.assert_array_equal(got[2, :, 2], amount[2, :, 0] + amount[2, :, 1] + amount[2, :, 2])
    assert got[4, :, 9:].sum() == 0.0  # past the horizon: never paid


def _advance_run(tmp_path: Path) -> tuple[dict[str, np.ndarray], object]:
    # no tail: the costs of month H move the reserves in the last month
    text = MINIMAL.replace("tail_months: 6", "tail_months: 0").replace(
        "  opening_reserves: 10000",
        "  opening_reserves: 10000\n"
        "  advance: {amount: 6000, month: 2, repay_from: 5, repay_months: 4}",
    )
    out = run_text(tmp_path, text)
    return out.results.summary, out.results


def test_closing_reserves_are_month_h_and_the_advance_outstanding_peaks(
    tmp_path: Path,
) -> None:
    summary, results = _advance_run(tmp_path)
    prov = results.provider  # type: ignore[attr-defined]
    h = int(results.inputs.horizon[0])  # type: ignore[attr-defined]
    assert prov.reserves[0, h - 1] != prov.reserves[0, h - 2]  # the last month moves
    assert summary["provider_closing_reserves"][0] == prov.reserves[0, h - 1]
    identity = (
        10000 + summary["provider_surplus"][0] + summary["provider_advance"][0] - 6000.0
    )  # repaid in full: reserves end at opening + surplus
    assert summary["provider_closing_reserves"][0] == pytest.approx(identity)
    # lent 6,000 in month 2, repaid 1,500 a month in months 5-8: at most 6,000 outstanding
    assert summary["provider_advance"][0] == 6000.0
    assert summary["provider_advance_max_outstanding"][0] == 6000.0
    np.testing.assert_allclose(prov.advance_repaid[0, 4:8], 1500.0)


def test_advance_outstanding_is_the_peak_not_the_total(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "  opening_reserves: 10000",
        "  opening_reserves: 10000\n"
        "  advance: {amount: 6000, month: 3, repay_from: 4, repay_months: 3}",
    )
    summary = run_text(tmp_path, text).results.summary
    assert summary["provider_advance_max_outstanding"][0] == 6000.0
    no_advance = run_text(tmp_path, MINIMAL).results.summary
    assert no_advance["provider_advance_max_outstanding"][0] == 0.0


def test_drawdowns_ignore_a_need_within_tolerance() -> None:
    """Spec 11: a need of at most 1e-6 + 1e-7 x min_cash draws nothing; more draws it."""
    months = 3
    min_cash = np.array([0.0, 0.0, 1e6, 1e6])
    tol = ABS_TOL + REL_TOL * min_cash
    opening = np.array([-0.9, -1.1, -0.9, -1.1]) * tol
    opening[2:] += min_cash[2:]
    w = _waterfall(4, months, opening_cash=opening, min_cash=min_cash)
    flows = waterfall(w, np.zeros((4, months)), np.zeros((4, months)))
    drawn = flows.drawdown.sum(axis=1)
    assert drawn[0] == 0.0 and drawn[2] == 0.0
    assert drawn[1] == pytest.approx(1.1 * tol[1]) and drawn[3] == pytest.approx(1.1 * tol[3])


def test_a_funding_gap_is_cash_below_minus_tolerance_and_its_first_month() -> None:
    months = 6
    paid_out = np.zeros((3, months))
    paid_out[0, 2] = 0.5 * ABS_TOL  # within tolerance: no gap
    paid_out[1, 2] = 2 * ABS_TOL  # beyond it, from month 3
    paid_out[2, 3:] = 100.0  # from month 4, growing
    w = _waterfall(3, months, commitment=np.zeros(3))
    flows = waterfall(w, np.zeros((3, months)), paid_out)
    summary = investor_summary(flows)
    assert summary["max_funding_gap"][0] == 0.0
    assert np.isnan(summary["funding_gap_first_month"][0])
    assert summary["max_funding_gap"][1] == pytest.approx(2 * ABS_TOL)
    assert summary["funding_gap_first_month"][1] == 3.0
    assert summary["funding_gap_first_month"][2] == 4.0
    assert summary["max_funding_gap"][2] == pytest.approx(300.0)


def test_interest_is_simple_on_last_months_principal_and_paid_at_h() -> None:
    """A loan of 12,000 drawn in month 1 at 12%: 120 a month from month 2, none paid before
    month H (no sweep); at H the cash pays interest first, then principal, then equity."""
    months = 12
    income = np.zeros((2, months))
    income[:, -1] = [20000.0, 12500.0]  # month H: enough for everything / not for principal
    paid_out = np.zeros((2, months))
    paid_out[:, 0] = 12000.0
    flows = waterfall(_waterfall(2, months), income, paid_out)
    summary = investor_summary(flows)
    interest = 120.0 * (months - 1)
    np.testing.assert_allclose(flows.interest_paid[:, :-1], 0.0)
    np.testing.assert_allclose(summary["investor_interest_paid"], [interest, interest])
    np.testing.assert_allclose(summary["investor_principal_repaid"], [12000.0, 12500 - interest])
    np.testing.assert_allclose(
        summary["investor_equity_distribution"], [20000 - 12000 - interest, 0]
    )
    np.testing.assert_allclose(summary["loan_loss"], [0.0, 12000 - (12500 - interest)])
    np.testing.assert_allclose(
        summary["investor_received"],
        summary["investor_interest_paid"]
        + summary["investor_principal_repaid"]
        + summary["investor_equity_distribution"],
    )


def test_insolvency_is_below_minus_tolerance_and_the_lowest_month_is_the_first() -> None:
    """Reserves that touch exactly 0 are not insolvent; the month of the minimum is the
    first month within tolerance of it, even when the minimum is 0."""
    from mhep_model.engine.summary import contract_summary

    class _Inputs:  # what contract_summary reads of a contract's inputs
        def __init__(self, horizon: np.ndarray, months: int) -> None:
            self.horizon, self.rows, self.months = horizon, len(horizon), months
            self.stages: list[object] = []
            self.payer_self = np.zeros((len(horizon), 0), dtype=bool)
            self.payer_names: list[str] = []
            self.uses_v3 = False

        def in_horizon(self) -> np.ndarray:
            return np.arange(1, self.months + 1)[None, :] <= self.horizon[:, None]

    reserves = np.array(
        [
            [5.0, 3.0, 0.0, 0.0, 2.0, 1.0],  # touches 0 twice: never insolvent, lowest in 3
            [5.0, -2e-6, 1.0, -1.0, 1.0, -1.0],  # below -1e-6 from month 2; lowest first in 4
            [5.0, 4.0, 3.0, 3.0 + 5e-7, 4.0, -9.0],  # month 6 past the horizon: not counted
        ]
    )
    horizon = np.array([6, 6, 5])
    zeros = np.zeros_like(reserves)

    class _Flows:
        def __init__(self) -> None:
            self.revenue = self.costs = self.block = self.outcome_payments = zeros
            self.advance = self.advance_repaid = zeros
            self.reserves = reserves

    class _Pay:
        income = self_funded = unfunded = unsettled = zeros
        paid = capped = np.zeros((3, 0, 6))

    out = contract_summary(_Inputs(horizon, 6), zeros, [], zeros, _Pay(), _Flows())  # type: ignore[arg-type]
    np.testing.assert_array_equal(out["provider_insolvent_month"], [np.nan, 2.0, np.nan])
    np.testing.assert_array_equal(out["provider_min_reserves"], [0.0, -1.0, 3.0])
    np.testing.assert_array_equal(out["provider_min_reserves_month"], [3.0, 4.0, 3.0])
    np.testing.assert_array_equal(out["provider_closing_reserves"], [1.0, -1.0, 4.0])
    assert np.isnan(out["cost_per_job_start"]).all()  # no job_start stage: blank


def test_run_summary_of_a_small_batch_is_the_run_summary() -> None:
    from mhep_model.engine import run
    from mhep_model.engine.model import run_summary
    from mhep_model.scenario import compile_inputs, load
    from tests.conftest import ROOT

    inp = compile_inputs(load(ROOT / "scenarios" / "staffordshire.yaml"))
    small = run_summary(inp)
    whole = run(inp).summary
    assert small.keys() == whole.keys()
    for key, values in whole.items():
        np.testing.assert_array_equal(small[key], values, err_msg=key)


@pytest.mark.parametrize(
    ("root", "rounds", "expected"),
    [
        # one round: linear interpolation in the last interval of the grid (3 to 4)
        (3.9, 1, 3.0 + (3.9**2 - 9.0) / 7.0),
        # two rounds: the bracket narrowed to [3.75, 4.0] first
        (3.9, 2, 3.75 + (3.9**2 - 3.75**2) * 0.25 / (16.0 - 3.75**2)),
        (1.3, 2, 1.25 + (1.3**2 - 1.25**2) * 0.25 / (1.5**2 - 1.25**2)),
    ],
)
def test_find_roots_brackets_then_interpolates(root: float, rounds: int, expected: float) -> None:
    """The first crossing on a grid of 5, narrowed ``rounds - 1`` times, then the secant
    of its bracket: exact numbers for x^2 - root^2 over [0, 4]."""
    from mhep_model.engine.solve import find_roots

    def evaluate(x: np.ndarray) -> np.ndarray:
        return x**2

    found = find_roots(
        evaluate, np.zeros(1), np.full(1, 4.0), np.full(1, root**2), grid=5, rounds=rounds
    )
    assert found.value[0] == pytest.approx(expected, rel=1e-14)
    assert found.at_lo[0] == 0.0 and found.at_hi[0] == 16.0


def test_sign_changes_row_by_row() -> None:
    from mhep_model.engine.irr import sign_changes

    cf = np.array(
        [
            [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],  # none (and no zeros for a later row to borrow)
            [-1.0, 0.0, 0.0, 0.0, 0.0, 2.0],  # one, across the zeros
            [-1.0, 0.0, 2.0, 0.0, -1.0, 0.0],  # - + -: two, zeros skipped
            [0.0, -1.0, -1.0, 3.0, 0.0, 0.0],  # one
            [1.0, 1.0, 0.0, 0.0, 0.0, 1.0],  # none
            [0.0, 0.0, 0.0, 0.0, 0.0, -5.0],  # none
        ]
    )
    np.testing.assert_array_equal(sign_changes(cf), [0, 1, 2, 1, 0, 0])
    for r in range(cf.shape[0]):
        assert sign_changes(cf[r : r + 1])[0] == sign_changes(cf)[r]


IRR_GOLDEN = Path(__file__).parent.parent / "data" / "irr_golden.json"


def test_irr_to_the_last_digit() -> None:
    """Monthly IRRs of 64 seeded cash flows (one or more sign changes), as this code
    computes them (``MHEP_WRITE_GOLDEN=1`` rewrites): the convergence test decides the
    last digits, which summary.csv writes in full."""
    import json
    import os

    from mhep_model.engine.irr import irr_annual

    rng = np.random.default_rng(12)
    cf = np.round(rng.normal(0.0, 1000.0, size=(64, 36)), 2)
    cf[:, 0] = -np.abs(cf[:, 0]) - 5000.0
    cf[:32, -1] += 9000.0
    got = [float(v) for v in irr_annual(cf)]
    if os.environ.get("MHEP_WRITE_GOLDEN"):
        IRR_GOLDEN.write_text(json.dumps(got) + "\n")
    expected = json.loads(IRR_GOLDEN.read_text())
    assert len(expected) == 64 and sum(np.isfinite(expected)) > 40
    np.testing.assert_array_equal(got, expected)


def test_eligible_counts_never_pay_for_more_people_than_came() -> None:
    """Under a cumulative cap, a month's eligible count is at most its count, band by
    band, bit for bit (the running total's residues are clipped, not paid)."""
    from mhep_model.engine.payments import eligible_counts

    rng = np.random.default_rng(2)
    flow = rng.random((50, 2, 24)) * 10.0 / 3.0
    flow[:, :, ::5] = 0.0
    cap = np.where(np.arange(50) % 2 == 0, 30.3, 1e9)
    elig = eligible_counts(flow, cap)
    assert (elig <= flow).all() and (elig >= 0).all()
    assert elig.sum(axis=(1, 2))[0] == pytest.approx(30.3)
    np.testing.assert_allclose(elig[1], flow[1], rtol=1e-12)  # under a cap never reached


def test_paid_ratio_of_a_subnormal_invoice_is_one() -> None:
    """A residue of payment over a subnormal invoice would overflow the ratio: it is 1."""
    from mhep_model.engine.payments import paid_ratio

    invoiced = np.array([[[5e-324, 100.0]]])
    paid = np.array([[[1e-15, 50.0]]])
    np.testing.assert_array_equal(paid_ratio(invoiced, paid), [[1.0, 0.5]])
