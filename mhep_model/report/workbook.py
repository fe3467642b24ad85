"""``results.xlsx`` of ``run``: a model workbook laid out as analysts expect (FAST Standard,
ICAEW Financial Modelling Code), not a dump of the CSVs.

A portfolio's: Cover, Outputs (its KPIs by case), Timeline, one SPV sheet per case (each
contract's income an import, the SPV's their sum; the consolidated block, outcome pay and
advances; the corkscrews and the investor's cash flow as formulas over portfolio months),
Contracts (a row per case and contract), a sheet of months per contract, Assumptions,
Checks. A scenario's, in the order money is reasoned about: Cover (contents, style key, the master
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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter

from mhep_model.engine.portfolio import shift
from mhep_model.report.excel import column_kinds, portfolio_assumptions, sheet_name
from mhep_model.report.frames import stage_union
from mhep_model.report.workbook_calc import (
    Column,
    clean,
    layout,
    opening_cell,
    spv_columns,
    write_calc,
)
from mhep_model.report.workbook_checks import (
    checks_pass,
    portfolio_checks,
    run_checks,
    write_checks,
    write_variance,
)
from mhep_model.report.workbook_layout import (
    FIRST_ROW,
    Styles,
    payer_names,
)
from mhep_model.report.workbook_sheets import (
    frame_sheet,
    input_cells,
    write_amendments,
    write_cover,
    write_inputs,
    write_outputs,
    write_portfolio_cover,
    write_portfolio_outputs,
    write_timeline,
)
from mhep_model.report.writers import RESIDUE, atomic_path
from mhep_model.scenario.notes import file_notes
from mhep_model.studies.run import RunOutput
from mhep_model.studies.summary import external_payers


def _calc_columns(result: RunOutput, i: int, anchors: dict[str, str]) -> list[Column]:
    """The columns of case row ``i``: imports and the identities over them."""
    res, inp = result.results, result.inputs
    h = int(inp.horizon[i])
    pay, prov, spv = res.payments, res.provider, res.spv

    def v(a: np.ndarray) -> np.ndarray:
        return clean(np.asarray(a[i, :h], dtype=float))

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
    v3 = inp.uses_v3
    if v3:
        cols += _v3_columns(res, v)
    reserves_prev = prev("reserves", anchors["opening_reserves"])
    # v3: reserves are cash: less the change in what the SPV still owes the provider
    held = _change("arrears") if v3 else None
    cols.append(
        Column(
            "reserves",
            "Provider reserves",
            "money",
            v(prov.reserves),
            lambda r, c: (
                f"={reserves_prev(r, c)}+{c['revenue']}{r}-{c['costs']}{r}"
                f"+{c['advance']}{r}-{c['advance_repaid']}{r}"
                + (f"-{held(r, c)}" if held is not None else "")
            ),
            flow=False,
        )
    )
    return cols + spv_columns(v, spv, anchors, v3)


def _change(key: str) -> Callable[[int, dict[str, str]], str]:
    """A balance column's change over the month, as a formula term: ``(X6-X5)``."""
    return lambda r, c: f"{c[key]}{r}" if r == FIRST_ROW + 1 else f"({c[key]}{r}-{c[key]}{r - 1})"


def _v3_columns(res: Any, v: Callable[[np.ndarray], np.ndarray]) -> list[Column]:
    """v3 flows of a scenario's Calc sheet, imports from the engine: the opening caseload,
    grants, replaced and rejected dues, invoices, the service stop and provider arrears."""
    from mhep_model.report.frames import v3_monthly

    flows = v3_monthly(res)
    return [
        Column("opening", "Opening caseload", "people", v(flows["opening"])),
        Column("grants", "Grants owed", "money", v(flows["grants"])),
        Column("replaced", "Outcome dues replaced by grants", "money", v(flows["replaced"])),
        Column("rejected", "Rejected at evidence check", "money", v(flows["rejected"])),
        Column("invoiced", "Invoiced", "money", v(flows["invoiced"])),
        Column("stopped", "Service stopped (1)", "int", v(flows["stopped"])),
        Column(
            "arrears",
            "Provider arrears (owed, end of month)",
            "money",
            v(flows["provider_arrears"]),
            flow=False,
        ),
    ]


