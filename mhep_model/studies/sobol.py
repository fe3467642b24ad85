"""Global sensitivity: first-order and total Sobol indices of summary metrics over the
ranged inputs (uniform over each range), by SALib's Saltelli/Sobol' sampling and its
analysis. Every sample of every case is a row of a vectorised batch: ``N (k + 2)``
samples for ``k`` inputs, times the cases, evaluated in blocks of rows that can run as
tasks on a Dask cluster with the same results."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mhep_model.engine.heap import retain_freed_memory
from mhep_model.engine.inputs import FloatArray
from mhep_model.errors import UsageError
from mhep_model.scenario import Resolved
from mhep_model.scenario.limits import MAX_SWEEP_ROWS
from mhep_model.scenario.yamlio import Source
from mhep_model.studies.cluster import Cluster, map_ordered
from mhep_model.studies.sensitivity import Range, set_up
from mhep_model.studies.subject import (
    Info,
    Point,
    Subject,
    check_rows,
    evaluate,
)

CONF_LEVEL = 0.95
"""The confidence level of the intervals SALib bootstraps for each index."""


def check_samples(samples: int, inputs: int, cases: int, max_rows: int = MAX_SWEEP_ROWS) -> int:
    """The model evaluations ``samples`` needs, refusing a size Sobol' sampling cannot
    use (not a power of two) or a batch over the sweep limit."""
    if samples < 2 or samples & (samples - 1):
        lower = 1 << max(1, samples.bit_length() - 1)
        raise UsageError(
            f"--samples must be a power of two for Sobol' sampling (its balance needs it); "
            f"got {samples:,}: use {lower:,} or {lower * 2:,}"
        )
    evaluations = samples * (inputs + 2)
    if evaluations * cases > max_rows:
        raise UsageError(
            f"{samples:,} samples x ({inputs} inputs + 2) x {cases} cases = "
            f"{evaluations * cases:,} rows; at most {max_rows:,}: use fewer samples, "
            "inputs or --case"
        )
    return evaluations


@dataclass(frozen=True)
class SobolResult:
    """The indices of each case and metric, and the samples they came from."""

    ranges: tuple[Range, ...]
    info: Info
    samples: int
    seed: int
    values_by_metric: dict[str, FloatArray]
    """Per metric, rows: sample by sample, every case of each."""
    notes: dict[str, str]
    """Per ranged path, the amendments that change it and what was done with them."""
    blocks: int = 1
    """Units of work the samples were evaluated in (Dask tasks, when on a cluster)."""
    with_amendments: bool = False
    held: tuple[str, ...] = ()
    """The ranged paths an amendment sets anew from some month."""
    same_for: tuple[str, ...] = ()
    """Cases that differ only in ranged inputs: their indices are the same, so one case
    was sampled for all of them (reported as ``all cases``)."""

    @property
    def cases(self) -> tuple[str, ...]:
        return ("all cases",) if self.same_for else self.info.cases

    @property
    def evaluations(self) -> int:
        """Model evaluations per case: ``N (k + 2)``."""
        return self.samples * (len(self.ranges) + 2)

    @property
    def metrics(self) -> list[str]:
        return list(self.info.metrics)

    def values(self, metric: str) -> FloatArray:
        """``(evaluations, cases)`` the metric on every sample."""
        return self.values_by_metric[metric].reshape(self.evaluations, len(self.cases))

    def indices(self, metric: str) -> dict[str, dict[str, np.ndarray]]:
        """Per case: S1, S1_conf, ST and ST_conf, an entry per input (in range order)."""
        from SALib.analyze import sobol as analyze

        values = self.values(metric)
        out = {}
        for c, case in enumerate(self.cases):
            y = values[:, c]
            if not np.isfinite(y).all():
                raise UsageError(
                    f"{metric} is undefined on some samples of case {case} (an IRR with "
                    "nothing paid back, a margin with no revenue): choose another metric"
                )
            if np.ptp(y) == 0:  # nothing moves it: every index is 0
                zero = np.zeros(len(self.ranges))
                out[case] = {k: zero for k in ("S1", "S1_conf", "ST", "ST_conf")}
                continue
            found = analyze.analyze(
                _problem(self.ranges),
                y,
                calc_second_order=False,
                conf_level=CONF_LEVEL,
                seed=self.seed + 1,  # SALib leaves its bootstrap unseeded for a seed of 0
            )
            out[case] = {
                k: np.asarray(found[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf")
            }
        return out

    def manifest(self) -> dict[str, Any]:
        return self.info.manifest | {
            "method": "sobol",
            "samples": self.samples,
            "evaluations_per_case": self.evaluations,
            "same_for_cases": list(self.same_for),
            "seed": self.seed,
            "ranges": {r.path: [r.lo, r.hi, r.source] for r in self.ranges},
            "with_amendments": self.with_amendments,
            "amendments": {p: n for p, n in self.notes.items() if n},
            "blocks": self.blocks,
        }


def _problem(ranges: Sequence[Range]) -> dict[str, Any]:
    return {
        "num_vars": len(ranges),
        "names": [r.path for r in ranges],
        "bounds": [[r.lo, r.hi] for r in ranges],
    }


BLOCK_ROWS = 4096
"""Rows (samples x cases) evaluated together: the unit of work, on one machine or as a
Dask task. The same blocks either way, so the results are the same byte for byte."""


def blocks_of(points: Sequence[Point], cases: int) -> list[Sequence[Point]]:
    """``points`` in runs of at most :data:`BLOCK_ROWS` rows (every case of a point)."""
    size = max(1, BLOCK_ROWS // max(cases, 1))
    return [points[i : i + size] for i in range(0, len(points), size)]


@dataclass(frozen=True)
class _Block:
    """One unit of work, picklable for a Dask worker: the subject and its points."""

    subject: Subject
    points: Sequence[Point]


def _run_block(block: _Block) -> dict[str, FloatArray]:
    return evaluate(block.subject, block.points)


def sobol(
    path: Source,
    *,
    ranges: Sequence[Range] = (),
    vary: Sequence[str] = (),
    by: float = 0.2,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
    samples: int = 1024,
    seed: int = 0,
    with_amendments: bool = False,
    cluster: Cluster | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SobolResult:
    """Sample the ranged inputs (Sobol' sequence, scrambled with ``seed``), run every
    sample of every case in blocks of rows (on ``cluster`` when given, each block a task;
    ``progress(blocks done, blocks)``), and keep them for :meth:`SobolResult.indices`."""
    retain_freed_memory()  # a large study: freed arrays are reused (engine.heap)
    from SALib.sample import sobol as sample

    study = set_up(path, ranges, vary, by, sets, cases, with_amendments)
    study = replace(study, ranges=[r for r in study.ranges if r.lo < r.hi])
    same_for: tuple[str, ...] = ()
    if len(study.info.cases) > 1 and _only_ranged(study.base, {r.path for r in study.ranges}):
        # every case is a point of the sampled space: the indices would be the same
        same_for = study.info.cases
        study = set_up(path, ranges, vary, by, sets, [same_for[0]], with_amendments)
        study = replace(study, ranges=[r for r in study.ranges if r.lo < r.hi])
    subject, base, chosen, info = study.subject, study.base, study.ranges, study.info
    if not chosen:
        raise UsageError(f"{path}: every range is a single value: give LO < HI")
    check_samples(samples, len(chosen), len(info.cases), info.max_rows)
    if seed < 0 or seed >= 2**32:
        raise UsageError(f"--seed must be a whole number from 0 to 2**32 - 1, got {seed}")
    x = sample.sample(_problem(chosen), samples, calc_second_order=False, seed=seed)
    points: list[Point] = [
        [(r.path, float(v)) for r, v in zip(chosen, row, strict=True)] for row in x
    ]
    units = [_Block(subject, b) for b in blocks_of(points, len(info.cases))]
    check_rows(subject, base, min(len(points), len(units[0].points)) * len(info.cases))
    finished = [0]

    def done(_: int) -> None:
        finished[0] += 1
        if progress is not None:
            progress(finished[0], len(units))

    if cluster is not None:
        parts = map_ordered(cluster, _run_block, units, done)
    else:
        parts = []
        for i, unit in enumerate(units):
            parts.append(_run_block(unit))
            done(i)
    values = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    notes, held = study.notes(), study.held()
    return SobolResult(
        tuple(chosen),
        info,
        samples,
        seed,
        values,
        notes,
        len(units),
        with_amendments,
        held,
        same_for,
    )


def _only_ranged(base: Any, ranged: set[str]) -> bool:
    """Whether every value any case sets is one of the ``ranged`` paths (a portfolio's as
    ``contracts.<name>.<path>``)."""
    scenarios = (
        [("", base)]
        if isinstance(base, Resolved)
        else [(f"contracts.{c.name}.", c.resolved) for c in base.contracts]
    )
    return all(
        prefix + path in ranged
        for prefix, resolved in scenarios
        for overrides in (resolved.base.cases or {}).values()
        for path in overrides
    )
