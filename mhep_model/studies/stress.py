"""Stress tests for a bid or a portfolio: Monte Carlo paths and break-even volumes.

``stress`` draws whole-people paths (spec section 9) for every case (of every contract of
a portfolio, which then share one SPV per path: spec section 12), in blocks of
:data:`~mhep_model.engine.stochastic.BLOCK` paths, each block with its own generator
derived from the seed, the contract, the case and the block number; blocks are grouped
into chunks that run on all cores, so results never depend on the chunk size or on
scheduling, and memory stays bounded (only per-path summaries are kept). ``break_even``
brackets roots on the deterministic model, many candidates per vectorised batch.
"""

from __future__ import annotations

import dataclasses
import math
import os
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mhep_model.engine.heap import retain_freed_memory
from mhep_model.engine.inputs import FloatArray
from mhep_model.engine.model import run_model
from mhep_model.engine.portfolio import PortfolioInputs, PortfolioResults, path_metrics
from mhep_model.engine.solve import find_roots
from mhep_model.engine.stochastic import BLOCK, Uncertainty, block_streams, block_summary
from mhep_model.engine.streams import gamma_inv
from mhep_model.errors import UsageError
from mhep_model.scenario import Resolved
from mhep_model.scenario.limits import MAX_PATH_MONTHS, MAX_PATHS
from mhep_model.scenario.model_inputs import compile_model, in_case_order
from mhep_model.scenario.portfolio import Portfolio
from mhep_model.scenario.yamlio import Source
from mhep_model.studies.cluster import Cluster, map_ordered
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
from mhep_model.studies.summary import summary_columns

__all__ = ["LOSS_TOL", "PERCENTILES", "StressResult", "standard_errors", "stress"]

DEFAULT_PATHS = 10_000
MAX_CHUNK = 1_000_000
MAX_BREAK_EVEN_SCALE = 10.0
"""Break-even referral scales are sought in 0..10 times the case's own scale."""


def case_uncertainty(resolved: Resolved | Sequence[Resolved]) -> Uncertainty:
    """Spec section 9 parameters of every case row (not amendable: from each case's own)."""
    group = [resolved] if isinstance(resolved, Resolved) else list(resolved)
    level, monthly, conc = [], [], []
    for r in group:
        for case in r.cases:
            u = case.scenario.uncertainty
            refs = u.referrals if u is not None else None
            rates = u.rates if u is not None else None
            level.append(refs.level_cv if refs is not None else 0.0)
            monthly.append(refs.monthly_cv if refs is not None else 0.0)
            conc.append(rates.concentration if rates is not None else math.inf)
    return Uncertainty(np.array(level), np.array(monthly), np.array(conc))


Unit = tuple[int, list[tuple[int, int]]]
"""A unit of work: (case row, [(block, size), ...])."""


def check_options(paths: int, seed: int, chunk_paths: int) -> None:
    """``--paths``, ``--seed`` and ``--chunk`` within what a stress run takes."""
    if paths < 1 or paths > MAX_PATHS:
        raise UsageError(f"--paths must be between 1 and {MAX_PATHS:,}, got {paths:,}")
    if seed < 0 or seed >= 2**63:
        raise UsageError(f"--seed must be a whole number from 0 to 2**63 - 1, got {seed}")
    if chunk_paths < 1 or chunk_paths > MAX_CHUNK:
        raise UsageError(f"--chunk must be between 1 and {MAX_CHUNK:,}, got {chunk_paths:,}")


