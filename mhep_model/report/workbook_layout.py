"""Layout shared by the sheets of the model workbook: where tables start, the cell styles
of the FAST Standard (inputs, imports, calculations, totals, checks), number formats by
unit, print set-up, and the master check shown at the top of every sheet."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from mhep_model.scenario import Resolved

HEADER_ROW = 4
"""0-based row of every table's header (Excel row 5); rows 1-3 hold the title and check."""
FIRST_ROW = HEADER_ROW + 1
"""1-based Excel row of the header: data rows are ``FIRST_ROW + 1`` onwards."""
MASTER = "Checks!$C$3"
"""The master check: "OK" when every numbered check passes."""
TOLERANCE = 0.01
"""A check fails when the workbook and the engine differ by more than this [GBP]."""
_EPOCH = dt.date(1899, 12, 30)

_ROLES: dict[str, dict[str, Any]] = {
    # FAST: inputs stand out (yellow, blue text); imports from the engine are grey;
    # calculations plain black; totals bold above a rule
    "input": {
        "bg_color": "#FFF2CC",
        "font_color": "#1F3BB3",
        "border": 1,
        "border_color": "#BFBFBF",
    },
    "import": {"bg_color": "#EDEDED"},
    "calc": {},
    "total": {"bold": True, "top": 1},
}


def number_format(kind: str, currency: str) -> str:
    """Excel number format of a unit: money, percent, multiple, people, month, date."""
    # a currency text is data: quotes and backslashes would end the format's literal
    plain = currency.replace('"', "").replace("\\", "")
    symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(currency, f'"{plain} "')
    return {
        "money": f"{symbol}#,##0;-{symbol}#,##0;{symbol}0",
        "percent": "0.0%",
        "multiple": '0.00"x"',
        "people": "#,##0.0",
        "month": "0",
        "count": "0",
        "date": "mmm yyyy",
        "rate": "0.00",
        "int": "0",
        "number": "General",
        "text": "@",
    }.get(kind, "General")


@dataclass
class Styles:
    """The workbook's formats, made once each (Excel limits how many a file may hold)."""

    wb: Workbook
    currency: str
    ok_all: bool = True
    """Whether every check passes (the master check's cached value on each sheet)."""
    _cache: dict[tuple[str, str], Format] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.title = self.wb.add_format({"bold": True, "font_size": 14})
        self.header = self.wb.add_format(
            {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDE7F0"}
        )
        self.note = self.wb.add_format({"italic": True, "font_color": "#595959"})
        self.wrap = self.wb.add_format({"text_wrap": True, "valign": "top"})
        self.total_label = self.wb.add_format({"bold": True, "top": 1})
        self.ok = self.wb.add_format({"bold": True, "bg_color": "#C6EFCE", "font_color": "#006100"})
        self.bad = self.wb.add_format(
            {"bold": True, "bg_color": "#FFC7CE", "font_color": "#9C0006"}
        )
        self.label = self.wb.add_format({"bold": True})

    def fmt(self, kind: str, role: str = "calc") -> Format:
        """The format of a cell holding a ``kind`` of value in a ``role`` (FAST styles)."""
        key = (kind, role)
        if key not in self._cache:
            props = dict(_ROLES[role])
            props["num_format"] = number_format(kind, self.currency)
            if kind == "text":
                props |= {"text_wrap": True, "valign": "top"}
            self._cache[key] = self.wb.add_format(props)
        return self._cache[key]


@dataclass
class CalcSheet:
    """Where a case's Calc sheet put things, for the Checks and Outputs sheets."""

    name: str
    case: str
    letters: dict[str, str]
    last: int
    """1-based Excel row of the last month."""
    total: int
    """1-based Excel row of the totals."""
    values: dict[str, np.ndarray]
    """The engine's monthly values of each column."""
    headers: dict[str, str] = field(default_factory=dict)
    """Each column's header, by key."""
    refs: dict[str, str] = field(default_factory=dict)
    """Input cells the sheet's formulas read directly (terms that never change), by key."""
    limits: dict[str, float] = field(default_factory=dict)
    """The largest value of each term (a cap in force), by key."""

    def range(self, key: str) -> str:
        col = self.letters[key]
        return f"'{self.name}'!${col}${FIRST_ROW + 1}:${col}${self.last}"

    def cell(self, key: str, row: int) -> str:
        return f"'{self.name}'!${self.letters[key]}${row}"

    def closing(self, key: str) -> str:
        return self.cell(key, self.last)

    def total_of(self, key: str) -> str:
        return self.cell(key, self.total)


def excel_serial(year: int, month: int) -> float:
    """Excel's date serial of the 1st of a month."""
    return float((dt.date(year, month, 1) - _EPOCH).days)


def master_check(ws: Worksheet, st: Styles, ok: bool, row: int = 1) -> None:
    """ "Model check: OK" at the top left, linked to the Checks sheet's master check."""
    ws.write_string(row, 0, "Model check", st.label)
    ws.write_formula(row, 1, f"={MASTER}", st.ok if ok else st.bad, "OK" if ok else "ERROR")
    cell = f"B{row + 1}"
    ws.conditional_format(
        cell, {"type": "cell", "criteria": "==", "value": '"OK"', "format": st.ok}
    )
    ws.conditional_format(
        cell, {"type": "cell", "criteria": "!=", "value": '"OK"', "format": st.bad}
    )


def finish_sheet(
    ws: Worksheet, header_row: int, *, landscape: bool = False, wide: bool = False
) -> None:
    """Print set-up (fit to a page wide, headers repeated, footer) and frozen headers; a
    ``wide`` sheet (a Calc sheet's many columns) prints at 55% across pages instead, its
    month and period columns repeated on each."""
    ws.freeze_panes(header_row + 1, 2 if landscape else 1)
    if landscape:
        ws.set_landscape()
    ws.set_paper(9)  # A4
    if wide:
        ws.set_print_scale(55)
        ws.repeat_columns(0, 1)
    else:
        ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)
    ws.set_footer("&L&A&RPage &P of &N")
    ws.hide_gridlines(2)


