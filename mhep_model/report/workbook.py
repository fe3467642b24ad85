"""``results.xlsx`` of ``run``: a model workbook laid out as analysts expect (FAST Standard,
ICAEW Financial Modelling Code), and a live model rather than a record.

In the order money is reasoned about: Cover (contents, style key, the master check), Inputs
(every assumption by case with its unit and the source note written beside it in the
YAML), Amendments, Timeline (one monthly timeline, dates as Excel dates), the Calc sheets,
Outputs (KPIs by case, formulas over the Calc sheets, native charts), As run (the inputs
the engine ran), Checks (numbered checks, a master check shown at the top of every sheet),
Variance when actuals were given.

A contract is a portfolio of one. Each contract has a Calc sheet per case (months down the
rows, one Excel Table): its funnel's eligible counts imported from the engine, every money
flow a formula over Inputs and Amendments (``workbook_contract``). A scenario's SPV
waterfall runs on the same sheet; a portfolio's on an SPV sheet per case that adds its
contracts up by portfolio month and applies the shared payers' caps (``workbook_calc``).
The formulas' cached values are the engine's; the Checks sheet compares them with the
engine until an input is edited, and keeps the integrity checks live.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

from mhep_model.report.excel import sheet_name
from mhep_model.report.frames import opening_by_month
from mhep_model.report.workbook_calc import layout, opening_cell, write_calc
from mhep_model.report.workbook_checks import (
    Check,
    checks_pass,
    provider_checks,
    spv_checks,
    write_checks,
    write_variance,
)
from mhep_model.report.workbook_contract import (
    Contract,
    Placed,
    outcome_dues,
    payer_payments,
    settlement,
)
from mhep_model.report.workbook_formulas import Formula, Sheet, first_below_zero
from mhep_model.report.workbook_inputs import (
    InputTable,
    Scenarios,
    amendment_cells,
    input_cells,
    input_table,
    write_amendments,
    write_as_run,
    write_inputs,
)
from mhep_model.report.workbook_layout import CalcSheet, Styles, payer_names
from mhep_model.report.workbook_provider import provider_columns
from mhep_model.report.workbook_sheets import (
    SPV_KPIS,
    write_cover,
    write_outputs,
    write_portfolio_cover,
    write_portfolio_outputs,
    write_timeline,
)
from mhep_model.report.workbook_spv import add_spv, shared_cap_checks, spv_refs, spv_sheet
from mhep_model.report.workbook_terms import Amended, Cell, Terms
from mhep_model.report.writers import atomic_path
from mhep_model.scenario.notes import file_notes
from mhep_model.studies.run import RunOutput
from mhep_model.studies.summary import external_payers

Calc = tuple[CalcSheet, Sheet, str, Sequence[tuple[str, float, str]], str]
Cells = dict[tuple[str, str], Cell]
Amendeds = list[Amended]
"""A Calc sheet to write: its layout, columns, start month, row-3 figures and title."""


def _inputs(result: RunOutput) -> tuple[InputTable, Scenarios]:
    """The Inputs sheet's rows (a portfolio's own keys, then each contract's under
    ``contracts.<name>.``) and the scenarios whose amendments apply."""
    cases = list(result.cases)
    pf = result.portfolio
    if pf is None:
        models: Scenarios = [("", result.scenario)]
        return input_table([(c.name, c.scenario) for c in result.scenario.cases]), models
    table = input_table([(c, pf.spec) for c in cases])
    for contract in pf.contracts:
        by_case = {case.name: case.scenario for case in contract.resolved.cases}
        prefix = f"contracts.{contract.name}."
        table |= input_table([(c, by_case[c]) for c in cases], prefix)
    return table, [(f"contracts.{c.name}.", c.resolved) for c in pf.contracts]


@dataclass
class _Plan:
    """The Calc sheets of a run as they are laid out, with their checks."""

    calcs: list[Calc] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    spvs: list[CalcSheet] = field(default_factory=list)
    """The sheets holding each case's SPV (a scenario's Calc sheet, a portfolio's SPV)."""
    used: set[str] = field(
        default_factory=lambda: (
            {"cover", "inputs", "amendments", "timeline", "outputs"} | {"checks", "as run"}
        )
    )


