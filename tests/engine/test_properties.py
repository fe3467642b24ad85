"""Money identities over random valid scenarios (hypothesis), v2 terms included.

Every month: the SPV's cash and the provider's reserves follow from their flows (advances
included); no payer is paid past the highest cap in force so far; eligible counts never pass
max_count; no stage sends on more people than its parent gave it, nor takes on more than
its staff can; the provider's outcome pay respects its annual cap by contract year of
payment, and back-to-back pay never exceeds what the un-cut terms would pay; the investor
is never asked for more than the commitment.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mhep_model.engine.payments import payment_years
from tests.conftest import run_data

TOL = 1e-6

money = st.floats(min_value=0, max_value=500_000, allow_nan=False, allow_infinity=False)
rate = st.floats(min_value=0, max_value=1, allow_nan=False)


@st.composite
def lags(draw: st.DrawFn) -> Any:
    if draw(st.booleans()):
        return draw(st.integers(0, 4))
    weights = draw(st.lists(st.integers(0, 5), min_size=1, max_size=5).filter(lambda w: sum(w) > 0))
    total = sum(weights)
    return [w / total for w in weights]


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    term = draw(st.integers(1, 30))
    tail = draw(st.integers(0, 8))
    horizon = term + tail
    banded = draw(st.booleans())
    bands = {"under_16": 0.4, "over_16": 0.6} if banded else None
    stages: dict[str, Any] = {
        "engagement": {"from": "referral", "rate": draw(rate), "lag": draw(lags())},
        "job_start": {"from": "engagement", "rate": draw(rate), "lag": draw(lags())},
        "sustain": {
            "from": "job_start",
            "rate": draw(rate),
            "lag": draw(lags()),
            "after_term": draw(st.booleans()),
        },
    }
    if bands:
        stages["job_start"]["split"] = bands
    if draw(st.booleans()):
        stages["engagement"]["capacity_per_fte"] = draw(st.floats(0.5, 20))
    split_at = draw(st.integers(1, max(1, horizon)))
    payers: dict[str, Any] = {
        "early": {"window": [1, split_at], "tariff_factor": draw(st.floats(0.5, 1.5))},
        "late": {"window": [split_at + 1, horizon + 5]},
        "spv": {"self": True},
    }
    for name in ("early", "late"):
        if draw(st.booleans()):
            payers[name]["cap"] = draw(money)
    tariff = {"under_16": draw(money), "over_16": draw(money)} if bands else draw(money)
    self_share = draw(st.sampled_from([0.0, 0.2, 0.5]))
    outcomes = {
        "engagement": {
            "stage": "engagement",
            "tariff": draw(st.floats(0, 2000)),
            "paid_by": {"early": 1 - self_share, "late": 1 - self_share, "spv": self_share},
        },
        "job_start": {
            "stage": "job_start",
            "tariff": tariff,
            "paid_by": {"early": 1.0, "late": 1.0},
            **({"max_count": draw(st.floats(0, 200))} if draw(st.booleans()) else {}),
        },
        "sustainment": {"stage": "sustain", "tariff": draw(money), "paid_by": {"early": 1.0}},
    }
    outcome_payments: dict[str, Any] = {
        "share_of_tariff": draw(rate),
        "back_to_back": draw(st.booleans()),
    }
    if draw(st.booleans()):
        outcome_payments["annual_cap"] = draw(money)
    advance: dict[str, Any] = {}
    if draw(st.booleans()):
        month = draw(st.integers(1, term))
        repay_from = draw(st.integers(month, horizon))
        advance = {
            "advance": {
                "amount": draw(money),
                "month": month,
                "repay_from": repay_from,
                "repay_months": draw(st.integers(1, horizon - repay_from + 1)),
            }
        }
    data: dict[str, Any] = {
        "name": "generated",
        "contract": {"start": "2020-01", "term_months": term, "tail_months": tail},
        "referrals": {
            "monthly": draw(st.floats(0, 200)),
            "ramp_up_months": draw(st.integers(0, 6)),
        },
        "stages": stages,
        "payers": payers,
        "outcomes": outcomes,
        "settlement": {
            "frequency": draw(st.sampled_from(["monthly", "quarterly"])),
            "lag_months": draw(st.integers(0, 3)),
        },
        "provider": {
            "block": {"annual": draw(money)},
            "outcome_payments": outcome_payments,
            "costs": {"staff_fte": draw(st.floats(0, 10)), "cost_per_fte": draw(money)},
            "opening_reserves": draw(money),
            **advance,
        },
        "spv": {
            "management_fee_annual": draw(st.floats(0, 50_000)),
            "opening_cash": draw(st.floats(0, 10_000)),
            "min_cash": draw(st.floats(0, 10_000)),
        },
        "investor": {
            "commitment": draw(money),
            "equity_share": draw(rate),
            "repayment": draw(st.sampled_from(["end", "sweep"])),
            "sweep_from_month": draw(st.integers(1, 12)),
            "upfront": draw(st.sampled_from([0.0, 1000.0, 1e6])),
        },
        "cases": {"a": {}, "b": {"referrals.scale": draw(st.floats(0, 3))}},
    }
    if draw(st.booleans()):
        data["amendments"] = [
            {
                "month": draw(st.integers(1, horizon)),
                "set": {
                    "provider.block.annual": draw(money),
                    "stages.engagement.rate": draw(rate),
                    "outcomes.engagement.tariff": draw(st.floats(0, 2000)),
                },
            }
        ]
    if draw(st.booleans()):  # v2: amended caps (raised or lowered) and scaled values
        data.setdefault("amendments", []).append(
            {
                "month": draw(st.integers(1, horizon)),
                "set": {
                    "payers.early.cap": draw(money),
                    "provider.outcome_payments.annual_cap": draw(money),
                },
                "scale": {
                    "stages.job_start.rate": draw(st.floats(0.1, 1.0)),
                    "provider.costs.cost_per_fte": draw(st.floats(0.5, 2.0)),
                },
            }
        )
    return data


def _close_le(a: np.ndarray, b: np.ndarray | float) -> bool:
    return bool(np.all(a <= b + TOL + 1e-7 * np.abs(b)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_money_identities(data: dict[str, Any]) -> None:
    inputs, results = run_data(data)
    live = inputs.in_horizon()
    pay, prov, spv = results.payments, results.provider, results.spv

    # SPV cash, month by month, from its flows
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
    )
    cash = inputs.opening_cash[:, None] + np.cumsum(flows, axis=1)
    assert np.allclose(np.where(live, cash, 0.0), spv.cash, atol=1e-6, rtol=1e-9)

    # provider reserves from its flows
    moves = prov.revenue - prov.costs + prov.advance - prov.advance_repaid
    reserves = inputs.opening_reserves[:, None] + np.cumsum(moves, axis=1)
    assert np.allclose(reserves, prov.reserves, atol=1e-6, rtol=1e-9)
    assert np.allclose(prov.advance.sum(axis=1), prov.advance_repaid.sum(axis=1))

    # no payer past the highest cap in force so far (a lowered cap does not claw back);
    # nothing paid negative beyond float residue
    paid_cum = np.cumsum(pay.paid, axis=2)
    assert _close_le(paid_cum, np.maximum.accumulate(inputs.payer_cap, axis=2))
    assert np.all(pay.paid >= -TOL)
    assert np.all(pay.capped.sum(axis=2) >= -TOL)

    # eligible counts never pass max_count
    for outcome, elig in zip(inputs.outcomes, pay.eligible, strict=True):
        cum = np.cumsum(elig.sum(axis=1), axis=1)
        assert _close_le(cum, outcome.max_count[:, None])
        assert _close_le(elig, results.stages[outcome.stage])

    # flows never exceed what their parent sent (cumulatively, since lags delay them)
    for stage, flow in zip(inputs.stages, results.stages, strict=True):
        parent = results.referrals if stage.parent < 0 else results.stages[stage.parent].sum(axis=1)
        assert _close_le(np.cumsum(flow.sum(axis=1), axis=1), np.cumsum(parent, axis=1))
        assert np.all(flow >= 0)
        # never more than the staff can take on, in the term
        limited = inputs.in_term() & np.isfinite(stage.capacity)
        capacity = np.where(limited, stage.capacity, 0.0)
        limit = np.where(limited, inputs.staff_fte * capacity, np.inf)
        assert _close_le(flow.sum(axis=1), limit)
    assert np.all(results.over_capacity >= -TOL)

    # provider's outcome pay within its annual cap in every contract year of payment (the
    # tail counts in the last term year), and back to back never above the un-cut terms
    years = payment_years(inputs.term, inputs.months)
    for y in range(1, int(years.max()) + 1):
        inside = years == y
        in_year = np.cumsum(np.where(inside, pay.provider_outcome_payments, 0.0), axis=1)
        cap = np.maximum.accumulate(np.where(inside, inputs.provider_annual_cap, 0.0), axis=1)
        assert _close_le(np.where(inside, in_year, 0.0), cap)
    if inputs.back_to_back.any():
        uncut = dict(data)
        uncut["provider"] = {**data["provider"]}
        uncut["provider"]["outcome_payments"] = {
            **data["provider"]["outcome_payments"],
            "back_to_back": False,
        }
        _, full = run_data(uncut)
        for y in range(1, int(years.max()) + 1):
            inside = years == y
            cut_cum = np.cumsum(np.where(inside, pay.provider_outcome_payments, 0.0), axis=1)
            full_pay = full.payments.provider_outcome_payments
            full_cum = np.cumsum(np.where(inside, full_pay, 0.0), axis=1)
            assert _close_le(cut_cum, full_cum)

    # the investor is never asked for more than the commitment; received adds up
    assert _close_le(spv.drawdown.sum(axis=1), inputs.commitment)
    s = results.summary
    received = spv.interest_paid.sum(axis=1) + spv.principal_repaid.sum(axis=1)
    assert np.allclose(s["investor_received"], received + spv.equity_distribution.sum(axis=1))
    assert np.all(s["loan_loss"] >= -TOL)
    assert np.all(spv.funding_gap >= 0)