def flat_value(value: Any) -> Any:
    """A YAML value as one cell: numbers and text as they are, lists joined by commas."""
    if isinstance(value, list | tuple):
        return ", ".join(str(flat_value(v)) for v in value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_value(ws: Worksheet, row: int, col: int, value: Any, fmt: Format, text: Format) -> None:
    """A value as a number, a boolean or text (never a formula: names are data)."""
    value = flat_value(value)
    if value is None:
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, text)
    elif isinstance(value, int | float | np.floating | np.integer):
        ws.write_number(row, col, float(value), fmt)
    else:
        ws.write_string(row, col, str(value), text)


def assumption_unit(path: str) -> str:
    """The unit of an input, by its dotted path (for the Inputs sheet's unit column)."""
    leaf = path.rsplit(".", 1)[-1]
    if leaf in ("name", "currency", "frequency", "from", "stage", "repayment", "start"):
        return "text" if leaf != "start" else "month"
    if leaf in ("self", "after_term", "back_to_back", "sweep"):
        return "yes/no"
    if ".paid_by." in path or ".split." in path or leaf in ("rate", "equity_share", "loan_rate"):
        return "share" if leaf != "loan_rate" else "% a year"
    if leaf in ("share_of_tariff", "tariff_factor", "scale", "level_cv", "monthly_cv"):
        return "factor"
    if "month" in leaf or leaf in ("lag", "window", "month"):
        return "months"
    if leaf in ("workers", "staff_fte"):
        return "people"
    if leaf in ("per_worker_per_year",):
        return "people/year"
    if leaf in ("capacity_per_fte", "capacity"):
        return "people/month"
    if leaf == "concentration":
        return "number"
    return "£" if not leaf.startswith("max_") else "people"


def add_table(ws: Worksheet, last_row: int, headers: Sequence[str], name: str, st: Styles) -> None:
    """An Excel Table from the header row to ``last_row`` (0-based), named ``name``."""
    ws.add_table(
        HEADER_ROW,
        0,
        max(last_row, HEADER_ROW + 1),
        len(headers) - 1,
        {
            "name": name,
            "style": "Table Style Light 1",
            "columns": [{"header": h, "header_format": st.header} for h in headers],
        },
    )


def payer_names(resolved: Resolved, keys: Sequence[str]) -> dict[int, str]:
    """Each payer's display name (its ``name:``, else its key) by payer index (``keys``:
    the engine's payer order); made distinct with the key where two share a name (Excel
    Table headers must differ)."""
    names = {}
    for p, key in enumerate(keys):
        payer = resolved.base.payers.get(key)
        names[p] = (payer.name if payer is not None else None) or key
    counts = list(names.values())
    return {p: n if counts.count(n) == 1 else f"{n} ({keys[p]})" for p, n in names.items()}
