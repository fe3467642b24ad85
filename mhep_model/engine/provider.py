"""The provider's revenue, costs and reserves (spec section 6)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mhep_model.engine.inputs import FloatArray, Inputs
from mhep_model.engine.months import running_total


@dataclass(frozen=True)
class ProviderFlows:
    """``(R, T)`` arrays [GBP/month], reserves [GBP] at the end of each month."""

    block: FloatArray
    outcome_payments: FloatArray
    costs: FloatArray
    revenue: FloatArray
    reserves: FloatArray
    advance: FloatArray
    """Working capital lent by the SPV (in reserves, not revenue)."""
    advance_repaid: FloatArray
    """Repayments of it to the SPV."""
    arrears: FloatArray | None = None
    """v3: what the SPV owes the provider at the end of each month and has not paid
    (``spv.pay_provider_when_able``); ``reserves`` are then after it (cash)."""


def provider(inp: Inputs, outcome_payments: FloatArray) -> ProviderFlows:
    """Block (annual / 12 in months 1..N), costs, revenue and cumulative reserves (with the
    advance lent and repaid, spec section 6); none of block and costs once the service
    stopped (v3, from month F)."""
    in_term = inp.in_service()
    block = np.where(in_term, inp.block_annual / 12.0, 0.0)
    running = (inp.staff_fte * inp.cost_per_fte + inp.fixed_annual) / 12.0
    costs = np.where(in_term, running, 0.0)
    costs[:, 0] += inp.mobilisation
    revenue = block + outcome_payments
    # an advance is neither revenue nor cost: it moves reserves, not surplus
    moves = revenue - costs + inp.advance - inp.advance_repaid
    reserves = inp.opening_reserves[:, None] + running_total(moves)
    return ProviderFlows(
        block, outcome_payments, costs, revenue, reserves, inp.advance, inp.advance_repaid
    )


def with_arrears(prov: ProviderFlows, arrears: FloatArray) -> ProviderFlows:
    """The provider's reserves as cash (v3, spec section 6): less what the SPV owes it at
    each month end; revenue (earned) is unchanged."""
    return replace(prov, reserves=prov.reserves - arrears, arrears=arrears)
