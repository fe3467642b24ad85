"""``results.xlsx`` of a portfolio run, in the model workbook's layout.

Cover, Outputs (the portfolio's KPIs by case), Timeline, one SPV sheet per case (each
contract's income as an import and the SPV's income as their sum; the consolidated block,
outcome pay and advances; the cash and loan corkscrews and the investor's cash flow as live
formulas over the portfolio months), Contracts (a row per case and contract), one sheet of
months per contract, Assumptions, and Checks with the master check shown on every sheet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.workbook import Workbook

from mhep_model import __version__
from mhep_model.engine.portfolio import shift
from mhep_model.metrics import METRICS, PORTFOLIO_KPIS
from mhep_model.report.excel import column_kinds, portfolio_assumptions, sheet_name
from mhep_model.report.portfolio import stage_union
from mhep_model.report.workbook import Column, layout, opening_cell, spv_columns, write_calc
from mhep_model.report.workbook_checks import Check, checks_pass, spv_checks, write_checks
from mhep_model.report.workbook_layout import (
    HEADER_ROW,
    CalcSheet,
    Styles,
    add_table,
    finish_sheet,
    master_check,
    write_value,
)
from mhep_model.report.workbook_sheets import write_timeline
from mhep_model.report.writers import RESIDUE, atomic_path
from mhep_model.studies.portfolio import PortfolioRun


def _columns(run: PortfolioRun, i: int, anchors: dict[str, str]) -> list[Column]:
    res = run.results
    h = int(res.inputs.waterfall.horizon[i])
    width = res.income.shape[1]

    def v(a: np.ndarray) -> np.ndarray:
        values = np.asarray(a[i, :h], dtype=float)
        return np.where(np.abs(values) < RESIDUE, 0.0, values)

    cols = [
        Column(
            f"income_{c}",
            f"Income: {flows.name}",
            "money",
            v(shift(flows.payments.income, flows.offset, width)),
        )
        for c, flows in enumerate(res.contracts)
    ]
    keys = [c.key for c in cols]
    cols.append(
        Column(
            "income",
            "Income",
            "money",
            v(res.income),
            lambda r, c: "=" + "+".join(f"{c[k]}{r}" for k in keys),
        )
    )
    cols += [
        Column("block", "Block", "money", v(res.block)),
        Column(
            "outcome_pay", "Provider outcome payments", "money", v(res.provider_outcome_payments)
        ),
        Column("advance", "Advance", "money", v(res.advance)),
        Column("advance_repaid", "Advance repaid", "money", v(res.advance_repaid)),
    ]
    return cols + spv_columns(v, res.spv, anchors)


def _checks(run: PortfolioRun, sheets: list[CalcSheet]) -> list[Check]:
    summary, spv = run.results.summary, run.results.spv
    return [
        check
        for i, c in enumerate(sheets)
        for check in spv_checks(c, spv, i, summary, "sum of contracts")
    ]


def _frame_sheet(
    wb: Workbook, st: Styles, name: str, title: str, frame: pd.DataFrame, kinds: dict[str, str]
) -> None:
    """A sheet of engine figures (imports) as an Excel Table, formats by column kind."""
    ws = wb.add_worksheet(name)
    ws.write_string(0, 0, title, st.title)
    master_check(ws, st, st.ok_all)
    columns = [str(c) for c in frame.columns]
    for j, col in enumerate(frame.columns):
        kind = kinds.get(str(col), "number")
        number, text = st.fmt(kind, "import"), st.fmt("text", "import")
        for r, value in enumerate(frame[col].tolist(), start=HEADER_ROW + 1):
            if isinstance(value, float) and abs(value) < RESIDUE:
                value = 0.0
            write_value(ws, r, j, None if value is pd.NA else value, number, text)
    add_table(ws, HEADER_ROW + len(frame), columns, _table_name(name), st)
    ws.set_column(0, len(columns) - 1, 14)
    finish_sheet(ws, HEADER_ROW, landscape=True)


def _table_name(sheet: str) -> str:
    return "T_" + "".join(ch if ch.isalnum() else "_" for ch in sheet)[:60]


def _cover(wb: Workbook, st: Styles, run: PortfolioRun, contents: list[str]) -> None:
    ws = wb.add_worksheet("Cover")
    pf = run.first
    ws.write_string(0, 0, pf.name, st.title)
    master_check(ws, st, st.ok_all)
    about = [
        ("Portfolio file", pf.file),
        ("Written by", f"mhep-model {__version__}"),
        ("Contracts", ", ".join(c.name for c in pf.contracts)),
        ("Cases", ", ".join(run.cases)),
    ]
    for r, (label, text) in enumerate(about, start=3):
        ws.write_string(r, 0, label, st.label)
        ws.write_string(r, 1, text)
    r = len(about) + 4
    ws.write_string(r, 0, "Contents", st.label)
    for k, sheet in enumerate(contents, start=r + 1):
        ws.write_url(k, 0, f"internal:'{sheet}'!A1", string=sheet)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 80)
    ws.hide_gridlines(2)


def _outputs(wb: Workbook, st: Styles, run: PortfolioRun, summary: pd.DataFrame) -> None:
    ws = wb.add_worksheet("Outputs")
    ws.write_string(0, 0, f"Outputs: {run.first.name}", st.title)
    master_check(ws, st, st.ok_all)
    names = ["income", *PORTFOLIO_KPIS]
    measures = [(METRICS[n].label, n, METRICS[n].unit) for n in names]
    measures = [m for m in measures if m[1] in summary.columns]
    for r, (label, column, kind) in enumerate(measures, start=HEADER_ROW + 1):
        ws.write_string(r, 0, label)
        for j, value in enumerate(summary[column].tolist(), start=1):
            ok = value is not pd.NA and not (isinstance(value, float) and math.isnan(value))
            if ok:
                ws.write_number(r, j, float(value), st.fmt(kind, "import"))
            else:
                ws.write_string(r, j, "–", st.fmt("text", "import"))
    add_table(ws, HEADER_ROW + len(measures), ["Measure", *run.cases], "Outputs", st)
    ws.set_column(0, 0, 32)
    ws.set_column(1, len(run.cases), 15)
    finish_sheet(ws, HEADER_ROW)


def write_portfolio_workbook(
    run: PortfolioRun, frames: Mapping[str, pd.DataFrame], path: Path
) -> Path:
    """Write a portfolio run's model workbook to ``path`` (atomically) and return it."""
    currency = run.first.contracts[0].resolved.base.contract.currency
    wf = run.results.inputs.waterfall
    anchors = {"opening_cash": opening_cell(0), "equity_share": opening_cell(1)}
    calcs = []
    for i, case in enumerate(run.cases):
        cols = _columns(run, i, anchors)
        name = f"SPV {case}" if len(f"SPV {case}") <= 31 and case.isidentifier() else f"SPV {i + 1}"
        openings = [
            ("Opening SPV cash", float(wf.opening_cash[i]), "money"),
            ("Investor equity share", float(wf.equity_share[i]), "percent"),
        ]
        calcs.append((layout(name, case, cols), cols, run.starts[i], openings))
    sheets = [c[0] for c in calcs]
    checks = _checks(run, sheets)
    stages = stage_union(run.results)
    contracts = frames["contracts_summary.csv"]
    by_contract = frames["contracts_monthly.csv"]
    used = {"Cover", "Outputs", "Timeline", "Contracts", "Assumptions", "Checks"}
    used |= {s.name for s in sheets}
    names = [sheet_name(c.name, used) for c in run.first.contracts]
    contents = ["Outputs", "Timeline", *[s.name for s in sheets], "Contracts", *names]
    contents += ["Assumptions", "Checks"]
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False})
        st = Styles(wb, currency, ok_all=checks_pass(checks))
        _cover(wb, st, run, contents)
        _outputs(wb, st, run, frames["portfolio_summary.csv"])
        starts = list(dict.fromkeys(run.starts))
        date_cols = write_timeline(wb, st, starts, int(np.max(wf.horizon)))
        for number, (sheet, cols, start, openings) in enumerate(calcs, start=1):
            dates = (date_cols[start], start)
            write_calc(wb, st, sheet, cols, dates, run.first.name, number, openings)
        kinds = column_kinds(list(contracts.columns), stages)
        _frame_sheet(
            wb, st, "Contracts", "Contracts: a row per case and contract", contracts, kinds
        )
        for contract, name in zip(run.first.contracts, names, strict=True):
            rows = by_contract[by_contract["contract"] == contract.name].drop(columns="contract")
            kinds = column_kinds(list(rows.columns), stages)
            _frame_sheet(wb, st, name, f"{contract.name}: months", rows, kinds)
        assumptions = portfolio_assumptions(run.first)
        kinds = {str(c): ("text" if c == "path" else "number") for c in assumptions.columns}
        _frame_sheet(wb, st, "Assumptions", "Assumptions", assumptions, kinds)
        write_checks(wb, st, checks)
        wb.close()
    return path
