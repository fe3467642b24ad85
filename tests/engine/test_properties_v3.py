"""Money identities of the v3 terms over random valid scenarios (hypothesis): grants,
opening caseloads, evidence checks, the service stop, the provider's cap by year achieved,
provider arrears, the performance fee and compound interest (spec sections 1 and 4-7).

- Every amount due for outcomes (at each payer's share, tariff factor and window) and every
  grant owed is replaced, rejected, invoiced or unsettled, and what is invoiced is paid or
  capped: nothing is lost or paid twice.
- The provider's reserves move only by what it was paid: its earned revenue, costs and
  advances, less what the SPV still owes it (arrears).
- The SPV's cash follows from its flows, arrears and the intermediary's fee included.
- Nothing flows from the first month without service on; the months before it are those
  of the run without the stop.
- With ``annual_cap_basis: achieved`` the provider's outcome pay never passes the annual cap
  times the years of the term.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_data
from tests.engine.test_properties import scenarios

TOL = 1e-6


@st.composite
def v3_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    data = draw(scenarios())
    term = data["contract"]["term_months"]
    horizon = term + data["contract"]["tail_months"]
    data.pop("amendments", None)  # amended caps make "exhausted" a moving target: see e10
    if draw(st.booleans()):
        data["stages"]["engagement"]["opening"] = draw(st.integers(0, 50))
    if draw(st.booleans()):
        data["outcomes"]["job_start"]["evidence"] = {
            "rejected": draw(st.floats(0, 0.9)),
            "lag_months": draw(st.integers(0, 3)),
        }
    grants = []
    for _ in range(draw(st.integers(0, 2))):
        # the payer whose window covers the grant's months (a replacing grant needs that)
        payer = draw(st.sampled_from(["early", "late"]))
        a0, b0 = data["payers"][payer]["window"]
        last = min(b0, horizon)
        if a0 > last:  # the payer pays for no month of the horizon
            continue
        a = draw(st.integers(a0, last))
        b = draw(st.integers(a, last))
        grants.append(
            {
                "paid_by": {payer: 1.0},
                "months": [a, b],
                "amount": draw(st.floats(0, 5000)),
                "replaces_outcomes": draw(st.booleans()),
                "counts_against_cap": draw(st.booleans()),
            }
        )
    if grants:
        data["grants"] = grants
    op = data["provider"]["outcome_payments"]
    op["annual_cap_basis"] = draw(st.sampled_from(["paid", "achieved"]))
    data["spv"]["pay_provider_when_able"] = draw(st.booleans())
    if draw(st.booleans()):
        data["spv"]["performance_fee"] = {
            "share": draw(st.floats(0, 1)),
            "hurdle_multiple": draw(st.floats(0, 2)),
        }
    data["investor"]["interest"] = draw(st.sampled_from(["simple", "compound"]))
    if draw(st.booleans()):
        on_cap = draw(st.booleans())
        if on_cap:  # every external payer needs a cap to stop on
            for name in ("early", "late"):
                data["payers"][name].setdefault("cap", draw(st.floats(0, 50_000)))
        data["contract"]["stop"] = {
            "on_cap": on_cap,
            "on_provider_insolvency": draw(st.booleans()),
            "notice_months": draw(st.integers(0, 3)),
        }
    return data


def _dues(inputs: Any, pay: Any) -> np.ndarray:
    """``(R,)`` every outcome's amount due from external payers, from the counts."""
    external = ~inputs.payer_self[:, :, None]
    weight = inputs.payer_active * inputs.payer_factor * external
    total = np.zeros(inputs.rows)
    for outcome, elig in zip(inputs.outcomes, pay.eligible, strict=True):
        value = (elig * outcome.tariff).sum(axis=1)  # (R, T)
        total += (value[:, None, :] * outcome.shares * weight).sum(axis=(1, 2))
    return total


def _grants_owed(data: dict[str, Any], inputs: Any) -> np.ndarray:
    """``(R,)`` every grant owed for months the service ran (before F)."""
    out = np.zeros(inputs.rows)
    end = inputs.service_end if inputs.service_end is not None else np.full(inputs.rows, 10**9)
    for grant in data.get("grants", []):
        a, b = grant["months"]
        months = np.arange(a, b + 1)
        out += grant["amount"] * (months[None, :] < end[:, None]).sum(axis=1)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(v3_scenarios())
