"""The library's entry points: scenario files in, results and tidy tables out.

``run_scenario`` runs one scenario file (all its cases); ``compare`` runs several scenario
files or the variants of a batch file; ``sweep`` runs a grid of values. Each computes its
rows in as few vectorised batches as the scenarios' structures allow (one, for a batch
file or a sweep).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mhep_model import __version__
from mhep_model.engine import Results, run
from mhep_model.engine.inputs import Inputs
from mhep_model.errors import ScenarioError, UsageError
from mhep_model.report.frames import RowInfo, monthly_frame, summary_frame
from mhep_model.scenario import Resolved, compile_inputs, load, resolve
from mhep_model.scenario.batch import is_batch, load_batch
from mhep_model.scenario.compile import scenario_lanes
from mhep_model.scenario.limits import MAX_VARIANTS, check_work
from mhep_model.scenario.model import bands_of
from mhep_model.scenario.yamlio import load_yaml

MAX_SWEEP_ROWS = 100_000
"""Largest sweep accepted: grid points times cases."""


def _sha256(path: str) -> str | None:
    p = Path(path)
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None


@dataclass(frozen=True)
class RunOutput:
    """Rows computed in one vectorised batch: every case of one or more resolved scenarios."""

    resolved: tuple[Resolved, ...]
    inputs: Inputs
    results: Results
    rows: tuple[RowInfo, ...]

    @property
    def first(self) -> Resolved:
        """The (first) scenario of the batch."""
        return self.resolved[0]

    def summary(self) -> pd.DataFrame:
        """``summary.csv`` as a frame (a ``variant`` column first when rows have one)."""
        return summary_frame(self.results, self.rows)

    def monthly(self) -> pd.DataFrame:
        """``monthly.csv`` as a frame."""
        return monthly_frame(self.results, self.rows)

    def manifest(self, command: str = "run") -> dict[str, Any]:
        """What produced these outputs: tool version, scenario files and hashes, options."""
        first = self.first
        return {
            "tool": "mhep-model",
            "tool_version": __version__,
            "command": command,
            "scenario": first.file,
            "scenario_name": first.base.name,
            "scenario_sha256": _sha256(first.file),
            "cases": list(dict.fromkeys(r.case for r in self.rows)),
            "set": {k: v for k, v in first.sets},
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
    return RunOutput(tuple(group), inputs, results, rows)


def check_finite(results: Results, file: str) -> None:
    """Refuse results in which money overflowed (blank would read as "none")."""
    for name, values in results.summary.items():
        if np.isinf(values).any():
            raise UsageError(
                f"{file}: {name} overflows (the amounts are too large to add up): "
                "use amounts in currency units of a sane size"
            )


def run_scenario(
    path: str | Path,
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
) -> RunOutput:
    """Load, validate and run every (selected) case of the scenario at ``path``."""
    return run_resolved([load(path, sets=sets, cases=cases)])


# --- compare ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Several scenarios or variants, each with the same cases, computed and tabulated."""

    labels: tuple[str, ...]
    case_names: tuple[str, ...]
    runs: tuple[RunOutput, ...]
    from_batch: str | None
    """The batch file, when the variants come from one."""
    batch_base: str | None = None
    """The batch file's base scenario."""

    def summary(self) -> pd.DataFrame:
        """One row per variant and case: ``variant``, ``case``, then the summary metrics."""
        return pd.concat([r.summary() for r in self.runs], ignore_index=True)

    def monthly(self) -> pd.DataFrame:
        """``monthly.csv`` rows of every variant, with a ``variant`` column first."""
        return pd.concat([r.monthly() for r in self.runs], ignore_index=True)

    def manifest(self) -> dict[str, Any]:
        files = sorted({r.file for run in self.runs for r in run.resolved})
        return {
            "tool": "mhep-model",
            "tool_version": __version__,
            "command": "compare",
            "batch": self.from_batch,
            "batch_sha256": _sha256(self.from_batch) if self.from_batch else None,
            "batch_base": self.batch_base,
            # a base outside the batch file's folder is allowed, and said so
            "batch_base_outside_its_folder": (
                self.batch_base is not None
                and self.from_batch is not None
                and Path(self.batch_base).resolve().parent != Path(self.from_batch).resolve().parent
            ),
            "scenarios": {f: _sha256(f) for f in files},
            "variants": list(self.labels),
            "cases": list(self.case_names),
            "seed": None,
        }


