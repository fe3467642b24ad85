"""Monte Carlo stress of a portfolio (spec sections 9 and 12): one SPV per path.

Each contract's paths are drawn independently, block by block, from its own generator
derived from the seed, the contract's name and the case's name (so a contract's paths do
not depend on which other contracts or cases run); the contracts' paths of the same number
then share one SPV and one investor. Break-even: the multiple of every contract's referral
volume (one shared scale) at which the investor gets back what it put in.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mhep_model import __version__
from mhep_model.engine.heap import retain_freed_memory
from mhep_model.engine.inputs import FloatArray
from mhep_model.engine.portfolio import PortfolioInputs, run_portfolio
from mhep_model.engine.solve import find_roots
from mhep_model.engine.stochastic import BLOCK, SLICE_CELLS, Uncertainty, block_rng, draw_flows
from mhep_model.errors import UsageError
from mhep_model.scenario.limits import MAX_PATH_MONTHS
from mhep_model.scenario.portfolio import Portfolio, load_portfolio
from mhep_model.scenario.portfolio_inputs import compile_portfolio
from mhep_model.scenario.yamlio import Source, load_yaml
from mhep_model.studies.cluster import Cluster
from mhep_model.studies.portfolio import deterministic_flows
from mhep_model.studies.run import sha256_of
from mhep_model.studies.stress import (
    LOSS_TOL,
    MAX_BREAK_EVEN_SCALE,
    PERCENTILES,
    case_uncertainty,
    check_options,
    chunks,
    run_chunks,
    standard_errors,
)

PORTFOLIO_PERCENTILE_METRICS = (
    "income",
    "capped",
    "investor_multiple",
    "investor_irr",
    "loan_loss",
    "providers_insolvent",
)


def contract_key(contract: str, case: str) -> int:
    """A stable number for a contract's paths in a case."""
    return zlib.crc32(f"{contract}\0{case}".encode())


