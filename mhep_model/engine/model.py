"""The whole deterministic model: inputs to monthly flows and per-row summaries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mhep_model.engine.funnel import referrals, stage_flows
from mhep_model.engine.inputs import FloatArray, Inputs, slice_rows
from mhep_model.engine.payments import Payments
from mhep_model.engine.portfolio import Flows, PortfolioInputs, PortfolioResults, run_portfolio
from mhep_model.engine.provider import ProviderFlows
from mhep_model.engine.spv import SpvFlows


@dataclass(frozen=True)
class Results:
    """Monthly flows ``(R, T)`` (months past a row's horizon are zero) and their summary."""

    inputs: Inputs
    referrals: FloatArray
    """``(R, T)`` [people/month]."""
    stages: list[FloatArray]
    """Per stage, ``(R, B, T)`` flows [people/month]."""
    over_capacity: FloatArray
    """``(R, T)`` people over staff capacity, summed over stages [people/month]."""
    payments: Payments
    provider: ProviderFlows
    spv: SpvFlows
    summary: dict[str, FloatArray]
    """Per metric, ``(R,)`` values; NaN where blank (spec section 10)."""


def run(inp: Inputs) -> Results:
    """Compute every row of ``inp`` (spec sections 3-7 and 10), deterministic flows."""
    referral_flow = referrals(inp)
    flows, over_capacity = stage_flows(inp, referral_flow)
    return run_flows(inp, referral_flow, flows, over_capacity)


SLICE_CELLS = 4096 * 48
"""Most row-months :func:`run_summary` computes at once: a large batch runs in runs of
rows whose arrays stay in the processor's cache (about 1.2x faster at 10,000 rows)."""


def run_summary(inp: Inputs) -> dict[str, FloatArray]:
    """Only the summary of every row of ``inp`` (what sweeps, tornadoes and Sobol samples
    read): computed in runs of rows, and the monthly arrays of each run let go before the
    next. Rows never interact, so the values are those of :func:`run`."""
    step = max(1, SLICE_CELLS // max(inp.months, 1))
    if inp.rows <= step:
        return run(inp).summary
    parts = []
    for start in range(0, inp.rows, step):
        parts.append(run(slice_rows(inp, start, min(start + step, inp.rows))).summary)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def deterministic_flows(pin: PortfolioInputs) -> list[Flows]:
    """Each contract's expected referrals, stage flows and people over capacity."""
    out: list[Flows] = []
    for inp in pin.contracts:
        referral_flow = referrals(inp)
        flows, over = stage_flows(inp, referral_flow)
        out.append((referral_flow, flows, over))
    return out


def run_model(pin: PortfolioInputs) -> PortfolioResults:
    """Every row of a portfolio (a contract on its own: a portfolio of one), expected
    values (spec sections 3-7, 10 and 12)."""
    return run_portfolio(pin, deterministic_flows(pin))


def run_flows(
    inp: Inputs,
    referral_flow: FloatArray,
    flows: list[FloatArray],
    over_capacity: FloatArray,
) -> Results:
    """Everything from outcome counts on (spec sections 5-7), for given referrals
    ``(R, T)``, stage flows ``(R, B, T)`` and people over capacity ``(R, T)``: expected
    values or a path's whole people.

    A contract is a portfolio of one (spec section 12): its own SPV and investor, no
    shared payers, the one engine path of :func:`mhep_model.engine.portfolio.run_portfolio`.
    """
    done = run_portfolio(PortfolioInputs.of_contract(inp), [(referral_flow, flows, over_capacity)])
    return contract_results(done)


def contract_results(done: PortfolioResults) -> Results:
    """A contract's flows and summary (its SPV's and investor's included) from its run as
    a portfolio of one (or a portfolio's first contract with the portfolio's SPV)."""
    own = done.contracts[0]
    summary = own.summary | done.investor
    return Results(
        own.inputs,
        own.referrals,
        own.stages,
        own.over_capacity,
        own.payments,
        own.provider,
        done.spv,
        summary,
    )
