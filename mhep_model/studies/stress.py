"""Stress tests for a bid: Monte Carlo paths and break-even volumes.

``stress`` draws whole-people paths (spec section 9) for every case, in blocks of
:data:`~mhep_model.engine.stochastic.BLOCK` paths, each block with its own generator derived
from the seed, the case and the block number; blocks are grouped into chunks that run on
all cores, so results never depend on the chunk size or on scheduling, and memory stays
bounded (only per-path summaries are kept). ``break_even`` brackets roots on the
deterministic model, many candidates per vectorised batch.
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

from mhep_model import __version__
from mhep_model.engine import run
from mhep_model.engine.heap import retain_freed_memory
from mhep_model.engine.inputs import FloatArray, Inputs, take_rows
from mhep_model.engine.solve import find_roots
from mhep_model.engine.stochastic import BLOCK, Uncertainty, block_rng, block_summary
from mhep_model.errors import UsageError
from mhep_model.scenario import Resolved, compile_inputs, resolve
from mhep_model.scenario.limits import MAX_PATH_MONTHS, MAX_PATHS
from mhep_model.scenario.yamlio import Source, load_yaml
from mhep_model.studies.cluster import Cluster, map_ordered
from mhep_model.studies.run import sha256_of
from mhep_model.studies.summary import summary_columns

DEFAULT_PATHS = 10_000
MAX_CHUNK = 1_000_000
PERCENTILES = (5, 25, 50, 75, 95)
PERCENTILE_METRICS = (
    "provider_surplus",
    "provider_min_reserves",
    "income",
    "investor_multiple",
    "investor_irr",
    "job_start",
)
MAX_BREAK_EVEN_SCALE = 10.0
"""Break-even referral scales are sought in 0..10 times the case's own scale."""
LOSS_TOL = 0.5
"""[currency units]: an investor 'loses money' when received < drawn - this."""


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


def _case_key(name: str) -> int:
    """A stable number for a case's name: its paths do not depend on which cases run."""
    return zlib.crc32(name.encode("utf-8"))


def standard_errors(probabilities: dict[str, float], paths: int) -> dict[str, float]:
    """The Monte Carlo standard error of each probability over ``paths`` paths:
    sqrt(p (1 - p) / paths)."""
    return {k: math.sqrt(p * (1.0 - p) / paths) for k, p in probabilities.items()}


@dataclass(frozen=True)
class StressResult:
    """Per case, every path's summary metrics, plus break-even scales."""

    resolved: Resolved
    seed: int
    paths: int
    columns: tuple[str, ...]
    """``summary.csv`` columns after ``case``."""
    per_path: dict[str, dict[str, FloatArray]]
    """Per case, every path's summary metrics ``(paths,)``."""
    break_even: dict[str, dict[str, float]]
    referrals_per_month: dict[str, float]
    """Each case's deterministic referrals, averaged over its term [people/month]."""

    @property
    def case_names(self) -> tuple[str, ...]:
        return tuple(self.per_path)

    def reserves(self, case: str) -> FloatArray | None:
        """``(n, H)`` provider reserves by month [GBP] of the case's first ``n`` paths
        (all of them, up to :data:`FAN_PATHS`), when the run kept them."""
        return self.per_path[case].get(_RESERVES)

    def spv_cash(self, case: str) -> FloatArray | None:
        """``(n, H)`` the SPV's cash at each month end [GBP] of the first ``n`` paths."""
        return self.per_path[case].get(_SPV_CASH)

    def standard_errors(self, case: str) -> dict[str, float]:
        """The Monte Carlo standard error of each probability."""
        return standard_errors(self.probabilities(case), self.paths)

    def probabilities(self, case: str) -> dict[str, float]:
        """The chance, over paths, of each failure the provider, investor and SPV fear."""
        m = self.per_path[case]
        return {
            "provider_insolvent": float(np.mean(~np.isnan(m["provider_insolvent_month"]))),
            "investor_loses_money": float(
                np.mean(m["investor_received"] < m["investor_drawn"] - LOSS_TOL)
            ),
            "spv_funding_gap": float(np.mean(m["max_funding_gap"] > 0)),
            "payer_cap_binds": float(np.mean(m["capped"] > LOSS_TOL)),
        }

    def percentiles(self, case: str) -> dict[str, dict[int, float]]:
        """P5..P95 of the key metrics over paths (blank paths left out, e.g. no IRR)."""
        m = self.per_path[case]
        out: dict[str, dict[int, float]] = {}
        for metric in PERCENTILE_METRICS:
            if metric not in m:
                continue
            values = m[metric][~np.isnan(m[metric])]
            out[metric] = {
                p: float(np.percentile(values, p)) if values.size else math.nan for p in PERCENTILES
            }
        return out

    def insolvency_months(self, case: str) -> dict[str, float]:
        """The month in which insolvency most often starts, and the median such month."""
        months = self.per_path[case]["provider_insolvent_month"]
        months = months[~np.isnan(months)]
        if not months.size:
            return {"most_likely": math.nan, "median": math.nan}
        values, counts = np.unique(months, return_counts=True)
        return {"most_likely": float(values[counts.argmax()]), "median": float(np.median(months))}

    def manifest(self) -> dict[str, Any]:
        return {
            "tool": "mhep-model",
            "tool_version": __version__,
            "command": "stress",
            "scenario": self.resolved.file,
            "scenario_sha256": sha256_of(self.resolved.file),
            "cases": list(self.case_names),
            "set": {k: v for k, v in self.resolved.sets},
            "paths": self.paths,
            "block_paths": BLOCK,
            "seed": self.seed,
        }


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


