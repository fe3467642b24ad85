"""The Calc sheets of the model workbook: a column per flow (an import, or a live formula
with the engine's value cached), months down the rows, one Excel Table per sheet; the SPV's
cash and loan corkscrews and the investor's cash flow as formulas (a contract's SPV or a
portfolio's)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook

from mhep_model.report.workbook_formulas import Column, Sheet
from mhep_model.report.workbook_layout import (
    FIRST_ROW,
    HEADER_ROW,
    CalcSheet,
    Styles,
    excel_serial,
    finish_sheet,
    master_check,
)
from mhep_model.report.writers import RESIDUE


def opening_cell(k: int) -> str:
    """Address of the ``k``-th opening input on a Calc sheet (row 3)."""
    return f"${xl_col_to_name(4 + 3 * k)}$3"


def layout(name: str, case: str, sh: Sheet) -> CalcSheet:
    """Where a case's Calc sheet puts each column and its last and total rows."""
    letters = {"month": "A", "period": "B"}
    letters |= {c.key: xl_col_to_name(j + 2) for j, c in enumerate(sh.cols)}
    last = FIRST_ROW + sh.months
    headers = {c.key: c.header for c in sh.cols}
    return CalcSheet(name, case, letters, last, last + 1, dict(sh.v), headers, sh.refs, sh.limits)


def distinct(headers: list[str]) -> list[str]:
    """Table headers made distinct ignoring case, as Excel requires (names are data)."""
    seen: set[str] = set()
    out = []
    for header in headers:
        name, n = header, 2
        while name.lower() in seen:
            name, n = f"{header} ({n})", n + 1
        seen.add(name.lower())
        out.append(name)
    return out


def write_calc(
    wb: Workbook,
    st: Styles,
    sheet: CalcSheet,
    cols: list[Column],
    dates: tuple[str, str],
    title: str,
    number: int,
    openings: Sequence[tuple[str, float, str]] = (),
) -> None:
    """A case's Calc sheet: month and period linked to the Timeline (``dates`` = its column
    letter and the start month), then the columns, a total row and an Excel Table; the
    ``openings`` (label, value, kind) are figures derived by the engine in row 3, at
    :func:`opening_cell`."""
    ws = wb.add_worksheet(sheet.name)
    master_check(ws, st, st.ok_all)
    for k, (label, value, kind) in enumerate(openings):
        ws.write_string(2, 2 + 3 * k, label, st.label)
        ws.write_number(2, 4 + 3 * k, value, st.fmt(kind, "import"))
    letters, last, total = sheet.letters, sheet.last, sheet.total
    ws.write_string(0, 0, f"{title}: {sheet.case} case, monthly calculations", st.title)
    for j, col in enumerate(cols, start=2):
        values = np.where(np.abs(col.values) < RESIDUE, 0.0, col.values)
        for t, value in enumerate(values.tolist()):
            r = FIRST_ROW + 1 + t  # 1-based row of month t + 1
            if col.formula is None:
                ws.write_number(r - 1, j, value, st.fmt(col.kind, "import"))
            else:
                ws.write_formula(r - 1, j, col.formula(r, letters), st.fmt(col.kind, "calc"), value)
        if col.flow:
            letter = letters[col.key]
            ws.write_formula(
                total - 1,
                j,
                f"=SUM({letter}{FIRST_ROW + 1}:{letter}{last})",
                st.fmt(col.kind, "total"),
                float(np.sum(col.values)),
            )
    letter, start = dates
    year, month = (int(x) for x in start.split("-"))
    for t in range(last - FIRST_ROW):
        r = FIRST_ROW + 1 + t
        serial = excel_serial((year * 12 + month - 1 + t) // 12, (month - 1 + t) % 12 + 1)
        ws.write_formula(r - 1, 0, f"=Timeline!$A{r}", st.fmt("month", "calc"), t + 1)
        ws.write_formula(r - 1, 1, f"=Timeline!${letter}{r}", st.fmt("date", "calc"), serial)
    ws.write_string(total - 1, 0, "Total", st.total_label)
    headers = distinct(["Month", "Period"] + [c.header for c in cols])
    ws.add_table(
        HEADER_ROW,
        0,
        last - 1,
        len(headers) - 1,
        {
            "name": f"Calc_{number}",
            "style": "Table Style Light 1",
            "columns": [{"header": hd, "header_format": st.header} for hd in headers],
        },
    )
    ws.set_column(0, 0, 12)  # wide enough for "Model check"
    ws.set_column(1, 1, 10)
    ws.set_row(HEADER_ROW, 62)  # headers wrap to four lines
    ws.set_column(2, len(headers) - 1, 14)
    finish_sheet(ws, HEADER_ROW, landscape=True, wide=True)
