"""What ``summary.csv`` holds, in which order (spec section 10, then a few extras)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from mhep_model.engine.inputs import FloatArray, Inputs

SUMMARY_SPEC_TAIL = [
    "provider_revenue",
    "provider_costs",
    "provider_surplus",
    "provider_margin",
    "provider_min_reserves",
    "provider_min_reserves_month",
    "provider_insolvent_month",
    "outcome_linked_share",
    "investor_drawn",
    "investor_received",
    "investor_multiple",
    "investor_irr",
    "loan_loss",
    "max_funding_gap",
    "cost_per_job_start",
]
SUMMARY_V3 = [
    "opening",
    "grants",
    "replaced",
    "rejected",
    "invoiced",
    "provider_unpaid",
    "max_provider_arrears",
    "interest_capitalised",
    "performance_fee",
    "service_stopped_month",
    "service_stop_reason",
]
"""v3 columns of ``summary.csv`` (spec section 10), after the spec's v2 ones, written when
the scenario names a v3 key."""
SUMMARY_EXTRA = [
    "referrals",
    "unfunded",
    "unsettled",
    "provider_block",
    "provider_outcome_payments",
    "provider_closing_reserves",
    "provider_advance",
    "provider_advance_max_outstanding",
    "management_fee",
    "investor_interest_paid",
    "investor_principal_repaid",
    "investor_equity_distribution",
    "funding_gap_first_month",
]
SPV_METRICS = frozenset(
    {
        "management_fee",
        "investor_drawn",
        "investor_interest_paid",
        "investor_principal_repaid",
        "investor_equity_distribution",
        "investor_received",
        "investor_multiple",
        "investor_irr",
        "loan_loss",
        "max_funding_gap",
        "funding_gap_first_month",
    }
)
"""The SPV's and investor's metrics (:func:`mhep_model.engine.summary.investor_summary`):
a portfolio's own, not its contracts'."""
CONTRACT_TAIL = [c for c in SUMMARY_SPEC_TAIL + SUMMARY_EXTRA if c not in SPV_METRICS]
"""``contracts_summary.csv`` after the payers: each contract's own metrics in
``summary.csv``'s order (spec section 12)."""
PORTFOLIO_TAIL = [
    "management_fee",
    *(c for c in SUMMARY_SPEC_TAIL if c in SPV_METRICS),
    "providers_insolvent",
    *(c for c in SUMMARY_EXTRA if c in SPV_METRICS and c != "management_fee"),
]
"""``portfolio_summary.csv`` after the payers: spec section 12's order, then the extras."""
MONTH_COLUMNS = {
    "provider_min_reserves_month",
    "provider_insolvent_month",
    "funding_gap_first_month",
    "service_stopped_month",
}
STOP_REASONS = {0.0: "", 1.0: "cap", 2.0: "provider_insolvency", 3.0: "cap+provider_insolvency"}
"""``service_stop_reason`` as written, by the engine's code."""


class Summarised(Protocol):
    """What ``summary.csv`` is made from: the engine's results, or a sweep's summaries."""

    @property
    def inputs(self) -> Inputs: ...

    @property
    def summary(self) -> dict[str, FloatArray]: ...


def external_payers(results: Summarised | Inputs) -> list[int]:
    """Indices of payers that are external (not self-funded) in any row."""
    inp = results if isinstance(results, Inputs) else results.inputs
    return [int(p) for p in np.flatnonzero((~inp.payer_self).any(axis=0))]


def summary_columns(results: Summarised) -> list[str]:
    """Column order of ``summary.csv`` after ``case``."""
    inp = results.inputs
    payers = [f"paid_{inp.payer_names[p]}" for p in external_payers(results)]
    head = [s.name for s in inp.stages] + ["over_capacity", "income", *payers]
    head += ["capped", "self_funded"]
    v3 = SUMMARY_V3 if getattr(inp, "uses_v3", False) else []
    return head + SUMMARY_SPEC_TAIL + v3 + SUMMARY_EXTRA