def _contract_calcs(
    result: RunOutput, i: int, cells: Cells, models: Scenarios, amended: Amendeds, plan: _Plan
) -> None:
    """Each contract's Calc sheet for case row ``i`` (a scenario's with its SPV)."""
    res, pf = result.model_results, result.portfolio
    case = result.cases[i]
    spv = Placed(sheet_name(f"SPV {case}", plan.used), {}) if pf is not None else None
    placed: list[tuple[CalcSheet, Sheet]] = []
    for k, (prefix, resolved) in enumerate(models):
        flows = res.contracts[k]
        terms = Terms(cells, amended, case, prefix)
        labels = payer_names(resolved, flows.inputs.payer_names)
        sh = contract_sheet(result, i, k, terms, labels, spv)
        start = next(c.scenario.contract.start for c in resolved.cases if c.name == case)
        if pf is None:  # a contract on its own: its SPV on the same sheet
            n = terms.ref("contract.term_months", float(flows.inputs.term[i]))
            refs = spv_refs(terms, n, f"({n}+{terms.ref('contract.tail_months', 0)})")
            fee = np.asarray(flows.inputs.management_fee_annual[i, : sh.months])
            add_spv(sh, result, i, refs, terms, fee)
            name, title = _calc_name(case, i, plan.used), resolved.base.name
        else:
            name, title = sheet_name(f"{flows.name} {case}", plan.used), f"{pf.name}: {flows.name}"
        calc = layout(name, case, sh)
        placed.append((calc, sh))
        plan.calcs.append((calc, sh, start, (), title))
        plan.checks += provider_checks(calc, flows.summary, i)
        if pf is None:
            plan.checks += spv_checks(calc, res.spv, i, res.summary, "sum of payers")
            plan.spvs.append(calc)
    if spv is not None:
        _spv_calc(result, i, Terms(cells, amended, case), placed, spv, plan)


def _spv_calc(
    result: RunOutput,
    i: int,
    own: Terms,
    placed: list[tuple[CalcSheet, Sheet]],
    spv: Placed,
    plan: _Plan,
) -> None:
    """A portfolio's SPV sheet for case row ``i``; its letters are filled in for the
    contract sheets' formulas that read it."""
    res = result.model_results
    refs = spv_refs(own, opening_cell(0), opening_cell(1))
    sh = spv_sheet(result, i, placed, refs, own)
    calc = layout(spv.name, own.case, sh)
    spv.letters.update(calc.letters)
    derived: Sequence[tuple[str, float, str]] = [
        ("Portfolio term N (months, from the contracts)", float(res.inputs.term[i]), "month"),
        ("Portfolio horizon H (months)", float(res.inputs.waterfall.horizon[i]), "month"),
    ]
    plan.calcs.append((calc, sh, result.starts[i], derived, result.pf.name))
    plan.checks += spv_checks(calc, res.spv, i, res.summary, "sum of contracts")
    plan.checks += shared_cap_checks(calc)
    plan.spvs.append(calc)


def write_run_workbook(path: Path, result: RunOutput, frames: Mapping[str, pd.DataFrame]) -> Path:
    """Write the model workbook of a run to ``path`` (atomically) and return it (``frames``:
    the run's CSVs)."""
    pf = result.portfolio
    cases = list(result.cases)
    table, models = _inputs(result)
    cells, amended = input_cells(table, cases), amendment_cells(models)
    plan = _Plan()
    for i in range(len(cases)):
        _contract_calcs(result, i, cells, models, amended, plan)
    calcs, checks, spvs = plan.calcs, plan.checks, plan.spvs
    starts = [c[2] for c in calcs]
    with atomic_path(path) as tmp:
        # xlsxwriter's temporary parts go beside the file (the staging folder, cleared by
        # the next run), not the system's temp folder, where a killed run would leave them
        options = {"strings_to_formulas": False, "strings_to_urls": False}
        wb = xlsxwriter.Workbook(str(tmp), options | {"tmpdir": str(tmp.parent)})
        first = pf.contracts[0].resolved if pf is not None else result.scenario
        st = Styles(wb, first.base.contract.currency, ok_all=checks_pass(checks))
        if pf is None:
            write_cover(wb, st, result, [(s.name, s.case) for s in spvs], st.ok_all)
        else:
            contents = ["Inputs", "Amendments", "Timeline", *[c[0].name for c in calcs]]
            write_portfolio_cover(wb, st, result, [*contents, "Outputs", "As run", "Checks"])
        write_inputs(wb, st, cases, table, file_notes((pf or result.scenario).doc))
        write_amendments(wb, st, models)
        order = list(dict.fromkeys(starts))
        date_cols = write_timeline(wb, st, order, max(c[1].months for c in calcs))
        for number, (calc, sh, start, row3, title) in enumerate(calcs, start=1):
            write_calc(wb, st, calc, sh.cols, (date_cols[start], start), title, number, row3)
        if pf is None:
            write_outputs(wb, st, result, spvs)
        else:
            kpis = _portfolio_kpis(result, calcs, spvs)
            write_portfolio_outputs(wb, st, result, frames["portfolio_summary.csv"], kpis)
        compared = write_as_run(wb, st, table, cases, amended)
        write_checks(wb, st, checks, compared)
        if result.variance:
            write_variance(wb, st, result)
        wb.close()
    return path


