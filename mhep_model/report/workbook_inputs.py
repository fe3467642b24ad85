"""The Inputs, Amendments and As run sheets' cells: every assumption by case, the amendments in
the order they apply, and the record of what the engine ran."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook

from mhep_model.report.excel import assumption_rows
from mhep_model.report.prose import amendment_rows
from mhep_model.report.workbook_layout import (
    HEADER_ROW,
    Styles,
    add_table,
    assumption_unit,
    excel_serial,
    finish_sheet,
    flat_value,
    master_check,
    write_value,
)
from mhep_model.report.workbook_terms import Amended, Cell
from mhep_model.scenario import Resolved
from mhep_model.scenario.model import inputs_as_written
from mhep_model.scenario.notes import note_for

InputTable = dict[str, dict[str, Any]]


def input_table(scenarios: Sequence[tuple[str, Any]], prefix: str = "") -> InputTable:
    """The Inputs sheet's rows, {dotted path: {case: value}}, of (case, scenario) pairs; a
    payer's ``window`` as two rows (``window.from``, ``window.to``) for the formulas."""
    table: InputTable = {}
    for case, scenario in scenarios:
        for path, value in assumption_rows(inputs_as_written(scenario)):
            if path.endswith(".window") and isinstance(value, list) and len(value) == 2:
                table.setdefault(f"{prefix}{path}.from", {})[case] = value[0]
                table.setdefault(f"{prefix}{path}.to", {})[case] = value[1]
            else:
                table.setdefault(f"{prefix}{path}", {})[case] = value
    return table


def input_cells(table: InputTable, cases: Sequence[str]) -> dict[tuple[str, str], Cell]:
    """The Inputs cell of each (dotted path, case): its address and value as run (NaN for
    text; yes/no as 1/0), for the Calc sheets' formulas."""
    cells: dict[tuple[str, str], Cell] = {}
    for r, (path, values) in enumerate(table.items(), start=HEADER_ROW + 1):
        for j, case in enumerate(cases, start=2):
            value = flat_value(values.get(case))
            if value is None:
                continue
            number = float(value) if isinstance(value, int | float) else math.nan
            cells[(path, case)] = Cell(f"Inputs!{xl_rowcol_to_cell(r, j, True, True)}", number)
    return cells


def write_inputs(
    wb: Workbook, st: Styles, cases: Sequence[str], table: InputTable, notes: dict[str, str]
) -> None:
    """Inputs: a row per assumption, a column per case, its unit and source note."""
    ws = wb.add_worksheet("Inputs")
    ws.write_string(0, 0, "Inputs: assumptions by case, before amendments", st.title)
    master_check(ws, st, st.ok_all)
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


Scenarios = Sequence[tuple[str, Resolved]]
"""(path prefix, scenario): a run's scenario (prefix ""), or a portfolio's contracts
(``contracts.<name>.``)."""


def _amendment_leaves(models: Scenarios) -> list[tuple[int, str, str, str, str, str, Any, int]]:
    """(month, date, note, path, leaf, how, value, group) of each row of the Amendments
    sheet, in the order the amendments apply (contract by contract)."""
    rows = []
    group = 0
    for prefix, resolved in models:
        for month, date, note, path, how, value in amendment_rows(resolved):
            for leaf, v in _flatten(prefix + path, value):
                rows.append((month, date, note, prefix + path, leaf, how, v, group))
            group += 1
    return rows


def amendment_cells(models: Scenarios) -> list[Amended]:
    """The Amendments sheet's cells, for the Calc sheets' terms in force."""
    out = []
    for r, (month, _, _, path, leaf, how, v, group) in enumerate(
        _amendment_leaves(models), start=HEADER_ROW + 1
    ):
        number = isinstance(v, int | float) and not isinstance(v, bool)
        at = Cell(f"Amendments!{xl_rowcol_to_cell(r, 0, True, True)}", float(month))
        value = (
            Cell(f"Amendments!{xl_rowcol_to_cell(r, 5, True, True)}", float(v)) if number else None
        )
        out.append(Amended(group, path, leaf, how, at, value))
    return out


def write_amendments(wb: Workbook, st: Styles, models: Scenarios) -> None:
    """Amendments: each re-negotiated term, the month it takes effect, its new value."""
    ws = wb.add_worksheet("Amendments")
    ws.write_string(0, 0, "Amendments: re-negotiated terms (set = replaced, scale = ×)", st.title)
    master_check(ws, st, st.ok_all)
    headers = ["Month", "Period", "Note", "Input", "Change", "Value"]
    r = HEADER_ROW
    for month, date, note, _, leaf, how, v, _ in _amendment_leaves(models):
        r += 1
        year, mon = (int(x) for x in date.split("-"))
        ws.write_number(r, 0, month, st.fmt("month", "input"))
        ws.write_formula(
            r, 1, f"=DATE({year},{mon},1)", st.fmt("date", "calc"), excel_serial(year, mon)
        )
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


def write_as_run(
    wb: Workbook, st: Styles, table: InputTable, cases: Sequence[str], amended: Sequence[Amended]
) -> str:
    """As run: a copy of every Inputs and Amendments cell as the engine ran it (imports),
    so that the Checks sheet can tell an edited workbook from the engine's; returns the
    formula counting the cells that differ."""
    ws = wb.add_worksheet("As run")
    ws.write_string(0, 0, "As run: the inputs the engine ran (a record: do not edit)", st.title)
    master_check(ws, st, st.ok_all)
    first, last_in = HEADER_ROW + 1, HEADER_ROW + max(len(table), 1)
    ws.write_string(HEADER_ROW, 0, "Inputs", st.header)
    for r, (path, values) in enumerate(table.items(), start=first):
        ws.write_string(r, 0, path)
        for j, case in enumerate(cases, start=2):
            write_value(ws, r, j, values.get(case), st.fmt("number", "import"), st.fmt("text"))
    left = xl_rowcol_to_cell(first, 2, True, True)
    right = xl_rowcol_to_cell(last_in, len(cases) + 1, True, True)
    parts = [f"SUMPRODUCT(--(Inputs!{left}:{right}<>'As run'!{left}:{right}))"]
    if amended:
        at = len(cases) + 3
        ws.write_string(HEADER_ROW, at, "Amendments: month, value", st.header)
        last_am = HEADER_ROW + len(amended)
        for r, a in enumerate(amended, start=first):
            ws.write_number(r, at, a.month.value, st.fmt("month", "import"))
            if a.value is not None:
                ws.write_number(r, at + 1, a.value.value, st.fmt("number", "import"))
        for src, dst in ((0, at), (5, at + 1)):
            top, end = (xl_rowcol_to_cell(first, j, True, True) for j in (src, dst))
            low, high = (xl_rowcol_to_cell(last_am, j, True, True) for j in (src, dst))
            mine, copy = f"{top}:{low}", f"{end}:{high}"
            parts.append(f"SUMPRODUCT(--(Amendments!{mine}<>'As run'!{copy}))")
    ws.set_column(0, 0, 38)
    ws.set_column(2, len(cases) + 4, 14)
    finish_sheet(ws, HEADER_ROW)
    return "=" + "+".join(parts)


_UNIT_KIND = {"£": "money", "share": "percent", "% a year": "percent", "months": "month"}
