"""The work of a stress run: what each contract of each case draws, in chunks of blocks
of paths on threads or a Dask cluster, and which draws a batch's variants share.

Blocks of :data:`~mhep_model.engine.stochastic.BLOCK` paths are grouped into chunks that
run on all cores; every path's draws come from keyed streams (seed, contract, case, path),
so results never depend on the chunk size or on scheduling, and memory stays bounded
(only per-path summaries are kept).
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from mhep_model.engine.inputs import FloatArray
from mhep_model.engine.portfolio import PortfolioInputs
from mhep_model.engine.stochastic import (
    BLOCK,
    Drawn,
    Uncertainty,
    block_streams,
    draw_flows,
    funnel_key,
    summarise_block,
)
from mhep_model.engine.streams import gamma_inv
from mhep_model.scenario import Resolved
from mhep_model.scenario.limits import (
    BASE_BYTES,
    PATH_MONTHS_PER_SECOND,
    check_memory,
    duration,
)
from mhep_model.scenario.model_inputs import in_case_order, resolved_contracts
from mhep_model.scenario.portfolio import Portfolio
from mhep_model.studies.cluster import Cluster, map_ordered

Unit = tuple[int, list[tuple[int, int]]]
"""A unit of work: a case row and its blocks ``(block number, paths)``, in order."""


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

    joined = _Joined(work, sizes, names)
    if cluster is not None:
        for i, result in enumerate(map_ordered(cluster, run_unit, work, done)):
            joined.add(i, result)
        return joined.out()
    n_workers = min(workers or os.cpu_count() or 1, len(work))
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        mapped = pool.map(run_unit, work) if n_workers > 1 else map(run_unit, work)
        for i, result in enumerate(mapped):
            joined.add(i, result)  # copied into place: a unit's arrays are freed at once
            done(i)
    return joined.out()


class _Joined:
    """Units' per-path results joined in block order per case. Each metric of a case is
    one array made when its first unit arrives and filled in place (not a list of parts
    joined at the end, which held every path twice: issue 26); the monthly series of a
    case's first paths (2-D, at most :data:`FAN_PATHS` rows) are joined at the end."""

    def __init__(self, work: Sequence[Unit], sizes: Sequence[int], names: Sequence[str]) -> None:
        self.work, self.sizes, self.names = work, sizes, names
        self.paths = {n: 0 for n in names}
        for unit, size in zip(work, sizes, strict=True):
            self.paths[names[unit[0]]] += size
        self.filled = {n: 0 for n in names}
        self.per_case: dict[str, dict[str, FloatArray]] = {n: {} for n in names}
        self.parts: dict[str, dict[str, list[FloatArray]]] = {n: {} for n in names}

    def add(self, i: int, result: dict[str, FloatArray]) -> None:
        name, size = self.names[self.work[i][0]], self.sizes[i]
        at, mine, parts = self.filled[name], self.per_case[name], self.parts[name]
        for k, a in result.items():
            if a.ndim > 1:
                parts.setdefault(k, []).append(a)
                mine.setdefault(k, a[:0])  # keeps the first unit's key order
                continue
            if k not in mine:
                mine[k] = np.empty(self.paths[name], dtype=a.dtype)
            mine[k][at : at + size] = a
        self.filled[name] = at + size

    def out(self) -> dict[str, dict[str, FloatArray]]:
        for name, parts in self.parts.items():
            for k, arrays in parts.items():
                self.per_case[name][k] = np.concatenate(arrays)
        return self.per_case


def stream_key(contract: str, case: str) -> int:
    """A stable number for a contract's paths in a case (a contract on its own has no
    name: its case's name alone), so its paths do not depend on which other contracts or
    cases run."""
    text = f"{contract}\0{case}" if contract else case
    return zlib.crc32(text.encode("utf-8"))


SEP = "\x1f"
"""Between a batch variant's number and a metric's name in a chunk's results."""


@dataclass(frozen=True)
class Variant:
    """One scenario or portfolio of a stress run (a batch runs several on the same paths)."""

    pin: PortfolioInputs
    unc: tuple[Uncertainty, ...]
    common_level_cv: float
    keys: tuple[tuple[tuple[str, bytes], ...], ...]
    """Per case row, per contract: its name and what its draws depend on
    (:func:`~mhep_model.engine.stochastic.funnel_key`)."""


def variant_of(model: Resolved | Portfolio, pin: PortfolioInputs) -> Variant:
    contracts = contracts_of(model)
    unc = tuple(case_uncertainty(c) for c in contracts)
    common = model.spec.uncertainty.common_level_cv if isinstance(model, Portfolio) else 0.0
    keys = tuple(
        tuple(
            (name, funnel_key(inp, u, row, common))
            for name, inp, u in zip(pin.names, pin.contracts, unc, strict=True)
        )
        for row in range(pin.rows)
    )
    return Variant(pin, unc, common, keys)