def _calc_name(case: str, i: int, used: set[str]) -> str:
    """``Calc <case>`` when the case name makes a sheet name, else ``Calc <n>``."""
    name = f"Calc {case}"
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,26}", case) or name.lower() in used:
        name = f"Calc {i + 1}"
    used.add(name.lower())
    return name


def _portfolio_kpis(
    result: RunOutput, calcs: list[Calc], spvs: list[CalcSheet]
) -> dict[str, list[str]]:
    """A portfolio's Outputs formulas by measure, one per case (its SPV sheet's)."""
    formulas = {key: [formula(c) for c in spvs] for key, formula in SPV_KPIS.items()}
    for s, key in enumerate(result.model_results.inputs.shared):
        formulas[f"paid_{key}"] = [f"={c.total_of(f'spaid_{s}')}" for c in spvs]
    contracts = [c[0] for c in calcs if c[0] not in spvs]
    formulas["providers_insolvent"] = [
        "=" + "+".join(f"(MIN({c.range('reserves')})<0)*1" for c in contracts if c.case == s.case)
        for s in spvs
    ]
    return formulas


def contract_sheet(
    result: RunOutput, i: int, k: int, terms: Terms, labels: dict[int, str], spv: Placed | None
) -> Sheet:
    """Contract ``k``'s Calc sheet for case row ``i``: the funnel's counts imported, the
    money as formulas over Inputs and Amendments. In a portfolio (``spv`` the case's SPV
    sheet) a shared payer pays the SPV sheet's month payment in proportion to invoices."""
    flows = result.model_results.contracts[k]
    inp = flows.inputs
    h = int(inp.horizon[i])
    sh = Sheet(h)

    def e(a: np.ndarray) -> np.ndarray:
        return np.asarray(a[i, :h], dtype=float)

    sh.add("referrals", "Referrals (import)", "people", e(flows.referrals))
    for s, f in zip(inp.stages, flows.stages, strict=True):
        header = f"{s.name.replace('_', ' ').capitalize()} (import)"
        sh.add(s.name, header, "people", e(f.sum(axis=1)))
    if inp.uses_v3:
        sh.add("opening", "Opening caseload (import)", "people", e(opening_by_month(inp)))
    stopped = e(inp.stopped().astype(float)) if inp.service_end is not None else None
    external = [p for p in external_payers(inp) if not inp.payer_self[i, p]]
    shared_keys = result.model_results.inputs.shared
    shared = {
        p: _shared_paid(spv, shared_keys.index(inp.payer_names[p]), int(flows.offset[i]))
        for p in external
        if spv is not None and inp.payer_names[p] in shared_keys
    }
    c = Contract(inp, i, flows.payments, flows.provider, terms, labels, stopped, shared)
    settlement(sh, c)
    paid = payer_payments(sh, c, external, outcome_dues(sh, c, external))
    income = "+".join(f"{{{key}}}" for key in paid) or "0"
    sh.add("income", "Income", "money", e(flows.payments.income), income)
    sh.add("self_funded", "Self-funded (import)", "money", e(flows.payments.self_funded))
    provider_columns(sh, c, external)
    when_able = inp.pay_when_able is not None and bool(inp.pay_when_able[i])
    held = "-({arrears}-{arrears@-1})" if when_able else ""  # arrears: the SPV's columns
    opening = terms.ref("provider.opening_reserves", 0)
    reserves = f"{{reserves@-1|{opening}}}+{{revenue}}-{{costs}}+{{advance}}-{{advance_repaid}}"
    sh.add(
        "reserves", "Provider reserves", "money", e(flows.provider.reserves), reserves + held, False
    )
    below = "IF({insolvent@-1}>0,{insolvent@-1},IF({reserves}<0,{MONTH},0))"
    header = "Provider reserves first below zero (month)"
    sh.add("insolvent", header, "month", first_below_zero(sh.v["reserves"]), below, False)
    return sh


def _shared_paid(spv: Placed | None, s: int, offset: int) -> Callable[[str], Formula]:
    """What a contract is paid by shared payer ``s``: the SPV sheet's month payment in
    proportion to the contract's invoices (spec 12), plus grants outside the cap."""
    assert spv is not None

    def make(inv: str) -> Formula:
        def formula(r: int, letters: dict[str, str]) -> str:
            t = r + offset
            total, paid = spv.at(f"sinv_{s}", t), spv.at(f"spaid_{s}", t)
            out = f"out_{inv.removeprefix('inv_')}"
            outside = f"+{letters[out]}{r}" if out in letters else ""
            return f"=IF({total}=0,0,{paid}*{letters[inv]}{r}/{total}){outside}"

        return formula

    return make
