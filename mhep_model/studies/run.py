"""Running scenario files: every case of one or more scenarios as rows of one batch.

``run_scenario`` runs one scenario or portfolio file (all its cases); ``run_models`` runs
resolved scenarios of the same structure, or portfolios of the same contracts, together
(a scenario is a portfolio of one: one compile, one engine path). Results are engine
arrays with row labels; the report layer turns them into tables.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from mhep_model import __version__
from mhep_model.engine import Results, run
from mhep_model.engine.inputs import FloatArray, Inputs
from mhep_model.engine.model import contract_results, run_model, run_summary
from mhep_model.engine.portfolio import PortfolioInputs, PortfolioResults, path_metrics
from mhep_model.errors import ScenarioError, UsageError
from mhep_model.scenario import Resolved, compile_inputs, resolve
from mhep_model.scenario.batch import is_batch
from mhep_model.scenario.limits import check_cells
from mhep_model.scenario.model_inputs import Model, compile_model, model_cells, portfolio_starts
from mhep_model.scenario.portfolio import (
    Portfolio,
    is_portfolio,
    load_portfolio,
    refuse_portfolio_actuals,
)
from mhep_model.scenario.vary import PointGrid
from mhep_model.scenario.yamlio import Source, load_yaml
from mhep_model.studies.variance import VarianceRow, variance_rows


@dataclass(frozen=True)
class RowInfo:
    """Labels of the engine's rows: case name and calendar month of contract month 1."""

    case: str
    start: str  # YYYY-MM
    variant: str | None = None


def sha256_of(path: str) -> str | None:
    """SHA-256 of a file, or None when it is not one."""
    p = Path(path)
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None


@dataclass(frozen=True)
class RunOutput:
    """Rows computed in one vectorised batch: every case of one or more scenarios of the
    same structure, or of one or more portfolios with the same contracts (variants)."""

    models: tuple[Model, ...]
    model_inputs: PortfolioInputs
    """The engine's inputs of every row (a scenario's: a portfolio of one)."""
    model_results: PortfolioResults
    rows: tuple[RowInfo, ...]
    """Each row's case, month 1 (a portfolio's: its earliest contract start), variant."""
    variance: tuple[VarianceRow, ...] = ()
    """Recorded series against each case's projection (spec 13); empty without actuals."""
    projection: Results | None = None
    """With actuals: each case projected from the signing date (the records set aside)."""

    @property
    def first(self) -> Model:
        """The (first) scenario or portfolio of the batch."""
        return self.models[0]

    @property
    def portfolio(self) -> Portfolio | None:
        """The (first) portfolio, when portfolios ran."""
        return self.first if isinstance(self.first, Portfolio) else None

    @property
    def scenario(self) -> Resolved:
        """The (first) scenario of a run of scenarios."""
        if not isinstance(self.first, Resolved):
            raise TypeError(f"{self.first.file} is a portfolio, not a scenario")
        return self.first

    @property
    def pf(self) -> Portfolio:
        """The (first) portfolio of a run of portfolios."""
        if not isinstance(self.first, Portfolio):
            raise TypeError(f"{self.first.file} is a scenario, not a portfolio")
        return self.first

    @property
    def resolved(self) -> tuple[Resolved, ...]:
        """The scenarios of the batch (none when portfolios ran)."""
        return tuple(m for m in self.models if isinstance(m, Resolved))

    @property
    def cases(self) -> tuple[str, ...]:
        return tuple(r.case for r in self.rows)

    @property
    def starts(self) -> tuple[str, ...]:
        return tuple(r.start for r in self.rows)

    @property
    def labels(self) -> tuple[str | None, ...]:
        return tuple(r.variant for r in self.rows)

    @property
    def currency(self) -> str:
        """The money of the run (a portfolio's: its first contract's)."""
        pf = self.portfolio
        first = pf.contracts[0].resolved if pf is not None else self.scenario
        return first.base.contract.currency

    @property
    def inputs(self) -> Inputs:
        """A scenario's engine inputs (a portfolio's first contract's)."""
        return self.model_inputs.contracts[0]

    @cached_property
    def results(self) -> Results:
        """A scenario's flows and ``summary.csv`` metrics (its SPV's and investor's
        included); for a portfolio, see :attr:`model_results`."""
        return contract_results(self.model_results)

    def manifest(self, command: str = "run") -> dict[str, Any]:
        """What produced these outputs: tool version, files and hashes, options."""
        pf = self.portfolio
        if pf is None:
            return manifest_of(self.resolved[0], self.rows, command)
        return {
            "tool": "mhep-model",
            "tool_version": __version__,
            "command": command,
            "portfolio": pf.file,
            "portfolio_name": pf.name,
            "portfolio_sha256": sha256_of(pf.file),
            "contracts": {
                c.name: {"file": c.file, "sha256": sha256_of(c.file)} for c in pf.contracts
            },
            "cases": list(dict.fromkeys(self.cases)),
            "set": {k: v for k, v in pf.sets},
            "seed": None,
        }