def write_run_workbook(path: Path, result: RunOutput, frames: Mapping[str, pd.DataFrame]) -> Path:
    """Write the model workbook of a run to ``path`` (atomically) and return it: a
    scenario's Calc sheet per case, or a portfolio's SPV sheet per case with its contracts'
    months (``frames``: the run's CSVs)."""
    if result.portfolio is not None:
        return _write_portfolio_workbook(result, frames, path)
    base = result.scenario.base
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
        write_inputs(wb, st, result, table, file_notes(result.scenario.doc))
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


def _portfolio_columns(run: RunOutput, i: int, anchors: dict[str, str]) -> list[Column]:
    res = run.model_results
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
    return cols + spv_columns(v, res.spv, anchors, res.inputs.uses_v3)


def _write_portfolio_workbook(
    run: RunOutput, frames: Mapping[str, pd.DataFrame], path: Path
) -> Path:
    """Write a portfolio run's model workbook to ``path`` (atomically) and return it."""
    currency = run.pf.contracts[0].resolved.base.contract.currency
    wf = run.model_results.inputs.waterfall
    anchors = {"opening_cash": opening_cell(0), "equity_share": opening_cell(1)}
    calcs = []
    for i, case in enumerate(run.cases):
        cols = _portfolio_columns(run, i, anchors)
        name = f"SPV {case}" if len(f"SPV {case}") <= 31 and case.isidentifier() else f"SPV {i + 1}"
        openings = [
            ("Opening SPV cash", float(wf.opening_cash[i]), "money"),
            ("Investor equity share", float(wf.equity_share[i]), "percent"),
        ]
        calcs.append((layout(name, case, cols), cols, run.starts[i], openings))
    sheets = [c[0] for c in calcs]
    checks = portfolio_checks(run, sheets)
    stages = stage_union(run.model_results)
    contracts = frames["contracts_summary.csv"]
    by_contract = frames["contracts_monthly.csv"]
    used = {"Cover", "Outputs", "Timeline", "Contracts", "Assumptions", "Checks"}
    used |= {s.name for s in sheets}
    names = [sheet_name(c.name, used) for c in run.pf.contracts]
    contents = ["Outputs", "Timeline", *[s.name for s in sheets], "Contracts", *names]
    contents += ["Assumptions", "Checks"]
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False})
        st = Styles(wb, currency, ok_all=checks_pass(checks))
        write_portfolio_cover(wb, st, run, contents)
        write_portfolio_outputs(wb, st, run, frames["portfolio_summary.csv"])
        starts = list(dict.fromkeys(run.starts))
        date_cols = write_timeline(wb, st, starts, int(np.max(wf.horizon)))
        for number, (sheet, cols, start, openings) in enumerate(calcs, start=1):
            dates = (date_cols[start], start)
            write_calc(wb, st, sheet, cols, dates, run.pf.name, number, openings)
        kinds = column_kinds(list(contracts.columns), stages)
        frame_sheet(wb, st, "Contracts", "Contracts: a row per case and contract", contracts, kinds)
        for contract, name in zip(run.pf.contracts, names, strict=True):
            rows = by_contract[by_contract["contract"] == contract.name].drop(columns="contract")
            kinds = column_kinds(list(rows.columns), stages)
            frame_sheet(wb, st, name, f"{contract.name}: months", rows, kinds)
        assumptions = portfolio_assumptions(run.pf)
        kinds = {str(c): ("text" if c == "path" else "number") for c in assumptions.columns}
        frame_sheet(wb, st, "Assumptions", "Assumptions", assumptions, kinds)
        write_checks(wb, st, checks)
        wb.close()
    return path
