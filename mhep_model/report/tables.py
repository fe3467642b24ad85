"""Rich tables for the terminal: KPIs by case, and the main flows by contract year."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from mhep_model.metrics import CONTRACT_KPIS, PORTFOLIO_KPIS, V3_KPIS, metric
from mhep_model.report.frames import month_label
from mhep_model.scenario.portfolio import shared_name
from mhep_model.studies.run import RunOutput

DASH = "–"
SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def payer_labels(base: Any) -> dict[str, str]:
    """External payers' display names, by key (self-funded payers are not income)."""
    return {p: base.payers[p].name or p for p in base.payers if not base.payers[p].self_}


def money(value: float, currency: str = "GBP") -> str:
    """``£12,345`` (whole units; a dash for blank)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    symbol = SYMBOLS.get(currency)
    body = f"{abs(value):,.0f}"
    if round(abs(value)) == 0:
        value = 0.0
    text = f"{symbol}{body}" if symbol else f"{currency} {body}"
    return f"-{text}" if value < 0 else text


def number(value: float, places: int = 1) -> str:
    """``1,234.5``; a dash for blank."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    return f"{value:,.{places}f}"


def percent(value: float) -> str:
    """``12.3%``; a dash for blank."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    return f"{value * 100:,.1f}%"


def multiple(value: float) -> str:
    """``1.23x``; a dash for blank."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    return f"{value:,.2f}x"


def month(value: object, dates: dict[int, str]) -> str:
    """``14 (2017-05)`` for a contract month; a dash for blank."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return DASH
    m = int(value)  # type: ignore[call-overload]
    return f"{m} ({dates[m]})" if m in dates else str(m)


def _any_nonzero(summary: pd.DataFrame, column: str) -> bool:
    return column in summary.columns and bool((summary[column].fillna(0).abs() > 1e-9).any())


SUB_ROWS = {
    "provider_min_reserves_month": "  in month",
    "provider_advance_max_outstanding": "  most outstanding at a month end",
}
"""Rows shown under the one before them, with a shorter label."""


def _any_value(summary: pd.DataFrame, column: str) -> bool:
    """Whether some case has a value other than 0 or blank (a v3 term it uses)."""
    values = pd.to_numeric(summary[column], errors="coerce")
    return bool((values.fillna(0) != 0).any())


def kpi_table(
    summary: pd.DataFrame,
    monthly: pd.DataFrame,
    stage_names: Sequence[str],
    payer_labels: dict[str, str],
    currency: str,
    title: str,
) -> Table:
    """One column per case: volumes, who paid what, the provider's, SPV's and investor's."""
    table = Table(title=title, title_justify="left")
    table.add_column("Measure", style="bold")
    for case in summary["case"]:
        table.add_column(str(case), justify="right")
    dates = {
        str(case): dict(zip(g["month"].tolist(), g["date"].tolist(), strict=True))
        for case, g in monthly.groupby("case", sort=False)
    }
    cash = lambda v: money(v, currency)  # noqa: E731
    shown = {"money": cash, "people": number, "percent": percent, "multiple": multiple}
    names = ["referrals", *stage_names]
    names += ["over_capacity"] if _any_nonzero(summary, "over_capacity") else []
    names += ["income", *(f"paid_{p}" for p in payer_labels), *CONTRACT_KPIS]
    if not _any_nonzero(summary, "provider_advance"):
        names = [n for n in names if not n.startswith("provider_advance")]
    names += [n for n in V3_KPIS if n in summary.columns and _any_value(summary, n)]
    rows: list[tuple[str, str, object]] = []
    for name in names:
        m = metric(name, stage_names, payer_labels)
        rows.append((SUB_ROWS.get(name, m.label), name, shown.get(m.unit, m.unit)))
    for label, col, fmt in rows:
        cells = []
        for _, row in summary.iterrows():
            value = row[col]
            if fmt == "month":
                cells.append(month(value, dates[str(row["case"])]))
            else:
                cells.append(fmt(value))  # type: ignore[operator]
        style = (
            "red" if col == "provider_insolvent_month" and any(c != DASH for c in cells) else None
        )
        table.add_row(label, *cells, style=style)
    return table


def yearly_tables(yearly: pd.DataFrame, stage_names: Sequence[str], currency: str) -> list[Table]:
    """The main flows by contract year: one table per case, one column per year."""
    rows: list[tuple[str, str, bool]] = [("Referrals (people)", "referrals", False)]
    rows += [(f"{s} (people)", s, False) for s in stage_names]
    rows += [
        ("Income to the SPV", "income", True),
        ("Provider revenue", "provider_revenue", True),
        ("Provider costs", "provider_costs", True),
        ("Provider surplus", "provider_surplus", True),
        ("Provider reserves at year end", "provider_reserves", True),
        ("Investor drawdowns", "drawdown", True),
        ("Investor net cash flow", "investor_cashflow", True),
    ]
    tables = []
    for case, group in yearly.groupby("case", sort=False):
        table = Table(title=f"Main flows by contract year: {case}", title_justify="left")
        table.add_column("Flow", style="bold")
        for _, year in group.iterrows():
            table.add_column(
                f"Year {int(year['year'])}\n{year['first']} to\n{year['last']}", justify="right"
            )
        for label, col, is_money in rows:
            values = group[col].tolist()
            cells = [money(v, currency) if is_money else number(v) for v in values]
            table.add_row(label, *cells)
        tables.append(table)
    return tables


def shared_labels(run: RunOutput) -> dict[str, str]:
    """Display names of the shared payers, by key."""
    return {key: shared_name(run.pf, key) for key in run.pf.spec.shared_payers}


def portfolio_kpi_table(run: RunOutput, summary: pd.DataFrame, currency: str) -> Table:
    """One column per case: the portfolio's income, shared payers, SPV and investor."""
    table = Table(title=run.pf.name, title_justify="left")
    table.add_column("Measure", style="bold")
    for case in summary["case"]:
        table.add_column(str(case), justify="right")
    cash = lambda v: money(v, currency)  # noqa: E731
    count = lambda v: DASH if pd.isna(v) else f"{int(v)} of {len(run.pf.contracts)}"  # noqa: E731
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
