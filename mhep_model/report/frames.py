"""Results as tidy tables: ``monthly.csv`` and ``summary.csv`` of spec section 10, and a
portfolio's ``contracts_monthly.csv``, ``contracts_summary.csv``, ``portfolio_monthly.csv``
and ``portfolio_summary.csv`` (spec section 12: month numbers are portfolio months, month 1
the earliest contract start; columns a contract does not have are blank in its rows).

The spec's columns come first, in its order; a few extra columns follow that an analyst
finds useful (contract year, per-payer capped amounts, per-band stage flows, totals).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mhep_model.engine import Results
from mhep_model.engine.inputs import FloatArray, Inputs
from mhep_model.engine.portfolio import PortfolioResults
from mhep_model.engine.spv import SpvFlows
from mhep_model.studies.run import RowInfo, RunOutput
from mhep_model.studies.summary import (
    CONTRACT_TAIL,
    MONTH_COLUMNS,
    PORTFOLIO_TAIL,
    STOP_REASONS,
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
        if col == "service_stop_reason":
            data[col] = [STOP_REASONS[float(v)] for v in values]
        elif col in MONTH_COLUMNS:
            data[col] = pd.Series(values).round().astype("Int64")
        else:
            data[col] = values
    return pd.DataFrame(data)


def waterfall_columns(
    cash: SpvFlows, flat: Callable[[np.ndarray], np.ndarray]
) -> dict[str, np.ndarray]:
    """The SPV's waterfall columns of ``monthly.csv`` and ``portfolio_monthly.csv``, from
    ``drawdown`` to ``funding_gap`` (spec sections 10 and 12), each through ``flat``."""
    return {
        "drawdown": flat(cash.drawdown),
        "interest_paid": flat(cash.interest_paid),
        "principal_repaid": flat(cash.principal_repaid),
        "equity_distribution": flat(cash.equity_distribution),
        "loan_principal": flat(cash.loan_principal),
        "spv_cash": flat(cash.cash),
        "funding_gap": flat(cash.funding_gap),
    }


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
            **waterfall_columns(cash, flat),
            "provider_revenue": flat(prov.revenue),
            "provider_costs": flat(prov.costs),
            "provider_reserves": flat(prov.reserves),
            "investor_cashflow": flat(cash.investor_cashflow),
        }
    )
    if inp.uses_v3:
        data.update({k: flat(v) for k, v in v3_monthly(results).items()})
    data["year"] = flat(np.broadcast_to((months - 1) // 12 + 1, live.shape))
    for p in payers:
        data[f"capped_{inp.payer_names[p]}"] = flat(pay.capped[:, p])
    for stage, flow in zip(inp.stages, results.stages, strict=True):
        for b, band in enumerate(stage.bands):
            data[f"{stage.name}[{band}]"] = flat(flow[:, b])
    return pd.DataFrame(data)


def opening_by_month(inp: Inputs) -> FloatArray:
    """``(R, T)`` the opening caseloads, summed over stages, in month 1 (v3) [people]."""
    out = np.zeros((inp.rows, inp.months))
    for stage in inp.stages:
        if stage.opening is not None:
            out[:, 0] += stage.opening.sum(axis=1)
    return out


CONTRACT_V3 = ["opening", "grants", "replaced", "rejected", "invoiced"]
"""v3 columns of a portfolio's contracts (spec section 11)."""


def _contract_v3_monthly(c: Any) -> dict[str, FloatArray]:
    """A portfolio contract's v3 monthly columns ``(R, T_c)`` (its own months)."""
    inp, pay = c.inputs, c.payments
    zero = np.zeros((inp.rows, inp.months))
    return {
        "opening": opening_by_month(inp),
        "grants": pay.grants if pay.grants is not None else zero,
        "replaced": pay.replaced if pay.replaced is not None else zero,
        "rejected": pay.rejected if pay.rejected is not None else zero,
        "invoiced": pay.invoiced.sum(axis=1),
    }