def _structure(r: Resolved) -> tuple[Any, ...]:
    base = r.base
    return (
        tuple(base.stages),
        tuple(bands_of(base).items()),
        tuple(base.outcomes),
        tuple(base.payers),
    )


def compare(
    paths: Sequence[str | Path],
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
) -> Comparison:
    """Run scenario files (labelled by file stem) or one batch file's variants side by side."""
    entries: list[tuple[str, Resolved]] = []
    batch_file = None
    batch_base = None
    for path in paths:
        doc = load_yaml(path)
        if is_batch(doc):
            batch = load_batch(doc, sets=sets, cases=cases)
            batch_file = batch_file or batch.file
            batch_base = batch_base or batch.base_file
            entries += [(r.variant or "", r) for r in batch.variants]
        else:
            entries.append((Path(path).stem, resolve(doc, sets=sets, cases=cases)))
    if len(entries) < 2:
        raise UsageError(
            "compare needs at least two scenarios, or a batch file with two or more variants"
        )
    if len(entries) > MAX_VARIANTS:
        raise UsageError(
            f"compare takes at most {MAX_VARIANTS} scenarios or variants, got {len(entries)}"
        )
    labels = _unique([safe_label(label) for label, _ in entries])
    _check_same_cases(labels, [r for _, r in entries])
    # Scenarios of the same structure run as one vectorised batch.
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, (_, r) in enumerate(entries):
        groups.setdefault(_structure(r), []).append(i)
    outputs: dict[int, RunOutput] = {}
    for members in groups.values():
        out = run_resolved([entries[i][1] for i in members], [labels[i] for i in members])
        for i in members:
            outputs[i] = out
    runs = []
    seen = set()
    for i in range(len(entries)):
        if id(outputs[i]) not in seen:
            seen.add(id(outputs[i]))
            runs.append(outputs[i])
    case_names = tuple(c.name for c in entries[0][1].cases)
    return Comparison(tuple(labels), case_names, tuple(runs), batch_file, batch_base)


def safe_label(stem: str) -> str:
    """A scenario file's stem as a folder name: letters, digits, ``_``, ``-`` and ``.``,
    never ``.`` or ``..`` (labels become folders under ``--out``)."""
    label = re.sub(r"[^A-Za-z0-9_.-]", "_", stem)[:64].lstrip(".")
    return label or "scenario"


def _unique(labels: list[str]) -> list[str]:
    """Distinct labels, also when compared without case (folders on some systems)."""
    out: list[str] = []
    for label in labels:
        name, n = label, 2
        while name.lower() in {o.lower() for o in out}:
            name, n = f"{label}-{n}", n + 1
        out.append(name)
    return out


def _check_same_cases(labels: list[str], resolved: list[Resolved]) -> None:
    names = [[c.name for c in r.cases] for r in resolved]
    every = list(dict.fromkeys(n for group in names for n in group))
    problems = []
    for label, r, group in zip(labels, resolved, names, strict=True):
        missing = [n for n in every if n not in group]
        if missing:
            problems.append(f"{label} ({r.file}) has no case {', '.join(missing)}")
    if problems:
        raise UsageError(
            "the scenarios must have the same cases to be compared: " + "; ".join(problems)
        )


# --- sweep ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A swept input: its dotted path and the values it takes."""

    path: str
    values: tuple[float, ...]