def test_v3_money_identities(data: dict[str, Any]) -> None:
    _, results = run_data(data)
    inputs = results.inputs  # with each row's stop month, where the service stopped
    pay, prov, spv = results.payments, results.provider, results.spv
    zero = np.zeros((inputs.rows, inputs.months))

    def given_or_zero(x: np.ndarray | None) -> np.ndarray:
        return zero if x is None else x

    # every amount due is replaced, rejected, invoiced or unsettled; invoices paid or capped
    accounted = (
        given_or_zero(pay.replaced).sum(axis=1)
        + given_or_zero(pay.rejected).sum(axis=1)
        + pay.invoiced.sum(axis=(1, 2))
        + pay.unsettled.sum(axis=1)
    )
    due = _dues(inputs, pay) + _grants_owed(data, inputs)
    assert np.allclose(accounted, due, atol=1e-5, rtol=1e-9)
    assert np.allclose(pay.paid + pay.capped, pay.invoiced, atol=1e-6)

    # the provider's reserves move only by what it was paid (arrears held back)
    arrears = given_or_zero(prov.arrears)
    moves = prov.revenue - prov.costs + prov.advance - prov.advance_repaid
    reserves = inputs.opening_reserves[:, None] + np.cumsum(moves, axis=1) - arrears
    assert np.allclose(reserves, prov.reserves, atol=1e-6, rtol=1e-9)
    assert np.all(arrears >= -TOL)

    # the SPV's cash from its flows: what it did not pay the provider stays with it
    held = np.diff(arrears, axis=1, prepend=0.0)
    flows = (
        pay.income
        - prov.block
        - pay.provider_outcome_payments
        - spv.management_fee
        - prov.advance
        + prov.advance_repaid
        + spv.drawdown
        - spv.interest_paid
        - spv.principal_repaid
        - spv.equity_distribution
        - given_or_zero(spv.performance_fee)
        + held
    )
    live = inputs.in_horizon()
    cash = inputs.opening_cash[:, None] + np.cumsum(np.where(live, flows, 0.0), axis=1)
    assert np.allclose(np.where(live, cash, 0.0), spv.cash, atol=1e-5, rtol=1e-9)
    assert np.all(given_or_zero(spv.performance_fee) >= -TOL)

    # nothing flows once the service stopped; the months before are the run without it
    stopped = inputs.stopped()
    for flow in (results.referrals, prov.block, prov.costs, spv.management_fee):
        assert np.all(np.where(stopped, flow, 0.0) == 0.0)
    for flow in results.stages:
        assert np.all(np.where(stopped[:, None, :], flow, 0.0) == 0.0)
    if stopped.any():
        free = copy.deepcopy(data)
        free["contract"].pop("stop")
        _, alone = run_data(free)
        before = ~stopped & live
        for mine, theirs in (
            (results.referrals, alone.referrals),
            (prov.reserves, alone.provider.reserves),
            (spv.cash, alone.spv.cash),
            (pay.income, alone.payments.income),
        ):
            assert np.allclose(np.where(before, mine, 0.0), np.where(before, theirs, 0.0))

    # by year achieved, the provider's pay stays within the cap over the term's years
    cap = inputs.provider_annual_cap
    if np.isfinite(cap).all():
        years = -(-inputs.term // 12)
        total = pay.provider_outcome_payments.sum(axis=1)
        assert np.all(total <= cap.max(axis=1) * years + TOL)


def test_compound_interest_with_no_repayments_grows_monthly() -> None:
    """Drawn once, never repaid before H: the loan grows as (1 + r/12)^n (spec 7 step 7)."""
    from tests.conftest import minimal_data

    data = minimal_data()
    data["contract"] = {"start": "2020-01", "term_months": 12, "tail_months": 6}
    data["investor"] = {
        "commitment": 10_000,
        "equity_share": 0.0,
        "loan_rate": 0.12,
        "upfront": 10_000,
        "interest": "compound",
    }
    data["spv"] = {"management_fee_annual": 0}
    _, results = run_data(data)
    principal = results.spv.loan_principal[0]
    months = np.arange(1, 18)  # months 1..H-1: each ends with its interest capitalised
    # drawn in month 1 (no interest yet); month m's interest is on month m-1's principal
    assert np.allclose(principal[:17], 10_000 * 1.01 ** (months - 1), rtol=1e-12)
    capitalised = results.spv.interest_capitalised
    assert capitalised is not None
    want = np.where(months >= 2, 10_000 * 0.01 * 1.01 ** np.maximum(months - 2, 0), 0.0)
    assert np.allclose(capitalised[0, :17], want, rtol=1e-12)
    assert capitalised[0, 17] == 0.0  # month H: step 6 settles, nothing is capitalised
