"""Stress a batch: every variant of a batch file over the same paths (spec section 9,
common random numbers), and each variant against the first, path by path.

The variants run together (:func:`~mhep_model.studies.stress.stress_models`): the draws
of a path are keyed by the seed, the contract, the case and the path's number, never by
the variant, and variants whose funnels are the same draw their people once. Path k of
every variant of a case sees the same referral shock,
the same conversion luck and the same timing: the difference between two variants, path
by path, is what their terms do, and its spread is far below either variant's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mhep_model.engine.inputs import FloatArray
from mhep_model.errors import UsageError
from mhep_model.metrics import metric
from mhep_model.scenario.yamlio import Source
from mhep_model.studies.stress import StressOptions, check_options, stress_models
from mhep_model.studies.stress_result import (
    PERCENTILE_METRICS,
    PORTFOLIO_PERCENTILE_METRICS,
    StressResult,
)

PAIRED_PERCENTILES = (5, 95)
TIE = 1e-9
"""[currency units, or the metric's own]: a path whose difference is within this is a tie,
better for neither."""


@dataclass(frozen=True)
class Paired:
    """One variant against the first, one case and metric, over the paths."""

    variant: str
    case: str
    metric: str
    mean_difference: float
    p5: float
    p95: float
    p_better: float
    """Share of paths where the variant is strictly better for the metric's party (NaN
    when the metric is better for nobody)."""
    standard_error: float
    """Of the mean difference: the paired differences' standard deviation / sqrt(paths)."""
    party: str


@dataclass(frozen=True)
class BatchStress:
    """Every variant's stress, in the batch's order; the first is what the others are
    compared with."""

    labels: tuple[str, ...]
    titles: tuple[str, ...]
    results: tuple[StressResult, ...]
    batch_file: str

    @property
    def first(self) -> StressResult:
        return self.results[0]

    def metrics(self) -> list[str]:
        """The metrics compared path by path: the spread metrics, and a portfolio's
        providers' surplus and lowest reserves."""
        first = self.first
        if first.portfolio is None:
            return list(PERCENTILE_METRICS)
        out = list(PORTFOLIO_PERCENTILE_METRICS)
        for c in first.contract_names:
            out += [f"{c}.provider_surplus", f"{c}.provider_min_reserves"]
        return out

    def paired(self) -> list[Paired]:
        """Each later variant against the first, per case and metric."""
        rows = []
        base = self.first
        for label, result in zip(self.labels[1:], self.results[1:], strict=True):
            for case in base.case_names:
                for name in self.metrics():
                    rows.append(_pair(label, case, name, base, result))
        return rows

    def manifest(self) -> dict[str, Any]:
        head = dict(self.first.manifest())
        head["batch"] = self.batch_file
        head["variants"] = list(self.labels)
        head.pop("scenario", None)
        head.pop("scenario_sha256", None)
        return head


def _pair(label: str, case: str, name: str, base: StressResult, other: StressResult) -> Paired:
    a = base.per_path[case][name]
    b = other.per_path[case][name]
    both = ~np.isnan(a) & ~np.isnan(b)
    d: FloatArray = b[both] - a[both]
    m = metric(name)
    if d.size == 0:
        nan = math.nan
        return Paired(label, case, name, nan, nan, nan, nan, nan, m.party)
    p5, p95 = (float(np.percentile(d, p)) for p in PAIRED_PERCENTILES)
    better = float(np.mean(d * m.better > TIE)) if m.better else math.nan
    se = float(np.std(d, ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.nan
    return Paired(label, case, name, float(d.mean()), p5, p95, better, se, m.party)


def stress_batch(
    path: Source,
    *,
    entries: Callable[[Source], tuple[list[tuple[str, Any]], list[str | None], str]],
    opts: StressOptions,
) -> BatchStress:
    """Stress every variant of the batch file ``path`` (``entries`` loads its labelled
    variants, their titles and the file's name) over the same paths."""
    check_options(opts.paths, opts.seed, opts.chunk_paths)
    models, titles, file = entries(path)
    if len(models) < 2:
        raise UsageError(f"{file}: a batch to stress needs at least two variants")
    results = tuple(stress_models([model for _, model in models], opts))
    labels = tuple(label for label, _ in models)
    shown = tuple(t or label for t, label in zip(titles, labels, strict=True))
    return BatchStress(labels, shown, results, file)


def batch_entries(
    sets: Sequence[tuple[str, Any]], cases: Sequence[str] | None, actuals: str | Path | None
) -> Callable[[Source], tuple[list[tuple[str, Any]], list[str | None], str]]:
    """How :func:`stress_batch` loads a batch file: as ``compare`` does."""
    from mhep_model.studies.compare import load_entries

    def load(path: Source) -> tuple[list[tuple[str, Any]], list[str | None], str]:
        entries, shown, (file, _, _) = load_entries([path], sets, cases, actuals)
        return entries, shown, file or str(path)

    return load