@dataclass(frozen=True)
class StressJob:
    """What every chunk of a stress run needs."""

    variants: tuple[Variant, ...]
    names: tuple[str, ...]
    seed: int
    by_month: tuple[tuple[str, str], ...] = ()

    def run(self, unit: Unit) -> dict[str, FloatArray]:
        """The metrics of the paths of one chunk: blocks of one case, in order, each
        contract drawn from its own streams (and any monthly series asked for, of the
        case's first :data:`FAN_PATHS` paths, as float32, for the fan charts). Variants
        whose contract draws the same people (same streams, same funnel) draw them once;
        a batch's results are keyed ``<variant number><SEP><metric>``."""
        row, blocks = unit
        parts = []
        for block, size in blocks:
            keep = min(size, FAN_PATHS - block * BLOCK) if self.by_month else 0
            by_month = dict(self.by_month) if keep > 0 else {}
            drawn: dict[tuple[str, bytes], Drawn] = {}
            part: dict[str, FloatArray] = {}
            for v, var in enumerate(self.variants):
                people = [self._drawn(var, row, block, size, c, drawn) for c in range(len(var.unc))]
                got = summarise_block(var.pin, row, people, by_month)
                for k in by_month:
                    got[k] = got[k][:keep]
                prefix = f"{v}{SEP}" if len(self.variants) > 1 else ""
                part.update({prefix + k: value for k, value in got.items()})
            parts.append(part)
        return {k: np.concatenate([p[k] for p in parts if k in p]) for k in parts[0]}

    def _drawn(
        self,
        var: Variant,
        row: int,
        block: int,
        size: int,
        c: int,
        drawn: dict[tuple[str, bytes], Drawn],
    ) -> Drawn:
        key = var.keys[row][c]
        if key not in drawn:
            case = self.names[row]
            streams = block_streams(self.seed, stream_key(key[0], case), block, size)
            common = self._common(var.common_level_cv, case, block, size)
            drawn[key] = draw_flows(var.pin.contracts[c], var.unc[c], row, streams, common)
        return drawn[key]

    def _common(self, cv: float, case: str, block: int, size: int) -> FloatArray | float:
        """The portfolio's shared level per path (spec 9: one stream for every contract,
        keyed by the case alone); 1 without ``common_level_cv``."""
        if cv <= 0.0:
            return 1.0
        streams = block_streams(self.seed, stream_key("", case), block, size)
        return gamma_inv(streams.uniforms("common_level"), cv)


PATHS_CSV_BYTES = 22
"""Memory of one value of ``paths.csv`` while its frame is built and written [bytes]
(measured: 10 cases x 50,000 paths of 41 columns added 441 MB)."""


def check_stress_memory(
    job: StressJob, names: Sequence[str], paths: int, path_months: int, keep_paths: bool
) -> None:
    """Refuse a stress run whose paths' results would not fit in memory, before it draws
    them. One path of the first case is run to see what each path keeps (its metrics,
    every variant's, and any monthly series for the charts); the estimate adds the
    ``paths.csv`` frame when asked for."""
    probe = job.run((0, [(0, 1)]))
    per_path = sum(a.nbytes for a in probe.values() if a.ndim == 1)
    monthly = sum(a.nbytes for a in probe.values() if a.ndim > 1)
    values = sum(1 for a in probe.values() if a.ndim == 1)
    kept = len(names) * paths
    need = BASE_BYTES + kept * per_path + len(names) * min(paths, FAN_PATHS) * monthly * 2
    if keep_paths:
        need += kept * values * PATHS_CSV_BYTES
    took = duration(path_months / PATH_MONTHS_PER_SECOND)
    check_memory(
        need,
        f"{paths:,} paths x {len(names)} cases (up to {took} on 2 cores)",
        "use fewer paths or cases (--case)"
        + (", or leave out --paths-csv" if keep_paths else "")
        + (", or leave out --charts" if monthly else ""),
    )


FAN_PATHS = 100_000
"""Paths of a case whose monthly series the fan charts read: their percentiles are those
of all paths to within a fraction of a percent, and memory stays bounded (1M paths over
192 months would hold 1.5 GB per case)."""


def contracts_of(model: Resolved | Portfolio) -> list[Resolved]:
    """Each contract's cases, in the run's case order (a scenario is its own contract)."""
    if isinstance(model, Resolved):
        return [model]
    return [in_case_order(r, model.case_names) for r in resolved_contracts(model)]
