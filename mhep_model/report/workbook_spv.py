"""The SPV side of a Calc sheet (spec 7 and 12): the waterfall as formulas in its order, and
a portfolio's SPV sheet that adds its contracts up by portfolio month and applies the shared
payers' caps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mhep_model.engine.portfolio import shift
from mhep_model.engine.spv import SpvFlows, Waterfall
from mhep_model.report.workbook_checks import Check
from mhep_model.report.workbook_formulas import Sheet, prev
from mhep_model.report.workbook_layout import CalcSheet
from mhep_model.report.workbook_terms import Terms
from mhep_model.studies.run import RunOutput


@dataclass(frozen=True)
class SpvTerms:
    """Where the SPV's waterfall (spec 7) reads its terms: cell addresses or literals.

    ``fee`` is the management fee a year in force (a cell, a literal or a column key in
    braces); ``n`` and ``h`` the term and horizon; ``v3`` adds the performance fee and
    compound interest, ``arrears`` the provider's arrears (``pay_provider_when_able``)."""

    fee: str
    n: str
    h: str
    opening_cash: str
    min_cash: str
    commitment: str
    equity_share: str
    loan_rate: str
    repayment: str
    sweep_from: str
    upfront: str
    v3: bool = False
    arrears: bool = False
    interest: str = '"simple"'
    perf_share: str = "0"
    hurdle: str = "1"


def spv_columns(
    sh: Sheet, terms: SpvTerms, spv: SpvFlows, wf: Waterfall, row: int, stopped: bool
) -> None:
    """The SPV's waterfall as formulas (spec 7, in its order), after the columns
    ``income``, ``block``, ``outcome_pay``, ``advance`` and ``advance_repaid`` (and
    ``arrears`` flows of the provider): fee, drawdown, arrears, funding gap, interest,
    sweep and month-H repayment, distribution, the cash and loan corkscrews, the investor's
    cash flow. Values are the engine's (row ``row`` of ``spv`` and ``wf``)."""
    k = terms
    sh.refs |= {"opening_cash": k.opening_cash, "equity": k.equity_share}
    sh.refs["commitment"] = k.commitment
    sh.limits["commitment"] = float(wf.commitment[row])
    after = _drawdown(sh, k, spv, wf, row, stopped)
    _repayment(sh, k, spv, wf, row, after)


def _e(sh: Sheet, a: np.ndarray | None, row: int) -> np.ndarray:
    return np.zeros(sh.months) if a is None else np.asarray(a[row, : sh.months], dtype=float)


def _drawdown(sh: Sheet, k: SpvTerms, spv: SpvFlows, wf: Waterfall, row: int, stopped: bool) -> str:
    """Steps 2-4: the fee, cash before drawdown, drawdown, arrears and funding gap; returns
    the template of cash after them."""
    v = sh.v
    stop = "*(1-{stopped})" if stopped else ""
    fee = f"IF({{MONTH}}<={k.n},{k.fee}/12,0){stop}"
    sh.add("fee", "Management fee", "money", _e(sh, spv.management_fee, row), fee)
    cash, d = _e(sh, spv.cash, row), _e(sh, spv.drawdown, row)
    arrears = _e(sh, spv.provider_arrears, row) if k.arrears else np.zeros(sh.months)
    pre = prev(cash, float(wf.opening_cash[row])) + v["income"] - v["block"] - v["outcome_pay"]
    pre = pre - v["fee"] - v["advance"] + v["advance_repaid"] - prev(arrears)
    back = "-{arrears@-1}" if k.arrears else ""
    flows = "+{income}-{block}-{outcome_pay}-{fee}-{advance}+{advance_repaid}"
    draw = f"IF({{pre}}<{k.min_cash},MIN({k.min_cash}-{{pre}},{k.commitment}-{{drawn@-1}}),0)"
    upfront = f"IF({{MONTH}}=1,MIN({k.upfront},{k.commitment}),0)"
    short = "IF({pre}+{drawdown}<0,MIN(-({pre}+{drawdown}),{block}+{outcome_pay}+{arrears@-1}),0)"
    after = "({pre}+{drawdown}+{arrears})" if k.arrears else "({pre}+{drawdown})"
    rows = [
        (
            "pre",
            "SPV cash before drawdown",
            pre,
            f"{{cash@-1|{k.opening_cash}}}{flows}{back}",
            False,
        ),
        ("drawdown", "Drawdown", d, f"MAX({draw},{upfront})", True),
        ("drawn", "Drawn to date", np.cumsum(d), "{drawn@-1}+{drawdown}", False),
    ]
    if k.arrears:
        rows.append(("arrears", "Provider arrears (owed, end of month)", arrears, short, False))
    rows.append(("gap", "Funding gap", _e(sh, spv.funding_gap, row), f"MAX(0,-{after})", False))
    for key, header, values, template, flow in rows:
        sh.add(key, header, "money", values, template, flow)
    return after


