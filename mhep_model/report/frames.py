"""Results as tidy tables: ``monthly.csv`` and ``summary.csv`` of spec section 10.

The spec's columns come first, in its order; a few extra columns follow that an analyst
finds useful (contract year, per-payer capped amounts, per-band stage flows, totals).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mhep_model.engine import Results
from mhep_model.studies.run import RowInfo, RunOutput
from mhep_model.studies.summary import (
    MONTH_COLUMNS,
    Summarised,
    external_payers,
    summary_columns,
)


def month_label(start: str, offset: np.ndarray) -> list[str]:
    """``YYYY-MM`` of ``start`` plus ``offset`` months."""
    year, month = (int(x) for x in start.split("-"))
    total = year * 12 + (month - 1) + offset
    return [f"{t // 12:04d}-{t % 12 + 1:02d}" for t in total.tolist()]


def summary_frame(results: Summarised, rows: Sequence[RowInfo]) -> pd.DataFrame:
    """One row per engine row: ``case`` then every summary metric (NaN = blank)."""
    data: dict[str, object] = {}
    if any(r.variant is not None for r in rows):
        data["variant"] = [r.variant for r in rows]
    data["case"] = [r.case for r in rows]
    for col in summary_columns(results):
        values = results.summary[col]
        if col in MONTH_COLUMNS:
            data[col] = pd.Series(values).round().astype("Int64")
        else:
            data[col] = values
    return pd.DataFrame(data)


def monthly_frame(results: Results, rows: Sequence[RowInfo]) -> pd.DataFrame:
    """One row per engine row and month 1..H of that row, with the spec's columns."""
    inp = results.inputs
    live = inp.in_horizon()
    months = inp.month_numbers()
    pay, prov, cash = results.payments, results.provider, results.spv

    def flat(a: np.ndarray) -> np.ndarray:
        return a[live]

    data: dict[str, object] = {}
    if any(r.variant is not None for r in rows):
        data["variant"] = np.repeat([r.variant for r in rows], inp.horizon)
    data |= {
        "case": np.repeat([r.case for r in rows], inp.horizon),
        "month": flat(np.broadcast_to(months, live.shape)),
        "date": [
            label
            for r, h in zip(rows, inp.horizon, strict=True)
            for label in month_label(r.start, np.arange(h))
        ],
        "referrals": flat(results.referrals),
    }
    for stage, flow in zip(inp.stages, results.stages, strict=True):
        data[stage.name] = flat(flow.sum(axis=1))
    data["over_capacity"] = flat(results.over_capacity)
    data["income"] = flat(pay.income)
    payers = external_payers(results)
    for p in payers:
        data[f"paid_{inp.payer_names[p]}"] = flat(pay.paid[:, p])
    data.update(
        {
            "capped": flat(pay.capped.sum(axis=1)),
            "self_funded": flat(pay.self_funded),
            "unfunded": flat(pay.unfunded),
            "unsettled": flat(pay.unsettled),
            "block": flat(prov.block),
            "provider_outcome_payments": flat(prov.outcome_payments),
            "management_fee": flat(cash.management_fee),
            "advance": flat(prov.advance),
            "advance_repaid": flat(prov.advance_repaid),
            "drawdown": flat(cash.drawdown),
            "interest_paid": flat(cash.interest_paid),
            "principal_repaid": flat(cash.principal_repaid),
            "equity_distribution": flat(cash.equity_distribution),
            "loan_principal": flat(cash.loan_principal),
            "spv_cash": flat(cash.cash),
            "funding_gap": flat(cash.funding_gap),
            "provider_revenue": flat(prov.revenue),
            "provider_costs": flat(prov.costs),
            "provider_reserves": flat(prov.reserves),
            "investor_cashflow": flat(cash.investor_cashflow),
            "year": flat(np.broadcast_to((months - 1) // 12 + 1, live.shape)),
        }
    )
    for p in payers:
        data[f"capped_{inp.payer_names[p]}"] = flat(pay.capped[:, p])
    for stage, flow in zip(inp.stages, results.stages, strict=True):
        for b, band in enumerate(stage.bands):
            data[f"{stage.name}[{band}]"] = flat(flow[:, b])
    return pd.DataFrame(data)


def yearly_frame(monthly: pd.DataFrame, stage_names: Sequence[str]) -> pd.DataFrame:
    """Contract-year totals of the main flows, per case; reserves and cash at year end."""
    sums = ["referrals", *stage_names, "income", "provider_revenue", "provider_costs", "drawdown"]
    sums += ["investor_cashflow"]
    grouped = monthly.groupby(["case", "year"], sort=False)
    out = grouped[sums].sum()
    out["provider_surplus"] = out["provider_revenue"] - out["provider_costs"]
    out["provider_reserves"] = grouped["provider_reserves"].last()
    out["first"] = grouped["date"].first()
    out["last"] = grouped["date"].last()
    return out.reset_index()


def run_summary(out: RunOutput) -> pd.DataFrame:
    """``summary.csv`` of a run (a ``variant`` column first when rows have one)."""
    return summary_frame(out.results, out.rows)


def run_monthly(out: RunOutput) -> pd.DataFrame:
    """``monthly.csv`` of a run."""
    return monthly_frame(out.results, out.rows)


def variance_frame(out: RunOutput) -> pd.DataFrame:
    """``variance.csv``: case, measure, months, actual, projected, variance, ratio (spec 13;
    a ``variant`` column first when rows have one)."""
    rows = [
        {
            **({"variant": r.variant} if any(v.variant for v in out.variance) else {}),
            "case": r.case,
            "measure": r.measure,
            "months": r.months,
            "actual": r.actual,
            "projected": r.projected,
            "variance": r.variance,
            "ratio": r.ratio,
        }
        for r in out.variance
    ]
    columns = ["case", "measure", "months", "actual", "projected", "variance", "ratio"]
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else columns)