@dataclass(frozen=True)
class _Job:
    """What every chunk of a stress run needs."""

    inp: Inputs
    unc: Uncertainty
    names: tuple[str, ...]
    seed: int
    keep_reserves: bool = False

    def run(self, unit: tuple[int, list[tuple[int, int]]]) -> dict[str, FloatArray]:
        """The summaries of the paths of one chunk: blocks of one case, in order (and, when
        asked for, the provider reserves and SPV cash by month of the case's first
        :data:`FAN_PATHS` paths, as float32, for the fan charts)."""
        row, blocks = unit
        by_month = {_RESERVES: "provider_reserves", _SPV_CASH: "spv_cash"}
        parts = []
        for block, size in blocks:
            rng = block_rng(self.seed, _case_key(self.names[row]), block)
            keep = min(size, FAN_PATHS - block * BLOCK) if self.keep_reserves else 0
            part = block_summary(self.inp, self.unc, row, size, rng, by_month if keep > 0 else {})
            for key in by_month if keep > 0 else ():
                part[key] = part[key][:keep]
            parts.append(part)
        return {k: np.concatenate([p[k] for p in parts if k in p]) for k in parts[0]}


FAN_PATHS = 100_000
"""Paths of a case whose monthly series the fan charts read: their percentiles are those
of all paths to within a fraction of a percent, and memory stays bounded (1M paths over
192 months would hold 1.5 GB per case)."""
_RESERVES = "__provider_reserves_by_month"
_SPV_CASH = "__spv_cash_by_month"


def stress(
    path: Source,
    *,
    cases: Sequence[str] | None = None,
    sets: Sequence[tuple[str, Any]] = (),
    paths: int = DEFAULT_PATHS,
    seed: int = 0,
    chunk_paths: int = BLOCK,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    keep_reserves: bool = False,
    actuals: str | Path | None = None,
    cluster: Cluster | None = None,
) -> StressResult:
    """Draw ``paths`` paths of every (selected) case; ``progress(done, total)`` per chunk.
    With ``cluster``, the chunks run as tasks on a Dask cluster (the same results)."""
    retain_freed_memory()  # a large study: freed arrays are reused (engine.heap)
    check_options(paths, seed, chunk_paths)
    resolved = resolve(load_yaml(path), sets=sets, cases=cases, actuals=actuals)
    path_months = (
        paths * len(resolved.cases) * max(c.scenario.contract.horizon for c in resolved.cases)
    )
    if path_months > MAX_PATH_MONTHS:
        raise UsageError(
            f"{paths:,} paths x {len(resolved.cases)} cases x their months = {path_months:,} "
            f"path-months is more than one stress run takes ({MAX_PATH_MONTHS:,}): use fewer "
            "paths or --case"
        )
    inp = compile_inputs(resolved)
    unc = case_uncertainty(resolved)
    names = [c.name for c in resolved.cases]
    deterministic = run(inp)
    columns = tuple(summary_columns(deterministic))
    job = _Job(inp, unc, tuple(names), seed, keep_reserves)
    work = chunks(len(names), paths, chunk_paths)
    per_path = run_chunks(job.run, work, names, workers=workers, progress=progress, cluster=cluster)
    return StressResult(
        resolved=resolved,
        seed=seed,
        paths=paths,
        columns=columns,
        per_path=per_path,
        break_even=break_even(inp, names),
        referrals_per_month={
            n: float(deterministic.summary["referrals"][i] / inp.term[i])
            for i, n in enumerate(names)
        },
    )


def _with_scale(inp: Inputs, multipliers: FloatArray) -> tuple[Inputs, int]:
    """Every row repeated once per candidate, its referral scale times the candidate."""
    rows, grid = multipliers.shape
    taken = take_rows(inp, np.repeat(np.arange(rows), grid))
    scale = taken.referrals_scale * multipliers.reshape(-1)[:, None]
    return dataclasses.replace(taken, referrals_scale=scale), grid


def break_even(inp: Inputs, names: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per case, the multiple of its referral scale at which the provider's total surplus,
    and its minimum reserves, reach zero (deterministic model; NaN when not in 0..10x;
    0 when the provider breaks even with no referrals at all)."""
    out: dict[str, dict[str, float]] = {n: {} for n in names}
    rows = inp.rows
    for metric, label in (
        ("provider_surplus", "surplus"),
        ("provider_min_reserves", "min_reserves"),
    ):

        def evaluate(x: FloatArray, metric: str = metric) -> FloatArray:
            batch, grid = _with_scale(inp, x)
            return run(batch).summary[metric].reshape(rows, grid)

        roots = find_roots(
            evaluate, np.zeros(rows), np.full(rows, MAX_BREAK_EVEN_SCALE), np.zeros(rows)
        )
        value = np.where(roots.at_lo >= 0, 0.0, roots.value)
        for name, v in zip(names, value, strict=True):
            out[name][label] = float(v)
    return out
