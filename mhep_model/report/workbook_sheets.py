"""The sheets of the model workbook around its Calc sheets: Cover, Inputs, Amendments,
Timeline, Outputs (KPIs and native charts), Checks and Variance."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook

from mhep_model import __version__
from mhep_model.metrics import METRICS, PORTFOLIO_KPIS, metric
from mhep_model.report.workbook_layout import (
    HEADER_ROW,
    CalcSheet,
    Styles,
    add_table,
    excel_serial,
    finish_sheet,
    master_check,
    payer_names,
    write_value,
)
from mhep_model.report.writers import RESIDUE
from mhep_model.studies.run import RunOutput, sha256_of


def write_cover(
    wb: Workbook, st: Styles, result: RunOutput, calcs: Sequence[tuple[str, str]], ok: bool
) -> None:
    """Cover: what the workbook is, where it came from, its contents and style key."""
    ws = wb.add_worksheet("Cover")
    first = result.scenario
    ws.write_string(0, 0, first.base.name, st.title)
    master_check(ws, st, ok, row=1)
    about = [
        ("Scenario file", first.file),
        ("Scenario SHA-256", sha256_of(first.file) or ""),
        ("Written by", f"mhep-model {__version__}"),
        ("Cases", ", ".join(case for _, case in calcs)),
        ("Currency", first.base.contract.currency),
        ("Overrides (--set)", "; ".join(f"{k}={v}" for k, v in first.sets) or "none"),
        ("Actuals", first.actuals.file if first.actuals is not None else "none"),
    ]
    for r, (label, text) in enumerate(about, start=3):
        ws.write_string(r, 0, label, st.label)
        ws.write_string(r, 1, str(text))
    r = len(about) + 4
    ws.write_string(r, 0, "Contents", st.label)
    contents = [
        ("Inputs", "every assumption by case, with its unit and source note"),
        ("Amendments", "re-negotiated terms and the month each takes effect"),
        ("Timeline", "contract months, contract years and calendar months"),
        *[(name, f"the {case} case month by month: flows and balances") for name, case in calcs],
        ("Outputs", "KPIs by case and charts"),
        ("Checks", "numbered checks; the master check is shown on every sheet"),
    ]
    if result.variance:
        contents.append(("Variance", "recorded months against the projection"))
    for k, (sheet, what) in enumerate(contents, start=r + 1):
        ws.write_url(k, 0, f"internal:'{sheet}'!A1", string=sheet)
        ws.write_string(k, 1, what)
    r += len(contents) + 2
    ws.write_string(r, 0, "Style key", st.label)
    key = [
        ("input", "Input: an assumption from the scenario file"),
        ("import", "Import: a monthly flow computed by the mhep-model engine"),
        ("calc", "Calculation: a live formula"),
        ("total", "Total"),
    ]
    for k, (role, what) in enumerate(key, start=r + 1):
        ws.write_number(k, 0, 1000, st.fmt("money", role))
        ws.write_string(k, 1, what)
    ws.set_column(0, 0, 20)
    ws.set_column(1, 1, 80)
    ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.hide_gridlines(2)


def write_timeline(wb: Workbook, st: Styles, starts: Sequence[str], months: int) -> dict[str, str]:
    """Timeline: contract month, contract year and the calendar month of each start date;
    returns the column letter of each start's dates."""
    ws = wb.add_worksheet("Timeline")
    ws.write_string(0, 0, "Timeline: one row per contract month", st.title)
    master_check(ws, st, st.ok_all)
    headers = ["Month", "Contract year", *[f"Period (start {s})" for s in starts]]
    for t in range(months):
        r = HEADER_ROW + 1 + t
        ws.write_number(r, 0, t + 1, st.fmt("month", "calc"))
        ws.write_formula(r, 1, f"=INT((A{r + 1}-1)/12)+1", st.fmt("month", "calc"), t // 12 + 1)
        for j, start in enumerate(starts, start=2):
            year, mon = (int(x) for x in start.split("-"))
            total = year * 12 + mon - 1 + t
            ws.write_number(r, j, excel_serial(total // 12, total % 12 + 1), st.fmt("date", "calc"))
    add_table(ws, HEADER_ROW + months, headers, "Timeline", st)
    ws.set_column(0, len(headers) - 1, 16)
    finish_sheet(ws, HEADER_ROW)
    return {s: xl_col_to_name(j) for j, s in enumerate(starts, start=2)}


@dataclass(frozen=True)
class Kpi:
    """An Outputs row: a live formula over a Calc sheet where one exists, else the engine's
    figure (an import)."""

    label: str
    column: str
    kind: str
    formula: Any = None  # (CalcSheet) -> str


def _kpi(column: str, formula: Any = None, stages: Sequence[str] = ()) -> Kpi:
    """An Outputs row labelled and formatted as :mod:`mhep_model.metrics` defines it."""
    m = metric(column, stages)
    return Kpi(m.label, column, m.unit, formula)


def total(key: str) -> Any:
    """A KPI formula: a Calc sheet column's total."""
    return lambda c: f"={c.total_of(key)}"


def _got(c: CalcSheet) -> str:
    return "+".join(c.total_of(k) for k in ("interest", "principal", "distribution"))


def _ratio(top: Any, bottom: str) -> Any:
    return lambda c: f'=IF({c.total_of(bottom)}<>0,({top(c)})/{c.total_of(bottom)},"–")'


def _capped(c: CalcSheet) -> str:
    parts = [k for k in c.letters if k.startswith(("inv_", "out_"))]
    return "=" + "+".join(c.total_of(k) for k in parts) + f"-{c.total_of('income')}"


def _insolvent(c: CalcSheet) -> str:
    return f'=IF({c.closing("insolvent")}>0,{c.closing("insolvent")},"–")'


def _irr(c: CalcSheet) -> str:
    # Excel's IRR searches from a guess: start at 0 (spec 7: the root nearest zero), then
    # wider monthly guesses for a large loss or gain
    tries = [f"IRR({c.range('investor')},{g})" for g in (0, -0.05, 0.05, -0.2)]
    nested = '"–"'
    for attempt in reversed(tries):
        nested = f"IFERROR({attempt},{nested})"
    return f'=IFERROR((1+{nested})^12-1,"–")'


SPV_KPIS: dict[str, Any] = {
    "income": total("income"),
    "management_fee": total("fee"),
    "investor_drawn": total("drawdown"),
    "investor_received": lambda c: f"={_got(c)}",
    "investor_multiple": _ratio(_got, "drawdown"),
    "investor_irr": _irr,
    "loan_loss": lambda c: f"={c.closing('loan')}+{c.closing('accrued_close')}",
    "max_funding_gap": lambda c: f"=MAX({c.range('gap')})",
}
"""KPI formulas over an SPV's columns (a scenario's Calc sheet or a portfolio's SPV sheet)."""


def _kpis(result: RunOutput) -> list[Kpi]:
    stages = [s.name for s in result.inputs.stages]
    shown = payer_names(result.scenario, result.inputs.payer_names)
    out = [_kpi("referrals", total("referrals"))]
    out += [_kpi(s, total(s), stages) for s in stages]
    out += [
        _kpi("over_capacity"),
        _kpi("income", total("income")),
        *(
            Kpi(f"  paid by {shown[p]}", f"paid_{key}", "money", total(f"paid_{p}"))
            for p, key in enumerate(result.inputs.payer_names)
            if not result.inputs.payer_self[:, p].all()
        ),
        _kpi("capped", _capped),
        _kpi("self_funded", total("self_funded")),
        _kpi("provider_revenue", total("revenue")),
        _kpi("provider_costs", total("costs")),
        _kpi("provider_surplus", lambda c: f"={c.total_of('revenue')}-{c.total_of('costs')}"),
        _kpi("outcome_linked_share", _ratio(lambda c: c.total_of("outcome_pay"), "revenue")),
        _kpi("provider_block", total("block")),
        _kpi("provider_outcome_payments", total("outcome_pay")),
        _kpi(
            "provider_margin",
            _ratio(lambda c: f"{c.total_of('revenue')}-{c.total_of('costs')}", "revenue"),
        ),
        _kpi("provider_min_reserves", lambda c: f"=MIN({c.range('reserves')})"),
        _kpi("provider_insolvent_month", _insolvent),
        _kpi("provider_closing_reserves", lambda c: f"={c.closing('reserves')}"),
        *(_kpi(k, formula) for k, formula in SPV_KPIS.items() if k != "income"),
    ]
    if "job_start" in stages:
        out.append(_kpi("cost_per_job_start", _ratio(lambda c: c.total_of("income"), "job_start")))
    return [k for k in out if k.column in result.results.summary]


def write_outputs(wb: Workbook, st: Styles, result: RunOutput, sheets: list[CalcSheet]) -> None:
    """Outputs: KPIs by case (formulas over the Calc sheets where they exist) and charts."""
    ws = wb.add_worksheet("Outputs")
    ws.write_string(0, 0, f"Outputs: {result.scenario.base.name}", st.title)
    master_check(ws, st, st.ok_all)
    headers = ["Measure", *[s.case for s in sheets]]
    kpis = _kpis(result)
    for r, kpi in enumerate(kpis, start=HEADER_ROW + 1):
        ws.write_string(r, 0, kpi.label)
        for j, sheet in enumerate(sheets, start=1):
            value = float(result.results.summary[kpi.column][j - 1])
            if kpi.formula is not None:
                cached: float | str = value if math.isfinite(value) else "–"
                ws.write_formula(r, j, kpi.formula(sheet), st.fmt(kpi.kind, "calc"), cached)
            elif math.isfinite(value):
                ws.write_number(r, j, value, st.fmt(kpi.kind, "import"))
            else:
                ws.write_string(r, j, "–", st.fmt("text", "import"))
    last = HEADER_ROW + len(kpis)
    add_table(ws, last, headers, "Outputs", st)
    ws.set_column(0, 0, 32)
    ws.set_column(1, len(sheets), 15)
    finish_sheet(ws, HEADER_ROW)
    at = last + 3
    for title, key in (("Provider reserves", "reserves"), ("SPV cash", "cash")):
        chart = wb.add_chart({"type": "line"})
        for sheet in sheets:
            chart.add_series(
                {
                    "name": sheet.case,
                    "categories": sheet.range("month"),
                    "values": sheet.range(key),
                }
            )
        chart.set_title({"name": f"{title} by month [{result.scenario.base.contract.currency}]"})
        chart.set_x_axis({"name": "Contract month", "interval_unit": 6})
        chart.set_y_axis(
            {"num_format": st.fmt("money").num_format, "major_gridlines": {"visible": True}}
        )
        chart.set_size({"width": 720, "height": 320})
        ws.insert_chart(at, 0, chart)
        at += 17


def _row(kpis: list[Kpi], column: str) -> int:
    return next(i for i, k in enumerate(kpis) if k.column == column)


def frame_sheet(
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


def write_portfolio_cover(wb: Workbook, st: Styles, run: RunOutput, contents: list[str]) -> None:
    ws = wb.add_worksheet("Cover")
    pf = run.pf
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


def write_portfolio_outputs(
    wb: Workbook,
    st: Styles,
    run: RunOutput,
    summary: pd.DataFrame,
    formulas: dict[str, list[str]],
) -> None:
    """Outputs: the portfolio's KPIs by case, live formulas (``formulas``: a measure's
    formula per case) where they exist, else the engine's figures."""
    ws = wb.add_worksheet("Outputs")
    ws.write_string(0, 0, f"Outputs: {run.pf.name}", st.title)
    master_check(ws, st, st.ok_all)
    names = ["income", *PORTFOLIO_KPIS]
    measures = [(METRICS[n].label, n, METRICS[n].unit) for n in names]
    measures = [m for m in measures if m[1] in summary.columns]
    for r, (label, column, kind) in enumerate(measures, start=HEADER_ROW + 1):
        ws.write_string(r, 0, label)
        for j, value in enumerate(summary[column].tolist(), start=1):
            ok = value is not pd.NA and not (isinstance(value, float) and math.isnan(value))
            if column in formulas:
                cached = float(value) if ok else "–"
                ws.write_formula(r, j, formulas[column][j - 1], st.fmt(kind, "calc"), cached)
            elif ok:
                ws.write_number(r, j, float(value), st.fmt(kind, "import"))
            else:
                ws.write_string(r, j, "–", st.fmt("text", "import"))
    add_table(ws, HEADER_ROW + len(measures), ["Measure", *run.cases], "Outputs", st)
    ws.set_column(0, 0, 32)
    ws.set_column(1, len(run.cases), 15)
    finish_sheet(ws, HEADER_ROW)