def _repayment(sh: Sheet, k: SpvTerms, spv: SpvFlows, wf: Waterfall, row: int, after: str) -> None:
    """Steps 1 and 5-7: interest accrued, the sweep and month-H repayment, the performance
    fee and distribution, capitalised interest, the corkscrews and the investor's flow."""
    h, m = sh.months, sh.m
    ip, pr = _e(sh, spv.interest_paid, row), _e(sh, spv.principal_repaid, row)
    dist, fee = _e(sh, spv.equity_distribution, row), _e(sh, spv.performance_fee, row)
    capitalised, loan = _e(sh, spv.interest_capitalised, row), _e(sh, spv.loan_principal, row)
    accrual = prev(loan) * float(wf.loan_rate[row]) / 12.0
    accrued_close = np.cumsum(accrual - ip - capitalised)
    x = sh.v["pre"] + sh.v["drawdown"] + sh.v.get("arrears", 0.0)
    sweeping = bool(wf.sweep[row]) & (m >= wf.sweep_from_month[row])
    sweeping &= ~((wf.upfront[row] > 0) & (m == 1))
    avail = np.where(sweeping, np.maximum(x - float(wf.min_cash[row]), 0.0), 0.0)
    avail = np.where(m == h, np.maximum(x, 0.0), avail)
    sweep = (
        f'AND({k.repayment}="sweep",{{MONTH}}>={k.sweep_from},NOT(AND({k.upfront}>0,{{MONTH}}=1)))'
    )
    at_h = f"{{MONTH}}={k.h}"
    rows = [
        (
            "accrued",
            "Interest accrued and unpaid",
            prev(accrued_close) + accrual,
            f"{{accrued_close@-1}}+{{loan@-1}}*{k.loan_rate}/12",
            False,
        ),
        (
            "avail",
            "Cash for the investor",
            avail,
            f"IF({at_h},MAX({after},0),IF({sweep},MAX({after}-{k.min_cash},0),0))",
            False,
        ),
        ("interest", "Interest paid", ip, "MIN({avail},{accrued})", True),
        (
            "principal",
            "Principal repaid",
            pr,
            f"MIN({{avail}}-{{interest}},{{loan@-1}}+{{drawdown}}*(1-{k.equity_share}))",
            True,
        ),
        (
            "rest",
            "Left for equity at month H",
            dist + fee,
            f"IF({at_h},{{avail}}-{{interest}}-{{principal}},0)",
            True,
        ),
    ]
    for key, header, values, template, flow in rows:
        sh.add(key, header, "money", values, template, flow)
    _distribution(sh, k, spv, row, after, accrued_close)


