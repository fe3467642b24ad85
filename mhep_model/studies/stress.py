"""Stress tests for a bid or a portfolio: Monte Carlo paths and break-even volumes.

``stress`` draws whole-people paths (spec section 9) for every case (of every contract of
a portfolio, which then share one SPV per path: spec section 12) from keyed streams, in
chunks of blocks on all cores (:mod:`mhep_model.studies.stress_work`), so results never
depend on the chunk size or on scheduling; ``stress_models`` runs a batch's variants over
the same paths. ``break_even`` brackets roots on the deterministic model, many candidates
per vectorised batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mhep_model.engine.heap import retain_freed_memory
from mhep_model.engine.inputs import FloatArray
from mhep_model.engine.model import run_model
from mhep_model.engine.portfolio import PortfolioInputs, PortfolioResults, path_metrics
from mhep_model.engine.solve import find_roots
from mhep_model.engine.stochastic import (
    BLOCK,
)
from mhep_model.errors import UsageError
from mhep_model.scenario import Resolved
from mhep_model.scenario.limits import MAX_PATH_MONTHS, MAX_PATHS, PATH_MONTHS_PER_SECOND, duration
from mhep_model.scenario.model_inputs import compile_model
from mhep_model.scenario.portfolio import Portfolio
from mhep_model.scenario.yamlio import Source
from mhep_model.studies.cluster import Cluster
from mhep_model.studies.run import load_model
from mhep_model.studies.stress_result import (
    LOSS_TOL,
    PERCENTILE_METRICS,
    PERCENTILES,
    PORTFOLIO_PERCENTILE_METRICS,
    RESERVES,
    SPV_CASH,
    StressResult,
    standard_errors,
)
from mhep_model.studies.stress_work import (
    FAN_PATHS,
    SEP,
    StressJob,
    case_uncertainty,
    check_stress_memory,
    chunks,
    contracts_of,
    run_chunks,
    stream_key,
    variant_of,
)
from mhep_model.studies.summary import summary_columns

__all__ = [
    "FAN_PATHS",
    "LOSS_TOL",
    "PERCENTILES",
    "StressResult",
    "case_uncertainty",
    "standard_errors",
    "stream_key",
    "stress",
]

DEFAULT_PATHS = 10_000
MAX_CHUNK = 1_000_000
MAX_BREAK_EVEN_SCALE = 10.0
"""Break-even referral scales are sought in 0..10 times the case's own scale."""


def check_options(paths: int, seed: int, chunk_paths: int) -> None:
    """``--paths``, ``--seed`` and ``--chunk`` within what a stress run takes."""
    if paths < 1 or paths > MAX_PATHS:
        raise UsageError(f"--paths must be between 1 and {MAX_PATHS:,}, got {paths:,}")
    if seed < 0 or seed >= 2**63:
        raise UsageError(f"--seed must be a whole number from 0 to 2**63 - 1, got {seed}")
    if chunk_paths < 1 or chunk_paths > MAX_CHUNK:
        raise UsageError(f"--chunk must be between 1 and {MAX_CHUNK:,}, got {chunk_paths:,}")


@dataclass(frozen=True)
class StressOptions:
    """How a stress run draws and works: ``paths`` per case, the ``seed``, paths per unit
    of work (``chunk_paths``: results do not depend on it), ``workers`` (threads),
    ``progress(done, total)`` per chunk, ``keep_reserves`` (the monthly series the fan
    charts draw) and a Dask ``cluster`` (the same results)."""

    paths: int = DEFAULT_PATHS
    seed: int = 0
    chunk_paths: int = BLOCK
    workers: int | None = None
    progress: Callable[[int, int], None] | None = None
    keep_reserves: bool = False
    keep_paths: bool = False
    """Whether ``paths.csv`` will be written (its frame counts in the memory estimate)."""
    cluster: Cluster | None = None


def stress(
    path: Source,
    *,
    cases: Sequence[str] | None = None,
    sets: Sequence[tuple[str, Any]] = (),
    actuals: str | Path | None = None,
    **options: Any,
) -> StressResult:
    """Draw the paths of every (selected) case of a scenario or portfolio
    (``options``: the fields of :class:`StressOptions`). A portfolio's contracts' paths of
    the same number share one SPV."""
    opts = StressOptions(**options)
    check_options(opts.paths, opts.seed, opts.chunk_paths)
    return stress_model(load_model(path, sets=sets, cases=cases, actuals=actuals), opts)


def stress_model(model: Resolved | Portfolio, opts: StressOptions) -> StressResult:
    """:func:`stress` of a loaded scenario or portfolio."""
    return stress_models([model], opts)[0]


