"""The engine's inputs of what runs: a scenario (a portfolio of one) or a portfolio (spec
section 12): each contract compiled on its own, the offsets of their starts, the shared
payers' caps and the portfolio's SPV and investor."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from mhep_model.engine.inputs import FloatArray
from mhep_model.engine.portfolio import PortfolioInputs
from mhep_model.engine.spv import Waterfall
from mhep_model.errors import ScenarioError
from mhep_model.scenario.compile import compile_inputs, none_inf, scenario_lanes
from mhep_model.scenario.limits import MAX_PORTFOLIO_MONTHS, check_cells
from mhep_model.scenario.model import spv_uses_v3
from mhep_model.scenario.portfolio import Portfolio, PortfolioFile
from mhep_model.scenario.resolve import Resolved


def month_index(start: str) -> int:
    """``YYYY-MM`` as a count of months."""
    year, month = (int(x) for x in start.split("-"))
    return year * 12 + month - 1


def in_case_order(resolved: Resolved, names: Sequence[str]) -> Resolved:
    by_name = {c.name: c for c in resolved.cases}
    return dataclasses.replace(resolved, cases=tuple(by_name[n] for n in names))


def portfolio_starts(portfolios: Sequence[Portfolio]) -> list[str]:
    """``YYYY-MM`` of portfolio month 1 of every row (the earliest contract start)."""
    out = []
    for pf in portfolios:
        for name in pf.case_names:
            starts = [
                next(c for c in k.resolved.cases if c.name == name).scenario.contract.start
                for k in pf.contracts
            ]
            out.append(min(starts, key=month_index))
    return out


def compile_portfolio(portfolio: Portfolio | Sequence[Portfolio]) -> PortfolioInputs:
    """The engine's :class:`PortfolioInputs`, one row per case of each portfolio given
    (variants or grid points of one portfolio: the same contracts, in the same order)."""
    group = [portfolio] if isinstance(portfolio, Portfolio) else list(portfolio)
    first = group[0]
    inputs = tuple(
        compile_inputs([in_case_order(pf.contracts[c].resolved, pf.case_names) for pf in group])
        for c in range(len(first.contracts))
    )
    starts = np.array(
        [
            [
                month_index(case.scenario.contract.start)
                for pf in group
                for case in in_case_order(pf.contracts[c].resolved, pf.case_names).cases
            ]
            for c in range(len(first.contracts))
        ]
    )  # (C, R)
    offsets = (starts - starts.min(axis=0)).astype(np.int64)
    term = (offsets + np.stack([inp.term for inp in inputs])).max(axis=0)
    horizon = (offsets + np.stack([inp.horizon for inp in inputs])).max(axis=0)
    width = int((offsets + np.array([[inp.months] for inp in inputs])).max())
    if int(horizon.max()) > MAX_PORTFOLIO_MONTHS:
        raise ScenarioError(
            f"the contracts span {int(horizon.max())} months from the first start to the last "
            f"horizon; the most a portfolio takes is {MAX_PORTFOLIO_MONTHS}",
            file=first.file,
            line=first.doc.line_of(("contracts",)),
            path=("contracts",),
        )
    specs = [pf.spec for pf in group for _ in pf.case_names]
    shared = tuple(first.spec.shared_payers)
    caps = np.array(
        [[none_inf(s.shared_payers[k].cap) for k in shared] for s in specs], dtype=np.float64
    ).reshape(len(specs), len(shared))
    m = np.arange(1, width + 1)
    fees = np.array([s.spv.management_fee_annual for s in specs])
    fee = np.where(m[None, :] <= term[:, None], fees[:, None] / 12.0, 0.0)

    def per_row(values: list[float]) -> FloatArray:
        return np.array(values, dtype=np.float64)

    v3 = any(inp.uses_v3 for inp in inputs) or any(spv_uses_v3(s.spv, s.investor) for s in specs)
    if v3:  # every contract then reports the v3 columns (zeros where it names none)
        inputs = tuple(dataclasses.replace(inp, uses_v3=True) for inp in inputs)
    return PortfolioInputs(
        uses_v3=v3,
        names=tuple(c.name for c in first.contracts),
        contracts=inputs,
        offsets=offsets,
        shared=shared,
        shared_cap=caps,
        term=term.astype(np.int64),
        waterfall=Waterfall(
            management_fee=fee,
            horizon=horizon.astype(np.int64),
            opening_cash=per_row([s.spv.opening_cash for s in specs]),
            min_cash=per_row([s.spv.min_cash for s in specs]),
            commitment=per_row([s.investor.commitment for s in specs]),
            equity_share=per_row([s.investor.equity_share for s in specs]),
            loan_rate=per_row([s.investor.loan_rate for s in specs]),
            sweep=np.array([s.investor.repayment == "sweep" for s in specs]),
            sweep_from_month=np.array([s.investor.sweep_from_month for s in specs], dtype=np.int64),
            upfront=per_row([s.investor.upfront for s in specs]),
            **_cash_terms(specs),
        ),
    )


Model = Resolved | Portfolio
"""What runs: a scenario (a contract, a portfolio of one) or a portfolio of contracts."""


def _cash_terms(specs: Sequence[PortfolioFile]) -> dict[str, Any]:
    """The portfolio's own v3 investor and SPV terms (``interest``, ``performance_fee``;
    ``pay_provider_when_able`` is refused in a portfolio)."""
    fees = [s.spv.performance_fee for s in specs]
    compound = np.array([s.investor.interest == "compound" for s in specs])
    out: dict[str, Any] = {"compound": compound if compound.any() else None}
    if any(f is not None for f in fees):
        out["fee_share"] = np.array([f.share if f is not None else 0.0 for f in fees])
        out["hurdle"] = np.array([f.hurdle_multiple if f is not None else 1.0 for f in fees])
    return out


def resolved_contracts(model: Model) -> list[Resolved]:
    """Each contract of ``model`` as resolved (a scenario is its own contract)."""
    return [model] if isinstance(model, Resolved) else [c.resolved for c in model.contracts]


def model_cells(group: Sequence[Model]) -> int:
    """The engine's work in cells (rows x months x lanes, :data:`~limits.MAX_CELLS`) of
    every contract of every model in ``group``, plus a portfolio's own SPV rows over its
    span: the sum is what one batch holds, however the cells are shared out."""
    cells = 0
    for m in group:
        contracts = resolved_contracts(m)
        for r in contracts:
            months = max(c.scenario.contract.horizon for c in r.cases)
            cells += len(r.cases) * months * scenario_lanes(r.base)
        if isinstance(m, Portfolio):
            scenarios = [c.scenario for r in contracts for c in r.cases]
            first = min(month_index(sc.contract.start) for sc in scenarios)
            span = max(month_index(sc.contract.start) + sc.contract.horizon for sc in scenarios)
            cells += len(m.case_names) * (span - first) * (len(m.spec.shared_payers) + 10)
    return cells


def compile_model(model: Model | Sequence[Model]) -> PortfolioInputs:
    """The engine's inputs, one row per case of each scenario (a portfolio of one: its own
    SPV and investor) or of each portfolio given (variants: the same structure); work over
    :data:`~limits.MAX_CELLS` in all is refused before any of it is compiled."""
    group = [model] if isinstance(model, Resolved | Portfolio) else list(model)
    check_cells(model_cells(group), group[0].file)
    portfolios = [m for m in group if isinstance(m, Portfolio)]
    if portfolios:
        return compile_portfolio(portfolios)
    return PortfolioInputs.of_contract(
        compile_inputs([m for m in group if isinstance(m, Resolved)])
    )