def _distribution(
    sh: Sheet, k: SpvTerms, spv: SpvFlows, row: int, after: str, accrued_close: np.ndarray
) -> None:
    """Step 6's split of what is left at month H (performance fee, distribution), step 7's
    capitalised interest, the interest, loan and cash corkscrews and the investor's flow."""
    at_h = f"{{MONTH}}={k.h}"
    received = "MAX(0,{hurdle}*{{drawn}}-(SUM({{interest:}})+SUM({{principal:}})))"
    dist, fee = _e(sh, spv.equity_distribution, row), _e(sh, spv.performance_fee, row)
    capitalised, loan = _e(sh, spv.interest_capitalised, row), _e(sh, spv.loan_principal, row)
    rows: list[tuple[str, str, np.ndarray, str, bool]] = []
    joins = ""
    if k.v3:
        room = received.format(hurdle=k.hurdle)
        rows += [
            (
                "performance_fee",
                "Performance fee",
                fee,
                f"IF({at_h},{k.perf_share}*MAX(0,{{rest}}-{room}),0)",
                True,
            ),
            ("distribution", "Equity distribution", dist, "{rest}-{performance_fee}", True),
            (
                "capitalised",
                "Interest capitalised",
                capitalised,
                f'IF(AND({k.interest}="compound",{{MONTH}}<{k.h}),{{accrued}}-{{interest}},0)',
                True,
            ),
        ]
        joins = "+{capitalised}"
    else:
        rows.append(("distribution", "Equity distribution", dist, "{rest}", True))
    rows += [
        (
            "accrued_close",
            "Interest accrued, end of month",
            accrued_close,
            "{accrued}-{interest}" + joins.replace("+", "-"),
            False,
        ),
        (
            "loan",
            "Loan principal",
            loan,
            f"{{loan@-1}}+{{drawdown}}*(1-{k.equity_share})-{{principal}}{joins}",
            False,
        ),
        (
            "cash",
            "SPV cash",
            _e(sh, spv.cash, row),
            f"{after}-{{interest}}-{{principal}}-{{rest}}",
            False,
        ),
        (
            "investor",
            "Investor cash flow",
            _e(sh, spv.investor_cashflow, row),
            "-{drawdown}+{interest}+{principal}+{distribution}",
            True,
        ),
    ]
    for key, header, values, template, flow in rows:
        sh.add(key, header, "money", values, template, flow)


def spv_sheet(
    run: RunOutput,
    i: int,
    contracts: list[tuple[CalcSheet, Sheet]],
    refs: dict[str, str],
    terms: Terms,
) -> Sheet:
    """The SPV sheet of case row ``i``: each contract's flows by portfolio month (INDEX into
    its sheet at its offset), the shared payers' invoices, caps and payments, then the
    waterfall. ``refs``: the portfolio's Inputs cells and the sheet's own N and H."""
    res = run.model_results
    wf = res.inputs.waterfall
    h = int(wf.horizon[i])
    width = res.income.shape[1]
    sh = Sheet(h)

    def pick(k: int, key: str) -> str:
        """Contract k's ``key`` in this portfolio month (0 outside its months)."""
        calc, csh = contracts[k]
        o, hc = int(res.contracts[k].offset[i]), csh.months
        column = calc.range(key)
        return f"IF(AND({{MONTH}}>{o},{{MONTH}}<={o + hc}),INDEX({column},{{MONTH}}-{o}),0)"

    for s, key in enumerate(res.inputs.shared):
        members = [
            (k, f"inv_{flows.inputs.payer_names.index(key)}")
            for k, flows in enumerate(res.contracts)
            if key in flows.inputs.payer_names
        ]
        invoiced = np.zeros(h)
        for k, inv in members:
            invoiced += _shifted(contracts[k][1].v[inv], int(res.contracts[k].offset[i]), h)
        template = "+".join(pick(k, inv) for k, inv in members) or "0"
        sh.add(f"sinv_{s}", f"Invoiced to {key} (all contracts)", "money", invoiced, template)
        _shared_cap(sh, s, key, float(res.inputs.shared_cap[i, s]), refs)
    everyone = range(len(res.contracts))
    for k, flows in enumerate(res.contracts):
        income = np.asarray(shift(flows.payments.income, flows.offset, width)[i, :h])
        sh.add(f"income_{k}", f"Income: {flows.name}", "money", income, pick(k, "income"))
    summed = [
        ("income", "Income", res.income, "+".join(f"{{income_{k}}}" for k in everyone)),
        ("block", "Block", res.block, ""),
        ("outcome_pay", "Provider outcome payments", res.provider_outcome_payments, ""),
        ("advance", "Advance", res.advance, ""),
        ("advance_repaid", "Advance repaid", res.advance_repaid, ""),
    ]
    for key, header, values, template in summed:
        template = template or "+".join(pick(k, key) for k in everyone)
        sh.add(key, header, "money", np.asarray(values[i, :h], dtype=float), template)
    add_spv(sh, run, i, refs, terms, np.full(h, float(wf.management_fee[i, 0]) * 12.0))
    return sh


