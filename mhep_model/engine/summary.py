"""Per-row summaries of spec section 10: a contract's people, payers and provider, and the
SPV's investor (totals over each row's H months)."""

from __future__ import annotations

import numpy as np

from mhep_model.engine.inputs import FloatArray, Inputs
from mhep_model.engine.irr import irr_annual
from mhep_model.engine.months import running_total
from mhep_model.engine.payments import Payments
from mhep_model.engine.provider import ProviderFlows
from mhep_model.engine.spv import ABS_TOL, REL_TOL, SpvFlows


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den``, NaN (blank) where the denominator is 0."""
    out = np.full(num.shape, np.nan)
    with np.errstate(over="ignore"):  # a subnormal denominator: no meaningful ratio
        np.divide(num, den, out=out, where=den != 0)
    return np.where(np.isfinite(out), out, np.nan)


def first_month(mask: np.ndarray) -> FloatArray:
    """``(R,)`` first month (1-based) where ``mask`` holds; NaN where it never does."""
    hit = mask.any(axis=1)
    return np.where(hit, mask.argmax(axis=1) + 1.0, np.nan)


def contract_summary(
    inp: Inputs,
    referral_flow: FloatArray,
    flows: list[FloatArray],
    over_capacity: FloatArray,
    pay: Payments,
    prov: ProviderFlows,
) -> dict[str, FloatArray]:
    """Per-row totals of a contract's people, payers and provider (months are the
    contract's own, 1-based)."""
    live = inp.in_horizon()
    out: dict[str, FloatArray] = {"referrals": referral_flow.sum(axis=1)}
    for stage, flow in zip(inp.stages, flows, strict=True):
        out[stage.name] = flow.sum(axis=(1, 2))
    out["over_capacity"] = over_capacity.sum(axis=1)
    income = pay.income
    out["income"] = income.sum(axis=1)
    external = ~inp.payer_self
    for p, name in enumerate(inp.payer_names):
        if external[:, p].any():
            out[f"paid_{name}"] = pay.paid[:, p].sum(axis=1)
    out["capped"] = pay.capped.sum(axis=(1, 2))
    out["self_funded"] = pay.self_funded.sum(axis=1)
    out["unfunded"] = pay.unfunded.sum(axis=1)
    out["unsettled"] = pay.unsettled.sum(axis=1)
    revenue = prov.revenue.sum(axis=1)
    costs = prov.costs.sum(axis=1)
    surplus = revenue - costs
    out["provider_block"] = prov.block.sum(axis=1)
    out["provider_outcome_payments"] = prov.outcome_payments.sum(axis=1)
    out["provider_revenue"] = revenue
    out["provider_costs"] = costs
    out["provider_surplus"] = surplus
    out["provider_margin"] = _ratio(surplus, revenue)
    reserves = np.where(live, prov.reserves, np.inf)
    low = reserves.min(axis=1)
    out["provider_min_reserves"] = low
    tol = ABS_TOL + REL_TOL * np.abs(low)
    out["provider_min_reserves_month"] = first_month(reserves <= (low + tol)[:, None])
    out["provider_insolvent_month"] = first_month(reserves < -ABS_TOL)
    last = inp.horizon - 1
    out["provider_closing_reserves"] = prov.reserves[np.arange(inp.rows), last]
    out["provider_advance"] = prov.advance.sum(axis=1)
    outstanding = running_total(prov.advance - prov.advance_repaid)
    out["provider_advance_max_outstanding"] = np.maximum(outstanding.max(axis=1), 0.0)
    out["outcome_linked_share"] = _ratio(prov.outcome_payments.sum(axis=1), revenue)
    if inp.uses_v3:
        out |= _v3_contract(inp, pay, prov)
    names = [s.name for s in inp.stages]
    out["cost_per_job_start"] = (
        _ratio(out["income"], out["job_start"])
        if "job_start" in names
        else np.full(inp.rows, np.nan)
    )
    return out


def _v3_contract(inp: Inputs, pay: Payments, prov: ProviderFlows) -> dict[str, FloatArray]:
    """v3 totals of spec section 10: the opening caseload, grants, replaced and rejected
    dues, invoices, and what the SPV still owed the provider at H and at most."""
    rows = inp.rows
    zero = np.zeros(rows)

    def total(x: FloatArray | None) -> FloatArray:
        return zero if x is None else x.sum(axis=1)

    opening = zero
    for stage in inp.stages:
        if stage.opening is not None:
            opening = opening + stage.opening.sum(axis=1)
    out = {"opening": opening, "grants": total(pay.grants), "replaced": total(pay.replaced)}
    out["rejected"] = total(pay.rejected)
    out["invoiced"] = pay.invoiced.sum(axis=(1, 2))
    arrears = prov.arrears
    if arrears is None:
        out["provider_unpaid"] = out["max_provider_arrears"] = zero
    else:
        out["provider_unpaid"] = arrears[np.arange(rows), inp.horizon - 1]
        out["max_provider_arrears"] = arrears.max(axis=1)
    out["service_stopped_month"] = np.full(rows, np.nan)
    out["service_stop_reason"] = zero
    return out


def investor_summary(cash: SpvFlows, v3: bool = False) -> dict[str, FloatArray]:
    """Per-row totals of the SPV's fee and the investor's money (spec section 10; with
    ``v3``, the capitalised interest and the intermediary's performance fee)."""
    out: dict[str, FloatArray] = {}
    drawn = cash.drawdown.sum(axis=1)
    interest = cash.interest_paid.sum(axis=1)
    principal = cash.principal_repaid.sum(axis=1)
    equity = cash.equity_distribution.sum(axis=1)
    received = interest + principal + equity
    out["management_fee"] = cash.management_fee.sum(axis=1)
    out["investor_drawn"] = drawn
    out["investor_interest_paid"] = interest
    out["investor_principal_repaid"] = principal
    out["investor_equity_distribution"] = equity
    out["investor_received"] = received
    out["investor_multiple"] = _ratio(received, drawn)
    out["investor_irr"] = irr_annual(cash.investor_cashflow)
    out["loan_loss"] = cash.loan_loss
    out["max_funding_gap"] = cash.funding_gap.max(axis=1)
    out["funding_gap_first_month"] = first_month(cash.funding_gap > 0)
    if v3:
        for key in ("interest_capitalised", "performance_fee"):
            values = getattr(cash, key)
            out[key] = np.zeros(len(drawn)) if values is None else values.sum(axis=1)
    return out