def v3_monthly(results: Results) -> dict[str, FloatArray]:
    """The v3 monthly columns of spec section 10, ``(R, T)`` each."""
    inp, pay, cash = results.inputs, results.payments, results.spv
    zero = np.zeros((inp.rows, inp.months))

    def given(x: FloatArray | None) -> FloatArray:
        return zero if x is None else x

    return {
        "opening": opening_by_month(inp),
        "grants": given(pay.grants),
        "replaced": given(pay.replaced),
        "rejected": given(pay.rejected),
        "invoiced": pay.invoiced.sum(axis=1),
        "provider_arrears": given(results.provider.arrears),
        "interest_capitalised": given(cash.interest_capitalised),
        "performance_fee": given(cash.performance_fee),
        "stopped": inp.stopped().astype(np.int64),
    }


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


def run_frames(out: RunOutput) -> dict[str, pd.DataFrame]:
    """The CSVs of a run: a scenario's ``monthly.csv`` and ``summary.csv`` (and
    ``variance.csv`` with actuals); a portfolio's own and its contracts' (spec section 12)."""
    if out.portfolio is not None:
        res = out.model_results
        return {
            "portfolio_summary.csv": portfolio_summary_frame(res, out.cases),
            "portfolio_monthly.csv": portfolio_monthly_frame(res, out.cases, out.starts),
            "contracts_summary.csv": contracts_summary_frame(res, out.cases),
            "contracts_monthly.csv": contracts_monthly_frame(res, out.cases, out.starts),
        }
    frames = {"monthly.csv": run_monthly(out), "summary.csv": run_summary(out)}
    if out.variance:
        frames["variance.csv"] = variance_frame(out)
    return frames


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


def _union(groups: Sequence[Sequence[str]]) -> list[str]:
    return list(dict.fromkeys(name for group in groups for name in group))


def stage_union(results: PortfolioResults) -> list[str]:
    """Stage names over all contracts, in order of first appearance."""
    return _union([[s.name for s in c.inputs.stages] for c in results.contracts])


def payer_union(results: PortfolioResults) -> list[str]:
    """External payer keys over all contracts, in order of first appearance."""
    return _union(
        [[c.inputs.payer_names[p] for p in external_payers(c.inputs)] for c in results.contracts]
    )


def _dates(starts: Sequence[str], months: np.ndarray) -> list[str]:
    return [month_label(s, np.array([m - 1]))[0] for s, m in zip(starts, months, strict=True)]


def contracts_monthly_frame(
    results: PortfolioResults, cases: Sequence[str], starts: Sequence[str]
) -> pd.DataFrame:
    """One row per case, contract and month of that contract (1..H_c)."""
    stages, payers = stage_union(results), payer_union(results)
    frames = []
    for r, case in enumerate(cases):
        for c in results.contracts:
            inp = c.inputs
            h = int(inp.horizon[r])
            j = np.arange(h)
            offset = int(c.offset[r])
            data: dict[str, object] = {
                "case": case,
                "contract": c.name,
                "month": j + 1 + offset,
                "contract_month": j + 1,
                "date": month_label(starts[r], j + offset),
                "referrals": c.referrals[r, :h],
            }
            own = {s.name: f for s, f in zip(inp.stages, c.stages, strict=True)}
            for name in stages:
                data[name] = own[name][r].sum(axis=0)[:h] if name in own else np.nan
            data["over_capacity"] = c.over_capacity[r, :h]
            pay, prov = c.payments, c.provider
            data["income"] = pay.income[r, :h]
            mine = {inp.payer_names[p]: p for p in external_payers(c.inputs)}
            for key in payers:
                data[f"paid_{key}"] = pay.paid[r, mine[key], :h] if key in mine else np.nan
            data |= {
                "capped": pay.capped[r].sum(axis=0)[:h],
                "self_funded": pay.self_funded[r, :h],
                "unfunded": pay.unfunded[r, :h],
                "unsettled": pay.unsettled[r, :h],
                "block": prov.block[r, :h],
                "provider_outcome_payments": prov.outcome_payments[r, :h],
                "advance": prov.advance[r, :h],
                "advance_repaid": prov.advance_repaid[r, :h],
                "provider_revenue": prov.revenue[r, :h],
                "provider_costs": prov.costs[r, :h],
                "provider_reserves": prov.reserves[r, :h],
            }
            if results.inputs.uses_v3:
                data |= {k: v[r, :h] for k, v in _contract_v3_monthly(c).items()}
            frames.append(pd.DataFrame(data))
    return pd.concat(frames, ignore_index=True)