def parse_param(text: str) -> Param:
    """``PATH=START:STOP:STEP``; STOP is included when it falls on the grid."""
    path, sep, spec = text.partition("=")
    parts = spec.split(":")
    if not sep or not path.strip() or len(parts) != 3:
        raise UsageError(
            f"--param takes PATH=START:STOP:STEP, e.g. referrals.scale=0.5:1.5:0.1; got '{text}'"
        )
    try:
        start, stop, step = (float(p) for p in parts)
    except ValueError:
        raise UsageError(
            f"--param {path}: START, STOP and STEP must be numbers; got '{spec}'"
        ) from None
    if not all(math.isfinite(x) for x in (start, stop, step)) or step <= 0 or stop < start:
        raise UsageError(f"--param {path}: needs STEP > 0 and START <= STOP; got '{spec}'")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_SWEEP_ROWS:
        raise UsageError(
            f"--param {path}: {count:,} values; the most a sweep takes is {MAX_SWEEP_ROWS:,} rows"
        )
    whole = all(float(p).is_integer() and "." not in p and "e" not in p.lower() for p in parts)
    values = tuple(
        round(start + k * step) if whole else round(start + k * step, 12) for k in range(count)
    )
    return Param(path.strip(), values)


@dataclass(frozen=True)
class Sweep:
    """A grid of parameter values, every point and case computed in one batch."""

    params: tuple[Param, ...]
    points: tuple[tuple[float, ...], ...]
    run: RunOutput

    def frame(self) -> pd.DataFrame:
        """``sweep.csv``: a column per swept path, then every ``summary.csv`` column."""
        summary = self.run.summary()
        cases_per_point = len(self.run.first.cases)
        grid = {
            p.path: [pt[i] for pt in self.points for _ in range(cases_per_point)]
            for i, p in enumerate(self.params)
        }
        return pd.concat([pd.DataFrame(grid), summary], axis=1)

    @property
    def frame_params(self) -> tuple[str, ...]:
        """The swept paths, as named in ``sweep.csv``."""
        return tuple(p.path for p in self.params)

    def manifest(self) -> dict[str, Any]:
        out = self.run.manifest("sweep")
        out["params"] = {p.path: list(p.values) for p in self.params}
        out["grid_points"] = len(self.points)
        return out


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that all stay alive:
    its passes would find nothing to free and, over thousands of validated scenarios, cost
    more than the validation itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def sweep(
    path: str | Path,
    params: Sequence[Param],
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
) -> Sweep:
    """Run every point of the grid (the product of the params' values) as one batch.

    The swept values apply to every case after its own overrides (so sweeping
    ``referrals.scale`` moves every case), before the amendments.
    """
    if not params:
        raise UsageError("sweep needs at least one --param PATH=START:STOP:STEP")
    paths = [p.path for p in params]
    if len(set(paths)) != len(paths):
        raise UsageError("each --param path may be swept only once")
    doc = load_yaml(path)
    first = resolve(doc, sets=sets, cases=cases)
    points = list(itertools.product(*(p.values for p in params)))
    rows = len(points) * len(first.cases)
    if rows > MAX_SWEEP_ROWS:
        raise UsageError(
            f"the grid has {len(points):,} points x {len(first.cases)} cases = {rows:,} rows; "
            f"the most a sweep takes is {MAX_SWEEP_ROWS:,}: use fewer values or --case"
        )
    check_work(rows, first.base.contract.horizon, scenario_lanes(first.base), str(path))
    group = []
    with _no_gc():
        for point in points:
            try:
                group.append(
                    resolve(
                        doc, sets=sets, cases=cases, case_sets=list(zip(paths, point, strict=True))
                    )
                )
            except ScenarioError as e:
                where = ", ".join(f"{p}={v}" for p, v in zip(paths, point, strict=True))
                raise e.prefixed(f"at {where}") from None
        return Sweep(tuple(params), tuple(points), run_resolved(group))