def _shared_cap(sh: Sheet, s: int, key: str, cap: float, refs: dict[str, str]) -> None:
    """Shared payer ``s``'s payments to all contracts: its cap over their invoices."""
    invoiced, header = sh.v[f"sinv_{s}"], f"Paid by {key} (all contracts)"
    if not np.isfinite(cap):
        sh.add(f"spaid_{s}", header, "money", invoiced, f"{{sinv_{s}}}", False)
        return
    cref = refs[f"shared_payers.{key}.cap"]
    sh.refs[f"cap_s{s}"], sh.limits[f"cap_s{s}"] = cref, cap
    cum = np.maximum.accumulate(np.minimum(np.cumsum(invoiced), cap))
    template = f"MAX({{scum_{s}@-1}},MIN(SUM({{sinv_{s}:}}),{cref}))"
    sh.add(f"scum_{s}", f"Paid to date within cap: {key}", "money", cum, template, False)
    paid = f"{{scum_{s}}}-{{scum_{s}@-1}}"
    sh.add(f"spaid_{s}", header, "money", cum - prev(cum), paid, False)


def _shifted(values: np.ndarray, offset: int, months: int) -> np.ndarray:
    """A contract's ``(h_c,)`` months as ``(months,)`` portfolio months."""
    out = np.zeros(months)
    n = min(len(values), months - offset)
    out[offset : offset + n] = values[:n]
    return out


def spv_refs(terms: Terms, n: str, h: str) -> dict[str, str]:
    """The Inputs cells the SPV's waterfall reads (a scenario's own ``spv`` and
    ``investor``, or a portfolio's), with the spec's defaults, and N and H."""
    defaults: dict[str, float | str] = {
        "spv.opening_cash": 0,
        "spv.min_cash": 0,
        "investor.commitment": 0,
        "investor.equity_share": 0,
        "investor.loan_rate": 0,
        "investor.repayment": '"end"',
        "investor.sweep_from_month": 1,
        "investor.upfront": 0,
        "investor.interest": '"simple"',
        "spv.performance_fee.share": 0,
        "spv.performance_fee.hurdle_multiple": 1,
    }
    refs = {path: terms.ref(path, default) for path, default in defaults.items()}
    refs |= {
        path: cell.ref
        for (path, case), cell in terms.cells.items()
        if case == terms.case and path.startswith("shared_payers.")
    }
    return refs | {"N": n, "H": h}


def add_spv(
    sh: Sheet, run: RunOutput, i: int, refs: dict[str, str], terms: Terms, fee: np.ndarray
) -> None:
    """The SPV's waterfall on ``sh`` (case row ``i``), its management fee a year in force
    (``fee``, ``(h,)``) from ``terms``."""
    pin = run.model_results.inputs
    wf = pin.waterfall
    fee_ref, _ = sh.term(
        "fee_annual",
        "Management fee a year",
        "money",
        terms.term("spv.management_fee_annual", 0.0),
        fee,
    )
    inp = pin.contracts[0]
    terms_ = SpvTerms(
        fee=fee_ref,
        n=refs["N"],
        h=refs["H"],
        opening_cash=refs["spv.opening_cash"],
        min_cash=refs["spv.min_cash"],
        commitment=refs["investor.commitment"],
        equity_share=refs["investor.equity_share"],
        loan_rate=refs["investor.loan_rate"],
        repayment=refs["investor.repayment"],
        sweep_from=refs["investor.sweep_from_month"],
        upfront=refs["investor.upfront"],
        v3=pin.uses_v3,
        arrears=wf.pay_when_able is not None and bool(wf.pay_when_able[i]),
        interest=refs["investor.interest"],
        perf_share=refs["spv.performance_fee.share"],
        hurdle=refs["spv.performance_fee.hurdle_multiple"],
    )
    stopped = len(pin.contracts) == 1 and inp.service_end is not None
    spv_columns(sh, terms_, run.model_results.spv, wf, i, stopped)


def shared_cap_checks(c: CalcSheet) -> list[Check]:
    """Live: each shared payer pays all contracts together no more than its cap."""
    return [
        Check(
            f"{c.headers[key].removeprefix('Paid to date within cap: ')} pays all contracts "
            "no more than its shared cap",
            c.case,
            f"=MAX({c.range(key)})",
            float(c.values[key].max()),
            c.limits[f"cap_s{key[5:]}"],
            "le",
            f"={c.refs[f'cap_s{key[5:]}']}",
        )
        for key in c.letters
        if key.startswith("scum_")
    ]