def manifest_of(first: Resolved, rows: Sequence[RowInfo], command: str) -> dict[str, Any]:
    """``run.json`` of a batch whose (first) scenario is ``first``."""
    return {
        "tool": "mhep-model",
        "tool_version": __version__,
        "command": command,
        "scenario": first.file,
        "scenario_name": first.base.name,
        "scenario_sha256": sha256_of(first.file),
        "cases": list(dict.fromkeys(r.case for r in rows)),
        "set": {k: v for k, v in first.sets},
        "actuals": first.actuals.file if first.actuals is not None else None,
        "actuals_sha256": sha256_of(first.actuals.file) if first.actuals is not None else None,
        "seed": None,
    }


def _row_infos(group: Sequence[Model], labels: Sequence[str | None]) -> tuple[RowInfo, ...]:
    if isinstance(group[0], Portfolio):
        portfolios = [m for m in group if isinstance(m, Portfolio)]
        starts = iter(portfolio_starts(portfolios))
        return tuple(
            RowInfo(name, next(starts), label)
            for pf, label in zip(portfolios, labels, strict=True)
            for name in pf.case_names
        )
    return tuple(
        RowInfo(c.name, c.scenario.contract.start, label)
        for r, label in zip(group, labels, strict=True)
        if isinstance(r, Resolved)
        for c in r.cases
    )


def run_models(group: Sequence[Model], labels: Sequence[str | None] | None = None) -> RunOutput:
    """Compute every case of every scenario (of the same structure) or portfolio (with
    the same contracts) in ``group`` as rows of one batch; money that overflowed is
    refused."""
    labels = list(labels) if labels is not None else [None] * len(group)
    # every month of every row is kept (monthly.csv): a budget of its own (issue 26)
    check_cells(model_cells(group), group[0].file, kept=True)
    pin = compile_model(group)
    done = run_model(pin)
    check_finite(path_metrics(done), group[0].file)
    resolved = [m for m in group if isinstance(m, Resolved)]
    variance: tuple[VarianceRow, ...] = ()
    projection = None
    if any(r.actuals is not None for r in resolved):
        # the projection from the signing date, for the variance of the recorded months
        projection = run(compile_inputs([r.without_actuals() for r in resolved]))
        variance = tuple(variance_rows(resolved, labels, projection))
    # done.inputs: with each row's v3 stop month, where the service stopped
    return RunOutput(
        tuple(group), done.inputs, done, _row_infos(group, labels), variance, projection
    )


CONTRACT_METRICS = (
    "provider_surplus",
    "provider_min_reserves",
    "provider_insolvent_month",
    "income",
)
"""Each contract's metrics a portfolio's studies read, as ``<contract>.<metric>``."""


def metric_values(run: RunOutput) -> dict[str, FloatArray]:
    """Per row, the metrics a study reads: a scenario's ``summary.csv`` metrics; a
    portfolio's own, then each contract's :data:`CONTRACT_METRICS`."""
    if run.portfolio is None:
        return dict(run.results.summary)
    out = dict(run.model_results.summary)
    for c in run.model_results.contracts:
        for metric in CONTRACT_METRICS:
            out[f"{c.name}.{metric}"] = c.summary[metric]
    return out


def summaries(group: Sequence[Resolved]) -> dict[str, np.ndarray]:
    """Only the summary of every case of every scenario in ``group`` (no actuals): what a
    tornado or Sobol sample reads, computed in runs of rows that stay in cache."""
    summary = run_summary(compile_inputs(group))
    check_finite(summary, group[0].file)
    return summary


def check_finite(summary: dict[str, np.ndarray], file: str) -> None:
    """Refuse results in which money overflowed (blank would read as "none")."""
    for name, values in summary.items():
        if np.isinf(values).any():
            raise UsageError(
                f"{file}: {name} overflows (the amounts are too large to add up): "
                "use amounts in currency units of a sane size"
            )


def load_model(
    path: Source,
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
    actuals: str | Path | None = None,
) -> Model:
    """The scenario or portfolio at ``path``, validated, with every (selected) case."""
    doc = load_yaml(path)
    if is_portfolio(doc):
        refuse_portfolio_actuals(actuals, doc)
        return load_portfolio(doc, sets=sets, cases=cases)
    if is_batch(doc):
        raise ScenarioError(
            f"this is a batch file (a base and its variants): run its variants side by side "
            f"with `mhep-model compare {doc.file}` (or stress them over the same paths with "
            f"`mhep-model stress {doc.file}`)",
            file=doc.file,
            line=doc.line_of(("base",)),
            path=("base",),
        )
    return resolve(doc, sets=sets, cases=cases, actuals=actuals)


def run_scenario(
    path: Source,
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
    actuals: str | Path | None = None,
) -> RunOutput:
    """Load, validate and run every (selected) case of the scenario or portfolio at
    ``path``."""
    return run_models([load_model(path, sets=sets, cases=cases, actuals=actuals)])


def grid_summary(grid: PointGrid) -> dict[str, FloatArray]:
    """Every row's summary of a grid built from the base, rows point by point, case by
    case. Computed a case at a time: its points share every input no swept value reaches,
    so what depends on those alone is computed once (rows never interact: the same
    numbers as one batch)."""
    cases = grid.base.rows
    parts = [run_summary(grid.case_inputs(c)) for c in range(cases)]
    out = {}
    for name, first in parts[0].items():
        column = np.empty(grid.rows, dtype=first.dtype)
        for c, part in enumerate(parts):
            column[c::cases] = part[name]
        out[name] = column
    return out