def contracts_summary_frame(results: PortfolioResults, cases: Sequence[str]) -> pd.DataFrame:
    """One row per case and contract."""
    stages, payers = stage_union(results), payer_union(results)
    columns = [*stages, "over_capacity", "income", *(f"paid_{p}" for p in payers)]
    columns += ["capped", "self_funded", *CONTRACT_TAIL]
    if results.inputs.uses_v3:
        columns += CONTRACT_V3
    rows = []
    for r, case in enumerate(cases):
        for c in results.contracts:
            row: dict[str, object] = {"case": case, "contract": c.name}
            for col in columns:
                row[col] = float(c.summary[col][r]) if col in c.summary else np.nan
            rows.append(row)
    frame = pd.DataFrame(rows, columns=["case", "contract", *columns])
    for col in MONTH_COLUMNS & set(frame.columns):
        frame[col] = frame[col].round().astype("Int64")
    return frame


def portfolio_monthly_frame(
    results: PortfolioResults, cases: Sequence[str], starts: Sequence[str]
) -> pd.DataFrame:
    """One row per case and portfolio month 1..H_P."""
    horizon = results.inputs.waterfall.horizon
    live = np.arange(results.inputs.months)[None, :] < horizon[:, None]
    cash = results.spv

    def flat(a: np.ndarray) -> np.ndarray:
        return a[live]

    months = np.broadcast_to(np.arange(1, results.inputs.months + 1), live.shape)
    data: dict[str, object] = {
        "case": np.repeat(list(cases), horizon),
        "month": flat(months),
        "date": [
            label
            for s, h in zip(starts, horizon, strict=True)
            for label in month_label(s, np.arange(h))
        ],
        "income": flat(results.income),
    }
    for s, key in enumerate(results.inputs.shared):
        data[f"paid_{key}"] = flat(results.paid_shared[:, s])
    data |= {
        "capped": flat(results.capped),
        "self_funded": flat(results.self_funded),
        "block": flat(results.block),
        "provider_outcome_payments": flat(results.provider_outcome_payments),
        "management_fee": flat(cash.management_fee),
        "advance": flat(results.advance),
        "advance_repaid": flat(results.advance_repaid),
        **waterfall_columns(cash, flat),
        "investor_cashflow": flat(cash.investor_cashflow),
    }
    if results.inputs.uses_v3:
        zero = np.zeros((results.inputs.rows, results.inputs.months))
        data["grants"] = flat(results.grants if results.grants is not None else zero)
        for key in ("interest_capitalised", "performance_fee"):
            values = getattr(cash, key)
            data[key] = flat(values if values is not None else zero)
    return pd.DataFrame(data)


def portfolio_summary_frame(results: PortfolioResults, cases: Sequence[str]) -> pd.DataFrame:
    """One row per case: the portfolio's income, shared payers and investor."""
    columns = ["income", *(f"paid_{k}" for k in results.inputs.shared)]
    columns += ["capped", "self_funded", *PORTFOLIO_TAIL]
    if results.inputs.uses_v3:
        columns += ["grants", "interest_capitalised", "performance_fee"]
    data: dict[str, object] = {"case": list(cases)}
    for col in columns:
        values = results.summary[col]
        if col in MONTH_COLUMNS or col == "providers_insolvent":
            data[col] = pd.Series(values).round().astype("Int64")
        else:
            data[col] = values
    return pd.DataFrame(data)