@dataclass(frozen=True)
class PortfolioStressResult:
    """Per case, every path's portfolio metrics and each contract's provider metrics."""

    portfolio: Portfolio
    seed: int
    paths: int
    per_path: dict[str, dict[str, FloatArray]]
    """Per case: portfolio summary metrics and ``<contract>.<metric>``, each ``(paths,)``."""
    break_even: dict[str, float]
    """Per case: the shared referral scale at which the investor is repaid in full."""

    @property
    def case_names(self) -> tuple[str, ...]:
        return tuple(self.per_path)

    @property
    def contract_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.portfolio.contracts)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every path's metrics, in ``paths.csv``'s order."""
        return tuple(next(iter(self.per_path.values()), {}))

    def standard_errors(self, case: str) -> dict[str, float]:
        """The Monte Carlo standard error of each probability."""
        return standard_errors(self.probabilities(case), self.paths)

    def probabilities(self, case: str) -> dict[str, float]:
        """The chance, over paths, of each failure the investor, SPV and providers fear."""
        m = self.per_path[case]
        out = {
            "investor_loses_money": float(
                np.mean(m["investor_received"] < m["investor_drawn"] - LOSS_TOL)
            ),
            "spv_funding_gap": float(np.mean(m["max_funding_gap"] > 0)),
            "any_provider_insolvent": float(np.mean(m["providers_insolvent"] > 0)),
            "payer_cap_binds": float(np.mean(m["capped"] > LOSS_TOL)),
        }
        for name in self.contract_names:
            insolvent = ~np.isnan(m[f"{name}.provider_insolvent_month"])
            out[f"{name}.provider_insolvent"] = float(np.mean(insolvent))
        return out

    def percentiles(self, case: str) -> dict[str, dict[int, float]]:
        """P5..P95 over paths (blank paths left out, e.g. no IRR)."""
        m = self.per_path[case]
        out: dict[str, dict[int, float]] = {}
        for metric in PORTFOLIO_PERCENTILE_METRICS:
            values = m[metric][~np.isnan(m[metric])]
            out[metric] = {
                p: float(np.percentile(values, p)) if values.size else math.nan for p in PERCENTILES
            }
        return out

    def manifest(self) -> dict[str, Any]:
        pf = self.portfolio
        return {
            "tool": "mhep-model",
            "tool_version": __version__,
            "command": "stress",
            "portfolio": pf.file,
            "portfolio_sha256": sha256_of(pf.file),
            "contracts": {
                c.name: {"file": c.file, "sha256": sha256_of(c.file)} for c in pf.contracts
            },
            "cases": list(self.case_names),
            "set": {k: v for k, v in pf.sets},
            "paths": self.paths,
            "block_paths": BLOCK,
            "seed": self.seed,
        }


CONTRACT_METRICS = ("provider_surplus", "provider_min_reserves", "provider_insolvent_month")


def _rows(x: Any, start: int, n: int) -> Any:
    """Paths ``start`` to ``start + n`` of a drawn array, or of each array of a list."""
    if isinstance(x, list):
        return [a[start : start + n] for a in x]
    return x[start : start + n]


@dataclass(frozen=True)
class _Job:
    pin: PortfolioInputs
    uncertainty: tuple[Uncertainty, ...]
    cases: tuple[str, ...]
    seed: int

    def run(self, unit: tuple[int, list[tuple[int, int]]]) -> dict[str, FloatArray]:
        """The paths of one chunk: blocks of one case, each contract drawn on its own."""
        row, blocks = unit
        parts = []
        for block, size in blocks:
            flows = []
            for c, (name, inp) in enumerate(zip(self.pin.names, self.pin.contracts, strict=True)):
                rng = block_rng(self.seed, contract_key(name, self.cases[row]), block)
                flows.append(draw_flows(inp, self.uncertainty[c], row, size, rng))
            # the engine over runs of paths, so memory does not grow with the horizon
            step = max(1, SLICE_CELLS // max(self.pin.months, 1))
            for start in range(0, size, step):
                n = min(step, size - start)
                mine = [tuple(_rows(x, start, n) for x in f) for f in flows]
                results = run_portfolio(self.pin.repeat(row, n), mine)
                part = dict(results.summary)
                for contract in results.contracts:
                    for metric in CONTRACT_METRICS:
                        part[f"{contract.name}.{metric}"] = contract.summary[metric]
                del results
                parts.append(part)
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def stress_portfolio(
    path: Source,
    *,
    cases: Sequence[str] | None = None,
    sets: Sequence[tuple[str, Any]] = (),
    paths: int = 10_000,
    seed: int = 0,
    chunk_paths: int = BLOCK,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    cluster: Cluster | None = None,
) -> PortfolioStressResult:
    """Draw ``paths`` paths of every (selected) case of the portfolio at ``path``. With
    ``cluster``, the blocks run as tasks on a Dask cluster (the same results)."""
    retain_freed_memory()  # a large study: freed arrays are reused (engine.heap)
    check_options(paths, seed, chunk_paths)
    pf = load_portfolio(load_yaml(path), sets=sets, cases=cases)
    pin = compile_portfolio(pf)
    work_months = sum(inp.months for inp in pin.contracts) + pin.months
    path_months = paths * len(pf.case_names) * work_months
    if path_months > MAX_PATH_MONTHS:
        raise UsageError(
            f"{paths:,} paths x {len(pf.case_names)} cases x {work_months} contract and "
            f"portfolio months = {path_months:,} is more than one stress run takes "
            f"({MAX_PATH_MONTHS:,}): use fewer paths or --case"
        )
    uncertainty = tuple(
        case_uncertainty(_in_order(c.resolved, pf.case_names)) for c in pf.contracts
    )
    job = _Job(pin, uncertainty, pf.case_names, seed)
    work = chunks(len(pf.case_names), paths, chunk_paths)
    per_path = run_chunks(
        job.run, work, pf.case_names, workers=workers, progress=progress, cluster=cluster
    )
    return PortfolioStressResult(pf, seed, paths, per_path, _break_even(pin, pf.case_names))


def _in_order(resolved: Any, names: Sequence[str]) -> Any:
    by_name = {c.name: c for c in resolved.cases}
    return dataclasses.replace(resolved, cases=tuple(by_name[n] for n in names))


def with_shared_scale(pin: PortfolioInputs, multipliers: FloatArray) -> PortfolioInputs:
    """Every row repeated once per candidate; every contract's referral scale times it."""
    rows, grid = multipliers.shape
    taken = pin.take(np.repeat(np.arange(rows), grid))
    factor = multipliers.reshape(-1)[:, None]
    contracts = tuple(
        dataclasses.replace(inp, referrals_scale=inp.referrals_scale * factor)
        for inp in taken.contracts
    )
    return dataclasses.replace(taken, contracts=contracts)


def _break_even(pin: PortfolioInputs, names: Sequence[str]) -> dict[str, float]:
    """Per case, the shared referral scale (0..10x) at which received = drawn."""
    rows = pin.rows

    def evaluate(x: FloatArray) -> FloatArray:
        batch = with_shared_scale(pin, x)
        s = run_portfolio(batch, deterministic_flows(batch)).summary
        return (s["investor_received"] - s["investor_drawn"]).reshape(rows, x.shape[1])

    roots = find_roots(
        evaluate, np.zeros(rows), np.full(rows, MAX_BREAK_EVEN_SCALE), np.zeros(rows)
    )
    value = np.where(roots.at_lo >= 0, 0.0, roots.value)
    return {name: float(v) for name, v in zip(names, value, strict=True)}
