"""Global sensitivity: first-order and total Sobol indices of summary metrics over the
ranged inputs (uniform over each range), by SALib's Saltelli/Sobol' sampling and its
analysis. Every sample of every case is a row of one vectorised batch: ``N (k + 2)``
samples for ``k`` inputs, times the cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mhep_model.errors import UsageError
from mhep_model.scenario import resolve
from mhep_model.scenario.compile import scenario_lanes
from mhep_model.scenario.limits import check_work
from mhep_model.scenario.yamlio import load_yaml
from mhep_model.studies.run import RunOutput, run_resolved
from mhep_model.studies.sensitivity import Range, choose_ranges
from mhep_model.studies.summary import summary_columns
from mhep_model.studies.sweep import MAX_SWEEP_ROWS, resolve_points

CONF_LEVEL = 0.95
"""The confidence level of the intervals SALib bootstraps for each index."""


def check_samples(samples: int, inputs: int, cases: int) -> int:
    """The model evaluations ``samples`` needs, refusing a size Sobol' sampling cannot
    use (not a power of two) or a batch over the sweep limit."""
    if samples < 2 or samples & (samples - 1):
        lower = 1 << max(1, samples.bit_length() - 1)
        raise UsageError(
            f"--samples must be a power of two for Sobol' sampling (its balance needs it); "
            f"got {samples:,}: use {lower:,} or {lower * 2:,}"
        )
    evaluations = samples * (inputs + 2)
    if evaluations * cases > MAX_SWEEP_ROWS:
        raise UsageError(
            f"{samples:,} samples x ({inputs} inputs + 2) x {cases} cases = "
            f"{evaluations * cases:,} rows; at most {MAX_SWEEP_ROWS:,}: use fewer samples, "
            "inputs or --case"
        )
    return evaluations


@dataclass(frozen=True)
class SobolResult:
    """The indices of each case and metric, and the batch they came from."""

    ranges: tuple[Range, ...]
    cases: tuple[str, ...]
    samples: int
    seed: int
    run: RunOutput
    """Rows: sample by sample, every case of each."""

    @property
    def evaluations(self) -> int:
        """Model evaluations per case: ``N (k + 2)``."""
        return self.samples * (len(self.ranges) + 2)

    @property
    def metrics(self) -> list[str]:
        return summary_columns(self.run.results)

    def values(self, metric: str) -> np.ndarray:
        """``(evaluations, cases)`` the metric on every sample."""
        values = np.asarray(self.run.results.summary[metric], dtype=float)
        return values.reshape(self.evaluations, len(self.cases))

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
        out = self.run.manifest("sensitivity")
        out |= {
            "method": "sobol",
            "samples": self.samples,
            "evaluations_per_case": self.evaluations,
            "seed": self.seed,
            "ranges": {r.path: [r.lo, r.hi, r.source] for r in self.ranges},
        }
        return out


def _problem(ranges: Sequence[Range]) -> dict[str, Any]:
    return {
        "num_vars": len(ranges),
        "names": [r.path for r in ranges],
        "bounds": [[r.lo, r.hi] for r in ranges],
    }


def sobol(
    path: str | Path,
    *,
    ranges: Sequence[Range] = (),
    vary: Sequence[str] = (),
    by: float = 0.2,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
    samples: int = 1024,
    seed: int = 0,
) -> SobolResult:
    """Sample the ranged inputs (Sobol' sequence, scrambled with ``seed``), run every
    sample of every case as one batch, and keep it for :meth:`SobolResult.indices`."""
    from SALib.sample import sobol as sample

    doc = load_yaml(path)
    base = resolve(doc, sets=sets, cases=cases)
    chosen = [r for r in choose_ranges(base, str(path), ranges, vary, by) if r.lo < r.hi]
    if not chosen:
        raise UsageError(f"{path}: every range is a single value: give LO < HI")
    check_samples(samples, len(chosen), len(base.cases))
    if seed < 0 or seed >= 2**32:
        raise UsageError(f"--seed must be a whole number from 0 to 2**32 - 1, got {seed}")
    points = sample.sample(_problem(chosen), samples, calc_second_order=False, seed=seed)
    paths = [r.path for r in chosen]
    rows = len(points) * len(base.cases)
    check_work(rows, base.base.contract.horizon, scenario_lanes(base.base), str(path))
    group = resolve_points(doc, sets, cases, paths, [[float(v) for v in x] for x in points])
    names = tuple(c.name for c in base.cases)
    return SobolResult(tuple(chosen), names, samples, seed, run_resolved(group))
