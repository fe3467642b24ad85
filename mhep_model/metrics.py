"""Every output metric, defined once: its name (the ``summary.csv`` column), unit, label,
whose result it is and which way is better for them.

Tables, CSV-derived frames, workbooks, charts and ``compare``'s colours read these; a
metric whose name is made from the scenario (a stage, ``paid_<payer>``, a portfolio's
``<contract>.<metric>``) is described by :func:`metric`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

UNITS = ("money", "people", "percent", "multiple", "month", "count")


@dataclass(frozen=True)
class Metric:
    """An output measure of ``summary.csv``."""

    name: str
    """The column name, e.g. ``provider_surplus``."""
    label: str
    """What a table or chart calls it, e.g. ``Provider surplus``."""
    unit: str
    """money [currency], people, percent (a ratio shown as %), multiple (x), month
    (1-based contract month) or count."""
    party: str
    """Whose result it is: provider, investor, SPV, payers, service users."""
    better: int
    """For that party: +1 higher is better, -1 lower is better, 0 neither."""


def _m(name: str, label: str, unit: str, party: str, better: int) -> Metric:
    return Metric(name, label, unit, party, better)


_ALL = [
    _m("referrals", "Referrals (people)", "people", "service users", +1),
    _m("over_capacity", "People over staff capacity", "people", "service users", -1),
    _m("income", "Income to the SPV", "money", "SPV", +1),
    _m("capped", "Invoiced above payer caps", "money", "SPV", -1),
    _m("self_funded", "Self-funded by the SPV", "money", "SPV", -1),
    _m("unfunded", "Unfunded outcomes", "money", "SPV", -1),
    _m("unsettled", "Unsettled after the horizon", "money", "SPV", -1),
    _m("provider_block", "Provider block", "money", "provider", +1),
    _m("provider_outcome_payments", "Provider outcome payments", "money", "provider", +1),
    _m("provider_revenue", "Provider revenue", "money", "provider", +1),
    _m("provider_costs", "Provider costs", "money", "provider", -1),
    _m("provider_surplus", "Provider surplus", "money", "provider", +1),
    _m("provider_margin", "Provider margin", "percent", "provider", +1),
    _m("provider_min_reserves", "Provider minimum reserves", "money", "provider", +1),
    _m("provider_min_reserves_month", "Provider minimum reserves: month", "month", "provider", 0),
    _m("provider_insolvent_month", "Provider insolvent from month", "month", "provider", +1),
    _m("provider_closing_reserves", "Provider closing reserves", "money", "provider", +1),
    _m("provider_advance", "Working capital lent by the SPV", "money", "provider", 0),
    _m(
        "provider_advance_max_outstanding",
        "Working capital most outstanding at a month end",
        "money",
        "provider",
        0,
    ),
    _m("outcome_linked_share", "Outcome-linked share of revenue", "percent", "provider", -1),
    _m("management_fee", "Management fee", "money", "SPV", +1),
    _m("investor_drawn", "Investor drawn", "money", "investor", 0),
    _m("investor_interest_paid", "Investor interest paid", "money", "investor", +1),
    _m("investor_principal_repaid", "Investor principal repaid", "money", "investor", +1),
    _m("investor_equity_distribution", "Investor equity distribution", "money", "investor", +1),
    _m("investor_received", "Investor received", "money", "investor", +1),
    _m("investor_multiple", "Investor money multiple", "multiple", "investor", +1),
    _m("investor_irr", "Investor IRR (a year)", "percent", "investor", +1),
    _m("loan_loss", "Loan loss", "money", "investor", -1),
    _m("max_funding_gap", "Largest SPV funding gap", "money", "SPV", -1),
    _m("funding_gap_first_month", "SPV funding gap from month", "month", "SPV", +1),
    _m("cost_per_job_start", "Cost per job start", "money", "payers", -1),
    _m("providers_insolvent", "Providers below zero reserves", "count", "providers", -1),
    # v3 terms (spec section 10)
    _m("opening", "Opening caseload (people)", "people", "service users", 0),
    _m("grants", "Grants owed to the SPV", "money", "SPV", +1),
    _m("replaced", "Outcome dues replaced by grants", "money", "SPV", 0),
    _m("rejected", "Rejected at evidence checks", "money", "SPV", -1),
    _m("invoiced", "Invoiced to payers", "money", "SPV", +1),
    _m("provider_unpaid", "Owed to the provider at the end, never paid", "money", "provider", -1),
    _m("max_provider_arrears", "Most owed to the provider at a month end", "money", "provider", -1),
    _m("interest_capitalised", "Interest capitalised", "money", "investor", 0),
    _m("performance_fee", "Intermediary's performance fee", "money", "investor", -1),
    _m("service_stopped_month", "Service stopped in month", "month", "service users", +1),
]
METRICS: dict[str, Metric] = {m.name: m for m in _ALL}
"""The metrics whose names do not depend on the scenario."""


_INVESTOR_KPIS = (
    "investor_drawn",
    "investor_received",
    "investor_multiple",
    "investor_irr",
    "loan_loss",
    "max_funding_gap",
)
CONTRACT_KPIS = (
    "capped",
    "self_funded",
    "unfunded",
    "unsettled",
    "provider_revenue",
    "provider_costs",
    "provider_surplus",
    "provider_margin",
    "provider_min_reserves",
    "provider_min_reserves_month",
    "provider_insolvent_month",
    "outcome_linked_share",
    "provider_advance",
    "provider_advance_max_outstanding",
    *_INVESTOR_KPIS,
    "cost_per_job_start",
)
"""A contract's key measures after its volumes, its income and who paid it, in the order
tables show them."""
V3_KPIS = (
    "grants",
    "rejected",
    "max_provider_arrears",
    "provider_unpaid",
    "interest_capitalised",
    "performance_fee",
    "service_stopped_month",
)
"""v3 measures a contract's tables add where a case has them (spec section 10)."""
PORTFOLIO_KPIS = (
    "capped",
    "self_funded",
    "management_fee",
    *_INVESTOR_KPIS,
    "providers_insolvent",
)
"""A portfolio's key measures after its income and who paid it."""
_NOT_COMPARED = {
    "unfunded",
    "unsettled",
    "provider_min_reserves_month",
    "provider_advance",
    "provider_advance_max_outstanding",
    "management_fee",
}


