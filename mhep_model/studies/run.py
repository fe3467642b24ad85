"""Running scenario files: every case of one or more scenarios as rows of one batch.

``run_scenario`` runs one scenario file (all its cases); ``run_resolved`` runs resolved
scenarios of the same structure together. Results are engine arrays with row labels; the
report layer turns them into tables.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mhep_model import __version__
from mhep_model.engine import Results, run
from mhep_model.engine.inputs import FloatArray, Inputs
from mhep_model.engine.model import run_summary
from mhep_model.errors import UsageError
from mhep_model.scenario import Resolved, compile_inputs, load
from mhep_model.scenario.vary import PointGrid
from mhep_model.scenario.yamlio import Source
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
    """Rows computed in one vectorised batch: every case of one or more resolved scenarios."""

    resolved: tuple[Resolved, ...]
    inputs: Inputs
    results: Results
    rows: tuple[RowInfo, ...]
    variance: tuple[VarianceRow, ...] = ()
    """Recorded series against each case's projection (spec 13); empty without actuals."""
    projection: Results | None = None
    """With actuals: each case projected from the signing date (the records set aside)."""

    @property
    def first(self) -> Resolved:
        """The (first) scenario of the batch."""
        return self.resolved[0]

    def manifest(self, command: str = "run") -> dict[str, Any]:
        """What produced these outputs: tool version, scenario files and hashes, options."""
        return manifest_of(self.first, self.rows, command)


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


def run_resolved(
    group: Sequence[Resolved], labels: Sequence[str | None] | None = None
) -> RunOutput:
    """Compute every case of every scenario in ``group`` as rows of one batch."""
    labels = list(labels) if labels is not None else [None] * len(group)
    inputs = compile_inputs(group)
    results = run(inputs)
    check_finite(results, group[0].file)
    rows = tuple(
        RowInfo(c.name, c.scenario.contract.start, label)
        for r, label in zip(group, labels, strict=True)
        for c in r.cases
    )
    variance: tuple[VarianceRow, ...] = ()
    projection = None
    if any(r.actuals is not None for r in group):
        # the projection from the signing date, for the variance of the recorded months
        projection = run(compile_inputs([r.without_actuals() for r in group]))
        variance = tuple(variance_rows(group, labels, projection))
    return RunOutput(tuple(group), inputs, results, rows, variance, projection)


def summaries(group: Sequence[Resolved]) -> dict[str, np.ndarray]:
    """Only the summary of every case of every scenario in ``group`` (no actuals): what a
    tornado or Sobol sample reads, computed in runs of rows that stay in cache."""
    summary = run_summary(compile_inputs(group))
    check_finite(summary, group[0].file)
    return summary


def check_finite(results: Results | dict[str, np.ndarray], file: str) -> None:
    """Refuse results in which money overflowed (blank would read as "none")."""
    summary = results if isinstance(results, dict) else results.summary
    for name, values in summary.items():
        if np.isinf(values).any():
            raise UsageError(
                f"{file}: {name} overflows (the amounts are too large to add up): "
                "use amounts in currency units of a sane size"
            )


def run_scenario(
    path: Source,
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
    actuals: str | Path | None = None,
) -> RunOutput:
    """Load, validate and run every (selected) case of the scenario at ``path``."""
    return run_resolved([load(path, sets=sets, cases=cases, actuals=actuals)])


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