def chunks(n_cases: int, paths: int, chunk_paths: int) -> list[Unit]:
    """Work units of at most ``chunk_paths`` paths, whole blocks of one case each."""
    blocks_per_chunk = max(1, chunk_paths // BLOCK)
    n_blocks = -(-paths // BLOCK)
    out = []
    for row in range(n_cases):
        blocks = [(b, min(BLOCK, paths - b * BLOCK)) for b in range(n_blocks)]
        for start in range(0, n_blocks, blocks_per_chunk):
            out.append((row, blocks[start : start + blocks_per_chunk]))
    return out


def run_chunks(
    run_unit: Callable[[Unit], dict[str, FloatArray]],
    work: Sequence[Unit],
    names: Sequence[str],
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    cluster: Cluster | None = None,
) -> dict[str, dict[str, FloatArray]]:
    """Every unit's per-path results, joined in block order per case; ``progress(paths
    done, paths)`` as units finish. Threads by default: numpy's draws and arithmetic
    release the GIL (measured: processes are no faster here, and threads share the inputs
    without copying); with ``cluster``, Dask tasks (the same results)."""
    sizes = [sum(size for _, size in unit[1]) for unit in work]
    total, finished = sum(sizes), [0]

    def done(i: int) -> None:
        finished[0] += sizes[i]
        if progress is not None:
            progress(finished[0], total)

    if cluster is not None:
        results = map_ordered(cluster, run_unit, work, done)
    else:
        n_workers = min(workers or os.cpu_count() or 1, len(work))
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            results = []
            mapped = pool.map(run_unit, work) if n_workers > 1 else map(run_unit, work)
            for i, result in enumerate(mapped):
                results.append(result)
                done(i)
    per_case: dict[str, list[dict[str, FloatArray]]] = {n: [] for n in names}
    for unit, result in zip(work, results, strict=True):
        per_case[names[unit[0]]].append(result)
    return {
        # a key only some units give (monthly series of a case's first paths) joins theirs
        name: {k: np.concatenate([c[k] for c in parts if k in c]) for k in parts[0]}
        for name, parts in per_case.items()
    }


def stream_key(contract: str, case: str) -> int:
    """A stable number for a contract's paths in a case (a contract on its own has no
    name: its case's name alone), so its paths do not depend on which other contracts or
    cases run."""
    text = f"{contract}\0{case}" if contract else case
    return zlib.crc32(text.encode("utf-8"))


@dataclass(frozen=True)
class _Job:
    """What every chunk of a stress run needs."""

    pin: PortfolioInputs
    unc: tuple[Uncertainty, ...]
    names: tuple[str, ...]
    seed: int
    by_month: tuple[tuple[str, str], ...] = ()
    common_level_cv: float = 0.0

    def run(self, unit: Unit) -> dict[str, FloatArray]:
        """The metrics of the paths of one chunk: blocks of one case, in order, each
        contract drawn from its own streams (and any monthly series asked for, of the
        case's first :data:`FAN_PATHS` paths, as float32, for the fan charts)."""
        row, blocks = unit
        parts = []
        for block, size in blocks:
            key = self.names[row]
            streams = [
                block_streams(self.seed, stream_key(c, key), block, size) for c in self.pin.names
            ]
            keep = min(size, FAN_PATHS - block * BLOCK) if self.by_month else 0
            by_month = dict(self.by_month) if keep > 0 else {}
            part = block_summary(
                self.pin, self.unc, row, streams, by_month, self._common(key, block, size)
            )
            for k in by_month:
                part[k] = part[k][:keep]
            parts.append(part)
        return {k: np.concatenate([p[k] for p in parts if k in p]) for k in parts[0]}

    def _common(self, case: str, block: int, size: int) -> FloatArray | float:
        """The portfolio's shared level per path (spec 9: one stream for every contract,
        keyed by the case alone); 1 without ``common_level_cv``."""
        if self.common_level_cv <= 0.0:
            return 1.0
        streams = block_streams(self.seed, stream_key("", case), block, size)
        return gamma_inv(streams.uniforms("common_level"), self.common_level_cv)


FAN_PATHS = 100_000
"""Paths of a case whose monthly series the fan charts read: their percentiles are those
of all paths to within a fraction of a percent, and memory stays bounded (1M paths over
192 months would hold 1.5 GB per case)."""


def _contracts(model: Resolved | Portfolio) -> list[Resolved]:
    """Each contract's cases, in the run's case order (a scenario is its own contract)."""
    if isinstance(model, Resolved):
        return [model]
    return [in_case_order(c.resolved, model.case_names) for c in model.contracts]


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
    """:func:`stress` of a loaded scenario or portfolio. Every path's draws come from
    streams keyed by the seed, the contract, the case and the path's number (never the
    variant of a batch), so the variants of a case see the same world path by path."""
    paths, seed, chunk_paths = opts.paths, opts.seed, opts.chunk_paths
    retain_freed_memory()  # a large study: freed arrays are reused (engine.heap)
    check_options(paths, seed, chunk_paths)
    contracts = _contracts(model)
    names = tuple(c.name for c in contracts[0].cases)
    pin = compile_model(model)
    one = len(contracts) == 1 and pin.names == ("",)
    work_months = sum(inp.months for inp in pin.contracts) + (0 if one else pin.months)
    path_months = paths * len(names) * work_months
    if path_months > MAX_PATH_MONTHS:
        raise UsageError(
            f"{paths:,} paths x {len(names)} cases x {work_months} months = {path_months:,} "
            f"path-months is more than one stress run takes ({MAX_PATH_MONTHS:,}): use fewer "
            "paths or --case"
        )
    deterministic = run_model(pin)
    by_month = {SPV_CASH: "spv_cash"} if opts.keep_reserves else {}
    if opts.keep_reserves and one:
        by_month = {RESERVES: "provider_reserves"} | by_month
    unc = tuple(case_uncertainty(c) for c in contracts)
    common_cv = model.spec.uncertainty.common_level_cv if isinstance(model, Portfolio) else 0.0
    job = _Job(pin, unc, names, seed, tuple(by_month.items()), common_cv)
    work = chunks(len(names), paths, chunk_paths)
    per_path = run_chunks(
        job.run, work, names, workers=opts.workers, progress=opts.progress, cluster=opts.cluster
    )
    columns = summary_columns(deterministic.contracts[0]) if one else path_metrics(deterministic)
    at = path_metrics(deterministic)
    spread = PERCENTILE_METRICS if one else PORTFOLIO_PERCENTILE_METRICS
    det = {n: {k: float(at[k][i]) for k in spread if k in at} for i, n in enumerate(names)}
    return StressResult(
        model, seed, paths, tuple(columns), per_path, break_even(pin, names, deterministic), det
    )


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
