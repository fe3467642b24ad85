"""The provider side of a contract Calc sheet (spec 6): outcome payments on the settlement
timing, the back-to-back ratio, the annual cap, block, costs and the advance, as formulas."""

from __future__ import annotations

import numpy as np

from mhep_model.report.workbook_contract import Contract
from mhep_model.report.workbook_formulas import Sheet, prev, sum_by


def provider_columns(sh: Sheet, c: Contract, external: list[int]) -> None:
    """The provider's outcome payments (settlement, back-to-back, annual cap), block,
    costs and advance."""
    inp = c.inp
    pairs = [(o, f"pay_{o}" if f"pay_{o}" in sh.v else "settle") for o in range(len(inp.outcomes))]
    owed = np.zeros(c.h)
    for o, k in pairs:
        owed += sum_by(sh.v[k], sh.v[f"powed_{o}"], c.h)
    template = "+".join(f"SUMIF({{{k}:}},{{MONTH}},{{powed_{o}:}})" for o, k in pairs)
    sh.add("owed", "Owed to provider this month", "money", owed, template)
    b2b = c.terms.ref("provider.outcome_payments.back_to_back", 0)
    outside = [p for p in external if f"out_{p}" in sh.v]
    inv_all = sum((sh.v[f"inv_{p}"] for p in external), np.zeros(c.h))
    inv_all = inv_all + sum((sh.v[f"out_{p}"] for p in outside), np.zeros(c.h))
    inv_sum = "+".join([f"{{inv_{p}}}" for p in external] + [f"{{out_{p}}}" for p in outside])
    inv_sum = inv_sum or "0"
    ratio = np.ones(c.h)
    if bool(inp.back_to_back[c.i]):
        paid_share = np.divide(sh.v["income"], inv_all, out=np.ones(c.h), where=inv_all > 0)
        ratio = np.where(inv_all > 0, np.minimum(1.0, paid_share), 1.0)
    template = f"IF(OR(NOT({b2b}),({inv_sum})=0),1,MIN(1,{{income}}/({inv_sum})))"
    sh.add("b2b", "Share of invoices paid (back-to-back)", "percent", ratio, template, False)
    after = sh.add("owed_b2b", "Owed after back-to-back", "money", owed * ratio, "{owed}*{b2b}")
    _annual_cap(sh, c, after)
    _block_costs(sh, c)


def _annual_cap(sh: Sheet, c: Contract, after: np.ndarray) -> None:
    """The provider's outcome payments after its annual cap, cumulated within each
    contract year of payment (spec 6); imported for v3 ``annual_cap_basis: achieved``."""
    inp = c.inp
    cap_term = c.terms.term("provider.outcome_payments.annual_cap")
    engine_cap = c.e(inp.provider_annual_cap)
    if inp.cap_by_achievement is not None and bool(inp.cap_by_achievement[c.i]):
        header = "Provider outcome payments (import: cap by year achieved)"
        sh.add("outcome_pay", header, "money", c.e(c.provider.outcome_payments), None)
        return
    if cap_term is None and np.isinf(engine_cap).all():
        sh.add("outcome_pay", "Provider outcome payments", "money", after, "{owed_b2b}")
        return
    cref, cap = sh.term("acap", "Provider annual cap", "money", cap_term, engine_cap)
    year = sh.v["year"]
    same = np.concatenate([[False], year[1:] == year[:-1]])
    cum = np.zeros(c.h)
    for y in np.unique(year):  # each contract year of payment: its own running total
        at = year == y
        cum[at] = np.maximum.accumulate(np.minimum(np.cumsum(after[at]), cap[at]))
    within = "MIN(SUMIF({year:},{year},{owed_b2b:})," + cref + ")"
    template = f"MAX(IF({{year}}={{year@-1}},{{ycum@-1}},0),{within})"
    sh.add("ycum", "Provider paid this contract year", "money", cum, template, False)
    paid = cum - np.where(same, prev(cum), 0.0)
    template = "{ycum}-IF({year}={year@-1},{ycum@-1},0)"
    sh.add("outcome_pay", "Provider outcome payments", "money", paid, template)


def _block_costs(sh: Sheet, c: Contract) -> None:
    """Block and costs in the term while the service runs; the advance and its repayment."""
    inp, t = c.inp, c.terms
    n = t.ref("contract.term_months", float(inp.term[c.i]))
    on = (sh.m <= inp.term[c.i]) * (1 - (c.stopped if c.stopped is not None else 0))
    stop = _not_stopped(c)

    def term(
        key: str, header: str, kind: str, path: str, engine: np.ndarray
    ) -> tuple[str, np.ndarray]:
        return sh.term(key, header, kind, t.term(path, 0.0), c.e(engine))

    bref, block = term(
        "block_annual", "Block a year", "money", "provider.block.annual", inp.block_annual
    )
    sh.add("block", "Block", "money", on * block / 12.0, f"IF({{MONTH}}<={n},{bref}/12,0){stop}")
    fte_ref, fte = term("fte", "Staff", "rate", "provider.costs.staff_fte", inp.staff_fte)
    cpf_ref, cpf = term(
        "cpf", "Cost per FTE", "money", "provider.costs.cost_per_fte", inp.cost_per_fte
    )
    fix_ref, fixed = term(
        "fixed", "Fixed costs a year", "money", "provider.costs.fixed_annual", inp.fixed_annual
    )
    mob_value = float(inp.mobilisation[c.i])
    mob = t.ref("provider.costs.mobilisation", mob_value)
    costs = on * (fte * cpf + fixed) / 12.0 + np.where(sh.m == 1, mob_value, 0.0)
    revenue = sh.v["block"] + sh.v["outcome_pay"]
    sh.add("revenue", "Provider revenue", "money", revenue, "{block}+{outcome_pay}")
    running = f"IF({{MONTH}}<={n},({fte_ref}*{cpf_ref}+{fix_ref})/12,0){stop}"
    sh.add("costs", "Provider costs", "money", costs, f"{running}+IF({{MONTH}}=1,{mob},0)")
    amount = t.cell("provider.advance.amount")
    lent, repaid = c.e(c.provider.advance), c.e(c.provider.advance_repaid)
    if amount is None:
        sh.add("advance", "Advance", "money", lent, None)
        sh.add("advance_repaid", "Advance repaid", "money", repaid, None)
        return
    month = t.ref("provider.advance.month", 1)
    start = t.ref("provider.advance.repay_from", 1)
    count = t.ref("provider.advance.repay_months", 1)
    sh.add("advance", "Advance", "money", lent, f"IF({{MONTH}}={month},{amount.ref},0)")
    window = f"AND({{MONTH}}>={start},{{MONTH}}<{start}+{count})"
    sh.add(
        "advance_repaid", "Advance repaid", "money", repaid, f"IF({window},{amount.ref}/{count},0)"
    )


def _not_stopped(c: Contract) -> str:
    return "*(1-{stopped})" if c.stopped is not None else ""