def stress_models(
    models: Sequence[Resolved | Portfolio], opts: StressOptions
) -> list[StressResult]:
    """Each of ``models`` (a batch's variants, with the same cases) over the same paths.
    Every path's draws come from streams keyed by the seed, the contract, the case and the
    path's number (never the variant), so the variants of a case see the same world path
    by path; variants whose contracts draw the same people draw them once."""
    paths, seed, chunk_paths = opts.paths, opts.seed, opts.chunk_paths
    retain_freed_memory()  # a large study: freed arrays are reused (engine.heap)
    check_options(paths, seed, chunk_paths)
    names = tuple(c.name for c in contracts_of(models[0])[0].cases)
    for model in models[1:]:  # path k of case c is the same world in every variant
        theirs = tuple(c.name for c in contracts_of(model)[0].cases)
        if theirs != names:
            raise UsageError(
                f"{model.file} has cases {', '.join(theirs)}; the first has "
                f"{', '.join(names)}: variants stressed together need the same cases"
            )
    pins = [compile_model(m) for m in models]
    one = pins[0].names == ("",)
    work_months = sum(sum(i.months for i in p.contracts) + (0 if one else p.months) for p in pins)
    path_months = paths * len(names) * work_months
    if path_months > MAX_PATH_MONTHS:
        raise UsageError(
            f"{paths:,} paths x {len(names)} cases x {work_months} months = {path_months:,} "
            f"path-months is more than one stress run takes ({MAX_PATH_MONTHS:,}, "
            f"{duration(MAX_PATH_MONTHS / PATH_MONTHS_PER_SECOND)} on 2 cores; this would "
            f"take {duration(path_months / PATH_MONTHS_PER_SECOND)}): use fewer paths, "
            "variants or --case"
        )
    by_month = {SPV_CASH: "spv_cash"} if opts.keep_reserves else {}
    if opts.keep_reserves and one:
        by_month = {RESERVES: "provider_reserves"} | by_month
    variants = tuple(variant_of(m, p) for m, p in zip(models, pins, strict=True))
    job = StressJob(variants, names, seed, tuple(by_month.items()))
    check_stress_memory(job, names, paths, path_months, opts.keep_paths)
    work = chunks(len(names), paths, chunk_paths)
    per_path = run_chunks(
        job.run, work, names, workers=opts.workers, progress=opts.progress, cluster=opts.cluster
    )
    out = []
    for v, (model, pin) in enumerate(zip(models, pins, strict=True)):
        mine = per_path
        if len(models) > 1:
            prefix = f"{v}{SEP}"
            mine = {
                case: {k[len(prefix) :]: a for k, a in got.items() if k.startswith(prefix)}
                for case, got in per_path.items()
            }
        out.append(_result(model, pin, names, mine, opts))
    return out


def _result(
    model: Resolved | Portfolio,
    pin: PortfolioInputs,
    names: tuple[str, ...],
    per_path: dict[str, dict[str, FloatArray]],
    opts: StressOptions,
) -> StressResult:
    """A model's stress result from its paths: its columns, the same cases run
    deterministically and the break-even volumes."""
    deterministic = run_model(pin)
    one = pin.names == ("",)
    columns = summary_columns(deterministic.contracts[0]) if one else path_metrics(deterministic)
    at = path_metrics(deterministic)
    spread = PERCENTILE_METRICS if one else PORTFOLIO_PERCENTILE_METRICS
    det = {n: {k: float(at[k][i]) for k in spread if k in at} for i, n in enumerate(names)}
    breaks = break_even(pin, names, deterministic)
    return StressResult(model, opts.seed, opts.paths, tuple(columns), per_path, breaks, det)


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


def _investor_net(metrics: dict[str, FloatArray]) -> FloatArray:
    return metrics["investor_received"] - metrics["investor_drawn"]


def break_even(
    pin: PortfolioInputs, names: Sequence[str], det: PortfolioResults
) -> dict[str, dict[str, float]]:
    """Per case, the multiple of the referral volume (every contract's, one shared scale;
    0..10x, NaN when not reached, 0 when reached with no referrals at all) at which, for a
    contract on its own, the provider's total surplus and its minimum reserves reach zero
    (with the referrals a month that means); for a portfolio, the investor gets back what
    it put in (``det``: the cases as they are). Deterministic model, many candidates per
    vectorised batch."""
    rows = pin.rows
    one = pin.names == ("",)
    goals: list[tuple[str, Callable[[dict[str, FloatArray]], FloatArray]]] = (
        [
            ("surplus", lambda m: m["provider_surplus"]),
            ("min_reserves", lambda m: m["provider_min_reserves"]),
        ]
        if one
        else [("shared", _investor_net)]
    )
    out: dict[str, dict[str, float]] = {n: {} for n in names}
    for label, goal in goals:

        def evaluate(x: FloatArray, goal: Any = goal) -> FloatArray:
            metrics = path_metrics(run_model(with_shared_scale(pin, x)))
            return np.asarray(goal(metrics)).reshape(rows, x.shape[1])

        roots = find_roots(
            evaluate, np.zeros(rows), np.full(rows, MAX_BREAK_EVEN_SCALE), np.zeros(rows)
        )
        value = np.where(roots.at_lo >= 0, 0.0, roots.value)
        for i, name in enumerate(names):
            if not one:
                out[name]["break_even_shared_referral_scale"] = float(value[i])
                continue
            # the volume: the case's deterministic referrals a month, averaged over its term
            per_month = float(det.contracts[0].summary["referrals"][i] / pin.term[i])
            out[name][f"break_even_referral_scale_{label}"] = float(value[i])
            out[name][f"break_even_referrals_per_month_{label}"] = float(value[i]) * per_month
    return out
