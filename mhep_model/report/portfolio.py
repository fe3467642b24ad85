"""A portfolio's tidy tables (spec section 12): ``contracts_monthly.csv``,
``contracts_summary.csv``, ``portfolio_monthly.csv`` and ``portfolio_summary.csv``.

Month numbers are portfolio months (month 1 = the earliest contract start); columns that a
contract does not have are blank in its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from mhep_model.engine.portfolio import PortfolioResults
from mhep_model.metrics import PORTFOLIO_KPIS, metric
from mhep_model.report.explain_portfolio import shared_name
from mhep_model.report.frames import month_label
from mhep_model.report.tables import DASH, money, multiple, number, percent
from mhep_model.studies.portfolio import PortfolioRun
from mhep_model.studies.summary import (
    CONTRACT_TAIL,
    MONTH_COLUMNS,
    PORTFOLIO_TAIL,
    external_payers,
)


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
            frames.append(pd.DataFrame(data))
    return pd.concat(frames, ignore_index=True)


def contracts_summary_frame(results: PortfolioResults, cases: Sequence[str]) -> pd.DataFrame:
    """One row per case and contract."""
    stages, payers = stage_union(results), payer_union(results)
    columns = [*stages, "over_capacity", "income", *(f"paid_{p}" for p in payers)]
    columns += ["capped", "self_funded", *CONTRACT_TAIL]
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
        "drawdown": flat(cash.drawdown),
        "interest_paid": flat(cash.interest_paid),
        "principal_repaid": flat(cash.principal_repaid),
        "equity_distribution": flat(cash.equity_distribution),
        "loan_principal": flat(cash.loan_principal),
        "spv_cash": flat(cash.cash),
        "funding_gap": flat(cash.funding_gap),
        "investor_cashflow": flat(cash.investor_cashflow),
    }
    return pd.DataFrame(data)


def portfolio_summary_frame(results: PortfolioResults, cases: Sequence[str]) -> pd.DataFrame:
    """One row per case: the portfolio's income, shared payers and investor."""
    columns = ["income", *(f"paid_{k}" for k in results.inputs.shared)]
    columns += ["capped", "self_funded", *PORTFOLIO_TAIL]
    data: dict[str, object] = {"case": list(cases)}
    for col in columns:
        values = results.summary[col]
        if col in MONTH_COLUMNS or col == "providers_insolvent":
            data[col] = pd.Series(values).round().astype("Int64")
        else:
            data[col] = values
    return pd.DataFrame(data)


def shared_labels(run: PortfolioRun) -> dict[str, str]:
    """Display names of the shared payers, by key."""
    return {key: shared_name(run.first, key) for key in run.first.spec.shared_payers}


def portfolio_kpi_table(run: PortfolioRun, summary: pd.DataFrame, currency: str) -> Table:
    """One column per case: the portfolio's income, shared payers, SPV and investor."""
    table = Table(title=run.first.name, title_justify="left")
    table.add_column("Measure", style="bold")
    for case in summary["case"]:
        table.add_column(str(case), justify="right")
    cash = lambda v: money(v, currency)  # noqa: E731
    count = lambda v: DASH if pd.isna(v) else f"{int(v)} of {len(run.first.contracts)}"  # noqa: E731
    shown = {"money": cash, "multiple": multiple, "percent": percent, "count": count}
    payers = shared_labels(run)
    names = ["income", *(f"paid_{k}" for k in payers), *PORTFOLIO_KPIS]
    rows: list[tuple[str, str, Callable[[Any], str]]] = []
    for name in names:
        m = metric(name, payer_labels=payers)
        rows.append((m.label, name, shown[m.unit]))
    for label, col, fmt in rows:
        table.add_row(label, *(fmt(v) for v in summary[col].tolist()))
    return table


def contracts_table(
    contracts: pd.DataFrame, case: str, starts: dict[str, str], currency: str
) -> Table:
    """One line per contract of one case: volumes, income and the provider's resilience."""
    table = Table(title=f"Contracts, case {case}", title_justify="left")
    for head in (
        "Contract",
        "Job starts",
        "Income",
        "Capped",
        "Provider surplus",
        "Min reserves",
        "lowest in",
        "Insolvent from",
    ):
        table.add_column(head, justify="left" if head == "Contract" else "right")
    rows = contracts[contracts["case"] == case]
    for _, row in rows.iterrows():
        insolvent = row["provider_insolvent_month"]
        table.add_row(
            str(row["contract"]),
            number(row.get("job_start", np.nan)),
            money(row["income"], currency),
            money(row["capped"], currency),
            money(row["provider_surplus"], currency),
            money(row["provider_min_reserves"], currency),
            _when(row["provider_min_reserves_month"], starts[case]),
            _when(insolvent, starts[case]),
            style="red" if not pd.isna(insolvent) else None,
        )
    return table


def _when(month: Any, start: str) -> str:
    if month is None or pd.isna(month):
        return DASH
    return month_label(start, np.array([int(month) - 1]))[0]
