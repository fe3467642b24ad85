"""The Calc sheets of the model workbook: a column per flow (an import, or a live formula
with the engine's value cached), months down the rows, one Excel Table per sheet; the SPV's
cash and loan corkscrews and the investor's cash flow as formulas (a contract's SPV or a
portfolio's)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook

from mhep_model.engine.spv import SpvFlows
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


@dataclass(frozen=True)
class Column:
    """One column of a Calc sheet: an import (``formula`` None) or a live formula.

    ``values`` are the engine's monthly figures, written as the import or cached as the
    formula's result; ``formula(row, letters)`` gives the formula of a 1-based Excel row.
    """

    key: str
    header: str
    kind: str
    values: np.ndarray
    formula: Callable[[int, dict[str, str]], str] | None = None
    flow: bool = True
    """Summed in the total row (balances are not)."""


def clean(values: np.ndarray) -> np.ndarray:
    return np.where(np.abs(values) < RESIDUE, 0.0, values)


def spv_columns(
    v: Callable[[np.ndarray], np.ndarray],
    spv: SpvFlows,
    anchors: dict[str, str],
    v3: bool = False,
) -> list[Column]:
    """The SPV's side of a Calc sheet (after columns ``income``, ``block``,
    ``outcome_pay``, ``advance`` and ``advance_repaid``): the waterfall's flows as imports,
    the cash and loan corkscrews and the investor's cash flow as formulas."""

    def prev(key: str, opening: str) -> Callable[[int, dict[str, str]], str]:
        return lambda r, c: opening if r == FIRST_ROW + 1 else f"{c[key]}{r - 1}"

    cols: list[Column] = []
    cols += [
        Column("fee", "Management fee", "money", v(spv.management_fee)),
        Column("drawdown", "Drawdown", "money", v(spv.drawdown)),
        Column("interest", "Interest paid", "money", v(spv.interest_paid)),
        Column("principal", "Principal repaid", "money", v(spv.principal_repaid)),
        Column("distribution", "Equity distribution", "money", v(spv.equity_distribution)),
    ]
    if v3:  # v3: the intermediary's fee and interest that joined the loan
        zero = np.zeros_like(spv.drawdown)
        fee = spv.performance_fee if spv.performance_fee is not None else zero
        capitalised = spv.interest_capitalised if spv.interest_capitalised is not None else zero
        cols += [
            Column("performance_fee", "Performance fee", "money", v(fee)),
            Column("capitalised", "Interest capitalised", "money", v(capitalised)),
        ]
    cash_prev = prev("cash", anchors["opening_cash"])
    loan_prev = prev("loan", "0")
    cols += [
        Column(
            "cash",
            "SPV cash",
            "money",
            v(spv.cash),
            lambda r, c: (
                f"={cash_prev(r, c)}+{c['income']}{r}-{c['block']}{r}"
                f"-{c['outcome_pay']}{r}-{c['advance']}{r}+{c['advance_repaid']}{r}"
                f"-{c['fee']}{r}+{c['drawdown']}{r}-{c['interest']}{r}-{c['principal']}{r}"
                f"-{c['distribution']}{r}"
                + (f"-{c['performance_fee']}{r}" if v3 else "")
                # v3: what the SPV still owes the provider stays in its cash
                + (_arrears_change(r, c) if "arrears" in c else "")
            ),
            flow=False,
        ),
        Column(
            "loan",
            "Loan principal",
            "money",
            v(spv.loan_principal),
            lambda r, c: (
                f"={loan_prev(r, c)}+{c['drawdown']}{r}*(1-{anchors['equity_share']})"
                f"-{c['principal']}{r}" + (f"+{c['capitalised']}{r}" if v3 else "")
            ),
            flow=False,
        ),
        Column(
            "investor",
            "Investor cash flow",
            "money",
            v(spv.investor_cashflow),
            lambda r, c: (
                f"=-{c['drawdown']}{r}+{c['interest']}{r}+{c['principal']}{r}"
                f"+{c['distribution']}{r}"
            ),
        ),
        Column("gap", "Funding gap", "money", v(spv.funding_gap), flow=False),
    ]
    return cols


def _arrears_change(r: int, c: dict[str, str]) -> str:
    """``+(arrears this month - last month)``: a term of the SPV's cash (v3)."""
    now = f"{c['arrears']}{r}"
    return f"+{now}" if r == FIRST_ROW + 1 else f"+({now}-{c['arrears']}{r - 1})"


def opening_cell(k: int) -> str:
    """Address of the ``k``-th opening input on a Calc sheet (row 3)."""
    return f"${xl_col_to_name(4 + 3 * k)}$3"


def layout(name: str, case: str, cols: list[Column]) -> CalcSheet:
    """Where a case's Calc sheet puts each column and its last and total rows."""
    letters = {"month": "A", "period": "B"}
    letters |= {c.key: xl_col_to_name(j + 2) for j, c in enumerate(cols)}
    last = FIRST_ROW + len(cols[0].values)
    return CalcSheet(name, case, letters, last, last + 1, {c.key: c.values for c in cols})


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
    ``openings`` (label, value, kind) are input cells in row 3, at :func:`opening_cell`."""
    ws = wb.add_worksheet(sheet.name)
    master_check(ws, st, st.ok_all)
    for k, (label, value, kind) in enumerate(openings):
        ws.write_string(2, 2 + 3 * k, label, st.label)
        ws.write_number(2, 4 + 3 * k, value, st.fmt(kind, "input"))
    letters, last, total = sheet.letters, sheet.last, sheet.total
    ws.write_string(0, 0, f"{title}: {sheet.case} case, monthly calculations", st.title)
    for j, col in enumerate(cols, start=2):
        for t, value in enumerate(col.values.tolist()):
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
    headers = ["Month", "Period"] + [c.header for c in cols]
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
    ws.set_column(0, 0, 7)
    ws.set_column(1, 1, 10)
    ws.set_column(2, len(headers) - 1, 14)
    finish_sheet(ws, HEADER_ROW, landscape=True)
