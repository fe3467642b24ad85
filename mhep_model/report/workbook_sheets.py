"""The sheets of the model workbook around its Calc sheets: Cover, Inputs, Amendments,
Timeline, Outputs (KPIs and native charts), Checks and Variance."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook

from mhep_model import __version__
from mhep_model.metrics import METRICS, PORTFOLIO_KPIS, metric
from mhep_model.report.excel import assumption_rows
from mhep_model.report.prose import amendment_rows
from mhep_model.report.workbook_layout import (
    HEADER_ROW,
    CalcSheet,
    Styles,
    add_table,
    assumption_unit,
    excel_serial,
    finish_sheet,
    master_check,
    write_value,
)
from mhep_model.report.writers import RESIDUE
from mhep_model.scenario.model import inputs_as_written
from mhep_model.scenario.notes import note_for
from mhep_model.studies.run import RunOutput, sha256_of

_UNIT_KIND = {"£": "money", "share": "percent", "% a year": "percent", "months": "month"}


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


InputTable = dict[str, dict[str, Any]]


def input_cells(result: RunOutput) -> tuple[InputTable, dict[tuple[str, str], str]]:
    """The Inputs sheet's rows ({dotted path: {case: value}}) and the address of each
    numeric cell by (dotted path, case), for the Calc sheets' links."""
    table: InputTable = {}
    for case in result.scenario.cases:
        for path, value in assumption_rows(inputs_as_written(case.scenario)):
            table.setdefault(path, {})[case.name] = value
    cells: dict[tuple[str, str], str] = {}
    for r, (path, values) in enumerate(table.items(), start=HEADER_ROW + 1):
        for j, case in enumerate(result.scenario.cases, start=2):
            value = values.get(case.name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                cells[(path, case.name)] = f"Inputs!{xl_rowcol_to_cell(r, j, True, True)}"
    return table, cells


def write_inputs(
    wb: Workbook, st: Styles, result: RunOutput, table: InputTable, notes: dict[str, str]
) -> None:
    """Inputs: a row per assumption, a column per case, its unit and source note."""
    ws = wb.add_worksheet("Inputs")
    ws.write_string(0, 0, "Inputs: assumptions by case, before amendments", st.title)
    master_check(ws, st, st.ok_all)
    cases = [c.name for c in result.scenario.cases]
    headers = ["Input", "Unit", *cases, "Source (from the scenario file)"]
    for r, (path, values) in enumerate(table.items(), start=HEADER_ROW + 1):
        unit = assumption_unit(path)
        ws.write_string(r, 0, path)
        ws.write_string(r, 1, unit)
        number, text = st.fmt(_UNIT_KIND.get(unit, "rate"), "input"), st.fmt("text", "input")
        for j, case in enumerate(cases, start=2):
            write_value(ws, r, j, values.get(case), number, text)
        ws.write_string(r, len(cases) + 2, note_for(notes, path), st.wrap)
    add_table(ws, HEADER_ROW + len(table), headers, "Inputs", st)
    ws.set_column(0, 0, 38)
    ws.set_column(1, 1, 11)
    ws.set_column(2, len(cases) + 1, 14)
    ws.set_column(len(cases) + 2, len(cases) + 2, 90)
    finish_sheet(ws, HEADER_ROW, landscape=True)


def _flatten(path: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in _flatten(f"{path}.{k}", v)]
    return [(path, value)]


def write_amendments(wb: Workbook, st: Styles, result: RunOutput) -> None:
    """Amendments: each re-negotiated term, the month it takes effect, its new value."""
    ws = wb.add_worksheet("Amendments")
    ws.write_string(0, 0, "Amendments: re-negotiated terms (set = replaced, scale = ×)", st.title)
    master_check(ws, st, st.ok_all)
    headers = ["Month", "Period", "Note", "Input", "Change", "Value"]
    r = HEADER_ROW
    for month, date, note, path, how, value in amendment_rows(result.scenario):
        for leaf, v in _flatten(path, value):
            r += 1
            year, mon = (int(x) for x in date.split("-"))
            ws.write_number(r, 0, month, st.fmt("month", "input"))
            ws.write_number(r, 1, excel_serial(year, mon), st.fmt("date", "input"))
            ws.write_string(r, 2, note, st.wrap)
            ws.write_string(r, 3, leaf)
            ws.write_string(r, 4, how)
            write_value(ws, r, 5, v, st.fmt("rate", "input"), st.fmt("text", "input"))
    if r == HEADER_ROW:
        ws.write_string(HEADER_ROW + 1, 2, "No amendments: the terms hold for the whole contract")
    add_table(ws, r, headers, "Amendments", st)
    ws.set_column(0, 1, 10)
    ws.set_column(2, 2, 50)
    ws.set_column(3, 3, 38)
    ws.set_column(4, 5, 14)
    finish_sheet(ws, HEADER_ROW, landscape=True)


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


def _kpis(result: RunOutput) -> list[Kpi]:
    stages = [s.name for s in result.inputs.stages]

    def total(key: str) -> Any:
        return lambda c: f"={c.total_of(key)}"

    received = "{0}+{1}+{2}"
    out = [_kpi("referrals", total("referrals"))]
    out += [_kpi(s, total(s), stages) for s in stages]
    out += [
        _kpi("over_capacity"),
        _kpi("income", total("income")),
        _kpi("capped"),
        _kpi("self_funded", total("self_funded")),
        _kpi("provider_revenue", total("revenue")),
        _kpi("provider_costs", total("costs")),
        _kpi("provider_surplus", lambda c: f"={c.total_of('revenue')}-{c.total_of('costs')}"),
        _kpi(
            "outcome_linked_share",
            lambda c: (
                f"=IF({c.total_of('revenue')}>0,"
                f"{c.total_of('outcome_pay')}/{c.total_of('revenue')},0)"
            ),
        ),
        _kpi("provider_block", total("block")),
        _kpi("provider_outcome_payments", total("outcome_pay")),
        _kpi("provider_margin"),
        _kpi("provider_min_reserves", lambda c: f"=MIN({c.range('reserves')})"),
        _kpi("provider_insolvent_month"),
        _kpi("provider_closing_reserves", lambda c: f"={c.closing('reserves')}"),
        _kpi("management_fee", total("fee")),
        _kpi("investor_drawn", total("drawdown")),
        _kpi(
            "investor_received",
            lambda c: (
                "="
                + received.format(
                    *(c.total_of(k) for k in ("interest", "principal", "distribution"))
                )
            ),
        ),
        _kpi("investor_multiple"),
        _kpi("investor_irr"),
        _kpi("loan_loss"),
        _kpi("max_funding_gap", lambda c: f"=MAX({c.range('gap')})"),
        _kpi("cost_per_job_start"),
    ]
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
            if kpi.column == "investor_multiple" and math.isfinite(value):
                col = xl_col_to_name(j)
                drawn, got = (
                    HEADER_ROW + 2 + _row(kpis, k) for k in ("investor_drawn", "investor_received")
                )
                formula = f"=IF({col}{drawn}>0,{col}{got}/{col}{drawn},0)"
                ws.write_formula(r, j, formula, st.fmt(kpi.kind, "calc"), value)
            elif kpi.formula is not None and math.isfinite(value):
                ws.write_formula(r, j, kpi.formula(sheet), st.fmt(kpi.kind, "calc"), value)
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
    wb: Workbook, st: Styles, run: RunOutput, summary: pd.DataFrame
) -> None:
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
            if ok:
                ws.write_number(r, j, float(value), st.fmt(kind, "import"))
            else:
                ws.write_string(r, j, "–", st.fmt("text", "import"))
    add_table(ws, HEADER_ROW + len(measures), ["Measure", *run.cases], "Outputs", st)
    ws.set_column(0, 0, 32)
    ws.set_column(1, len(run.cases), 15)
    finish_sheet(ws, HEADER_ROW)
