"""``results.xlsx`` of ``run``: a model workbook laid out as analysts expect (FAST Standard,
ICAEW Financial Modelling Code), not a dump of the CSVs.

Sheets, in the order money is reasoned about: Cover (contents, style key, the master
check), Inputs (every assumption with its unit and the source note written beside it in the
YAML), Amendments, Timeline (one monthly timeline, dates as Excel dates), one Calc sheet per
case, Outputs (KPIs by case and native charts), Checks (numbered checks, a master check
shown at the top of every sheet), Variance when actuals were given.

On a Calc sheet the engine's monthly flows (people, payments, drawdowns: what the funnel,
caps and waterfall decide) are imports, styled as such; the identities over them are live
formulas with the engine's values cached: income as the sum of payers, provider revenue,
the provider reserves, SPV cash and loan corkscrews, and the investor's cash flow. Change an
imported flow and the balances follow; the Checks sheet compares the formulas' results with
the engine's totals. Months run down the rows so that each Calc sheet is one Excel Table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook

from mhep_model.engine.spv import SpvFlows
from mhep_model.report.workbook_checks import (
    checks_pass,
    run_checks,
    write_checks,
    write_variance,
)
from mhep_model.report.workbook_layout import (
    FIRST_ROW,
    HEADER_ROW,
    CalcSheet,
    Styles,
    excel_serial,
    finish_sheet,
    master_check,
    payer_names,
)
from mhep_model.report.workbook_sheets import (
    input_cells,
    write_amendments,
    write_cover,
    write_inputs,
    write_outputs,
    write_timeline,
)
from mhep_model.report.writers import RESIDUE, atomic_path
from mhep_model.scenario.notes import file_notes
from mhep_model.studies.run import RunOutput
from mhep_model.studies.summary import external_payers


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


def _clean(values: np.ndarray) -> np.ndarray:
    return np.where(np.abs(values) < RESIDUE, 0.0, values)


def _calc_columns(result: RunOutput, i: int, anchors: dict[str, str]) -> list[Column]:
    """The columns of case row ``i``: imports and the identities over them."""
    res, inp = result.results, result.inputs
    h = int(inp.horizon[i])
    pay, prov, spv = res.payments, res.provider, res.spv

    def v(a: np.ndarray) -> np.ndarray:
        return _clean(np.asarray(a[i, :h], dtype=float))

    def prev(key: str, opening: str) -> Callable[[int, dict[str, str]], str]:
        return lambda r, c: opening if r == FIRST_ROW + 1 else f"{c[key]}{r - 1}"

    cols = [Column("referrals", "Referrals", "people", v(res.referrals))]
    cols += [
        Column(s.name, s.name.replace("_", " ").capitalize(), "people", v(f.sum(axis=1)))
        for s, f in zip(inp.stages, res.stages, strict=True)
    ]
    payers = [p for p in external_payers(res) if not inp.payer_self[i, p]]
    shown = payer_names(result)
    paid = [f"paid_{p}" for p in payers]
    cols += [Column(f"paid_{p}", f"Paid by {shown[p]}", "money", v(pay.paid[:, p])) for p in payers]
    cols += [
        Column(
            "income",
            "Income",
            "money",
            v(pay.income),
            lambda r, c: "=" + ("+".join(f"{c[k]}{r}" for k in paid) or "0"),
        ),
        Column("self_funded", "Self-funded", "money", v(pay.self_funded)),
        Column("block", "Block", "money", v(prov.block)),
        Column("outcome_pay", "Provider outcome payments", "money", v(prov.outcome_payments)),
        Column(
            "revenue",
            "Provider revenue",
            "money",
            v(prov.revenue),
            lambda r, c: f"={c['block']}{r}+{c['outcome_pay']}{r}",
        ),
        Column("costs", "Provider costs", "money", v(prov.costs)),
        Column("advance", "Advance", "money", v(prov.advance)),
        Column("advance_repaid", "Advance repaid", "money", v(prov.advance_repaid)),
    ]
    reserves_prev = prev("reserves", anchors["opening_reserves"])
    cols.append(
        Column(
            "reserves",
            "Provider reserves",
            "money",
            v(prov.reserves),
            lambda r, c: (
                f"={reserves_prev(r, c)}+{c['revenue']}{r}-{c['costs']}{r}"
                f"+{c['advance']}{r}-{c['advance_repaid']}{r}"
            ),
            flow=False,
        )
    )
    return cols + spv_columns(v, spv, anchors)


def spv_columns(
    v: Callable[[np.ndarray], np.ndarray], spv: SpvFlows, anchors: dict[str, str]
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
                f"-{c['principal']}{r}"
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


def write_run_workbook(path: Path, result: RunOutput) -> Path:
    """Write the model workbook of a run to ``path`` (atomically) and return it."""
    base = result.first.base
    table, cells = input_cells(result)
    calcs = []
    names: set[str] = set()
    for i, row in enumerate(result.rows):
        # Excel's sheet names: 31 characters, none of []:*?/\ (case names are data)
        name = f"Calc {row.case}"
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,26}", row.case) or name in names:
            name = f"Calc {i + 1}"
        names.add(name)
        anchors = {
            key: cells.get((path, row.case), "0")
            for key, path in (
                ("opening_reserves", "provider.opening_reserves"),
                ("opening_cash", "spv.opening_cash"),
                ("equity_share", "investor.equity_share"),
            )
        }
        cols = _calc_columns(result, i, anchors)
        calcs.append((layout(name, row.case, cols), cols, row.start))
    sheets = [c[0] for c in calcs]
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False})
        checks = run_checks(result, sheets)
        st = Styles(wb, base.contract.currency, ok_all=checks_pass(checks))
        write_cover(wb, st, result, [(s.name, s.case) for s in sheets], st.ok_all)
        write_inputs(wb, st, result, table, file_notes(result.first.doc))
        write_amendments(wb, st, result)
        starts = list(dict.fromkeys(r.start for r in result.rows))
        date_cols = write_timeline(wb, st, starts, int(np.max(result.inputs.horizon)))
        for number, (sheet, cols, start) in enumerate(calcs, start=1):
            write_calc(wb, st, sheet, cols, (date_cols[start], start), base.name, number)
        write_outputs(wb, st, result, sheets)
        write_checks(wb, st, checks)
        if result.variance:
            write_variance(wb, st, result)
        wb.close()
    return path