def compared(names: Sequence[str]) -> list[str]:
    """The measures of ``names`` that ``compare`` sets side by side and colours."""
    return [n for n in names if n not in _NOT_COMPARED]


def metric(
    name: str,
    stage_names: Sequence[str] = (),
    payer_labels: Mapping[str, str] | None = None,
) -> Metric:
    """The metric ``name``: a fixed one, a stage's people, ``paid_<payer>`` (with the
    payer's name from ``payer_labels``), or a portfolio's ``<contract>.<metric>``."""
    if name in METRICS:
        return METRICS[name]
    if name in stage_names:
        return Metric(name, f"{name} (people)", "people", "service users", +1)
    if name.startswith("paid_"):
        key = name[len("paid_") :]
        label = (payer_labels or {}).get(key, key)
        return Metric(name, f"  paid by {label}", "money", label, -1)
    contract, dot, rest = name.partition(".")
    if dot and rest:
        inner = metric(rest, stage_names, payer_labels)
        label = inner.label.strip()
        party = f"{contract} {inner.party}" if inner.party == "provider" else inner.party
        return replace(
            inner, name=name, label=f"{contract}: {label[:1].lower()}{label[1:]}", party=party
        )
    return _guess(name)


def _guess(name: str) -> Metric:
    """A column this module does not list (a stage not named, a future extra): its unit
    from its name, no view on which way is better."""
    if name.endswith("_month"):
        unit = "month"
    elif name.endswith(("_margin", "_share", "_irr")):
        unit = "percent"
    elif name.endswith("_multiple"):
        unit = "multiple"
    else:
        unit = "money"
    return Metric(name, name, unit, "", 0)


def unit_of(name: str, stage_names: Sequence[str] = ()) -> str:
    """How a summary column is shown: money, people, percent, multiple, month or count."""
    return metric(name, stage_names).unit
