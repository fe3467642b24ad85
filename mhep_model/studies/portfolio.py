"""Running portfolio files (spec section 12): every case of every contract, one SPV."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mhep_model import __version__
from mhep_model.engine.inputs import FloatArray
from mhep_model.engine.model import run_model
from mhep_model.engine.portfolio import PortfolioInputs, PortfolioResults
from mhep_model.errors import UsageError
from mhep_model.scenario.portfolio import Portfolio, load_portfolio
from mhep_model.scenario.portfolio_inputs import compile_portfolio, portfolio_starts
from mhep_model.scenario.yamlio import Source, load_yaml
from mhep_model.studies.run import sha256_of


@dataclass(frozen=True)
class PortfolioRun:
    """Rows computed in one batch: every case of one portfolio (or of its variants)."""

    portfolios: tuple[Portfolio, ...]
    inputs: PortfolioInputs
    results: PortfolioResults
    cases: tuple[str, ...]
    """The case of each row."""
    starts: tuple[str, ...]
    """``YYYY-MM`` of portfolio month 1 of each row."""
    labels: tuple[str | None, ...]
    """The variant (or grid point) of each row, if any."""

    @property
    def first(self) -> Portfolio:
        return self.portfolios[0]

    def manifest(self, command: str = "run") -> dict[str, Any]:
        """What produced these outputs: tool version, files and hashes, options."""
        pf = self.first
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


def run_portfolios(
    group: Sequence[Portfolio], labels: Sequence[str | None] | None = None
) -> PortfolioRun:
    """Compute every case of every portfolio in ``group`` (the same contracts) as rows."""
    labels = list(labels) if labels is not None else [None] * len(group)
    pin = compile_portfolio(group)
    results = run_model(pin)
    for name, values in results.summary.items():
        if np.isinf(values).any():
            raise UsageError(f"{group[0].file}: {name} overflows: use amounts of a sane size")
    return PortfolioRun(
        portfolios=tuple(group),
        inputs=pin,
        results=results,
        cases=tuple(n for pf in group for n in pf.case_names),
        starts=tuple(portfolio_starts(group)),
        labels=tuple(label for pf, label in zip(group, labels, strict=True) for _ in pf.case_names),
    )


def run_portfolio_file(
    path: Source,
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
) -> PortfolioRun:
    """Load, validate and run every (selected) case of the portfolio at ``path``."""
    return run_portfolios([load_portfolio(load_yaml(path), sets=sets, cases=cases)])


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
