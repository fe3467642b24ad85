"""Sweeps and goal seek over a portfolio (spec section 12): paths are a contract's
(``contracts.<name>.<path>``, or ``contracts.*.<path>`` for every contract) or the
portfolio's own (``investor.commitment``). Swept and sought values apply after each case's
own overrides, as for one contract; every grid point or candidate is a row of one batch.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from mhep_model.engine.inputs import FloatArray
from mhep_model.engine.solve import find_roots
from mhep_model.errors import ScenarioError, UsageError
from mhep_model.scenario.portfolio import Portfolio, load_portfolio
from mhep_model.scenario.yamlio import Document, Source, load_yaml
from mhep_model.studies.portfolio import PortfolioRun, run_portfolios
from mhep_model.studies.solve import Solution
from mhep_model.studies.sweep import MAX_SWEEP_ROWS, Grid, Param, check_params

CONTRACT_METRICS = (
    "provider_surplus",
    "provider_min_reserves",
    "provider_insolvent_month",
    "income",
)


def metric_values(run: PortfolioRun) -> dict[str, FloatArray]:
    """Per row: the portfolio's summary metrics, then ``<contract>.<metric>``."""
    out = dict(run.results.summary)
    for c in run.results.contracts:
        for metric in CONTRACT_METRICS:
            out[f"{c.name}.{metric}"] = c.summary[metric]
    return out


PortfolioSweep = Grid[PortfolioRun]
"""A grid of values over a portfolio, every point and case in one batch."""


def _load_at(
    doc: Document,
    sets: Sequence[tuple[str, Any]],
    cases: Sequence[str] | None,
    late: Sequence[tuple[str, Any]],
) -> Portfolio:
    try:
        return load_portfolio(doc, sets=sets, cases=cases, case_sets=late)
    except ScenarioError as e:
        where = ", ".join(f"{p}={v:g}" for p, v in late)
        raise e.prefixed(f"at {where}") from None


def sweep_portfolio(
    path: Source,
    params: Sequence[Param],
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
) -> PortfolioSweep:
    """Run every point of the grid (the product of the params' values) as one batch."""
    check_params(params)
    doc = load_yaml(path)
    first = load_portfolio(doc, sets=sets, cases=cases)
    points = list(itertools.product(*(p.values for p in params)))
    rows = len(points) * len(first.case_names)
    limit = MAX_SWEEP_ROWS // max(len(first.contracts), 1)
    if rows > limit:
        raise UsageError(
            f"the grid has {len(points):,} points x {len(first.case_names)} cases = {rows:,} "
            f"rows of {len(first.contracts)} contracts; a portfolio sweep takes at most "
            f"{limit:,} rows: use fewer values or --case"
        )
    paths = [p.path for p in params]
    group = [_load_at(doc, sets, cases, list(zip(paths, pt, strict=True))) for pt in points]
    labels = [", ".join(f"{p}={v:g}" for p, v in zip(paths, pt, strict=True)) for pt in points]
    return PortfolioSweep(tuple(params), tuple(points), run_portfolios(group, labels))


def _current(pf: Portfolio, vary: str, case: str) -> float | None:
    parts = vary.split(".")
    if parts[0] == "contracts" and len(parts) > 2:
        names = [c.name for c in pf.contracts] if parts[1] == "*" else [parts[1]]
        values = []
        for c in pf.contracts:
            if c.name not in names:
                continue
            scenario = next(k for k in c.resolved.cases if k.name == case).scenario
            node: Any = scenario.model_dump(by_alias=True)
            for key in parts[2:]:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, int | float) and not isinstance(node, bool):
                values.append(float(node))
        return max(values) if values else None
    node = pf.spec.model_dump(by_alias=True)
    for key in parts:
        node = node.get(key) if isinstance(node, dict) else None
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else None


def solve_portfolio(
    path: Source,
    vary: str,
    target: tuple[str, float],
    *,
    cases: Sequence[str] | None = None,
    sets: Sequence[tuple[str, Any]] = (),
    between: tuple[float, float] | None = None,
) -> Solution:
    """Per case, the value of ``vary`` at which a portfolio metric (or a contract's,
    ``<contract>.provider_min_reserves``) reaches the target."""
    metric, goal = target
    doc = load_yaml(path)
    base = load_portfolio(doc, sets=sets, cases=cases)
    names = base.case_names
    columns = list(metric_values(run_portfolios([base])))
    if metric not in columns:
        raise UsageError(f"no metric named {metric}; choose from {', '.join(columns)}")
    lo = np.zeros(len(names))
    hi = np.zeros(len(names))
    for i, case in enumerate(names):
        if between is not None:
            lo[i], hi[i] = between
            continue
        current = _current(base, vary, case)
        if current is None:
            raise UsageError(
                f"{vary} is not a number in case {case}: give the range with --between LO:HI"
            )
        share = vary.endswith(("rate", "share", "share_of_tariff")) and current <= 1
        hi[i] = 1.0 if share else max(4.0 * current, 1.0)

    def evaluate(x: FloatArray) -> FloatArray:
        group = [
            _load_at(doc, sets, [name], [(vary, float(value))])
            for i, name in enumerate(names)
            for value in x[i]
        ]
        values = metric_values(run_portfolios(group))[metric]
        return np.asarray(values, dtype=np.float64).reshape(x.shape)

    roots = find_roots(evaluate, lo, hi, np.full(len(names), goal))
    currency = base.contracts[0].resolved.base.contract.currency
    return Solution(vary, metric, goal, names, lo, hi, roots, currency)
