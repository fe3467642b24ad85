"""Sweeps: a grid of input values, every point and case computed in one batch."""

from __future__ import annotations

import contextlib
import gc
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from mhep_model.engine.heap import retain_freed_memory
from mhep_model.engine.inputs import FloatArray, Inputs
from mhep_model.engine.model import run_summary
from mhep_model.errors import ScenarioError, UsageError
from mhep_model.scenario import Resolved, compile_inputs, resolve
from mhep_model.scenario.amend import through_amendments
from mhep_model.scenario.compile import scenario_lanes
from mhep_model.scenario.limits import check_work
from mhep_model.scenario.vary import PointGrid, compile_points
from mhep_model.scenario.yamlio import Document, Source, load_yaml
from mhep_model.studies.run import RowInfo, check_finite, manifest_of

MAX_SWEEP_ROWS = 100_000
"""Largest sweep accepted: grid points times cases."""


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


class _Manifests(Protocol):
    def manifest(self, command: str = "run") -> dict[str, Any]: ...


RunT = TypeVar("RunT", bound=_Manifests)


@dataclass(frozen=True)
class Grid(Generic[RunT]):
    """A grid of parameter values, every point and case computed in one batch (of one
    contract's scenario, :data:`Sweep`, or of a portfolio)."""

    params: tuple[Param, ...]
    points: tuple[tuple[float, ...], ...]
    run: RunT

    @property
    def frame_params(self) -> tuple[str, ...]:
        """The swept paths, as named in ``sweep.csv``."""
        return tuple(p.path for p in self.params)

    def manifest(self) -> dict[str, Any]:
        out = self.run.manifest("sweep")
        out["params"] = {p.path: list(p.values) for p in self.params}
        out["grid_points"] = len(self.points)
        return out


@dataclass(frozen=True)
class SweepRun:
    """What a sweep keeps of its batch: every row's summary (spec section 10), not its
    monthly flows, which ``sweep.csv`` never shows (a 100,000-row sweep would hold
    gigabytes of them)."""

    first: Resolved
    inputs: Inputs
    """The engine's inputs of the cases (one row each at the base values, or every row):
    stage and payer names and which payers are external, for the summary's columns."""
    summary: dict[str, FloatArray]
    """Per metric, ``(rows,)`` values: rows point by point, case by case."""
    rows: tuple[RowInfo, ...]

    def manifest(self, command: str = "run") -> dict[str, Any]:
        return manifest_of(self.first, self.rows, command)


Sweep = Grid[SweepRun]


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


def check_params(params: Sequence[Param]) -> None:
    """At least one ``--param``, each path once."""
    if not params:
        raise UsageError("sweep needs at least one --param PATH=START:STOP:STEP")
    paths = [p.path for p in params]
    if len(set(paths)) != len(paths):
        raise UsageError("each --param path may be swept only once")


def sweep(
    path: Source,
    params: Sequence[Param],
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
    actuals: str | Path | None = None,
    through: bool = False,
) -> Sweep:
    """Run every point of the grid (the product of the params' values) as one batch.

    The swept values apply to every case after its own overrides (so sweeping
    ``referrals.scale`` moves every case), before the amendments; with ``through``,
    amendments that change a swept input are set aside for it (the value holds throughout).
    """
    retain_freed_memory()  # a large study: freed arrays are reused (engine.heap)
    check_params(params)
    paths = [p.path for p in params]
    doc = load_yaml(path)
    if through:
        doc = through_amendments(doc, paths)
    first = resolve(doc, sets=sets, cases=cases, actuals=actuals)
    points = list(itertools.product(*(p.values for p in params)))
    rows = len(points) * len(first.cases)
    if rows > MAX_SWEEP_ROWS:
        raise UsageError(
            f"the grid has {len(points):,} points x {len(first.cases)} cases = {rows:,} rows; "
            f"the most a sweep takes is {MAX_SWEEP_ROWS:,}: use fewer values or --case"
        )
    check_work(rows, first.base.contract.horizon, scenario_lanes(first.base), str(path))
    built = compile_points(doc, sets, cases, first, paths, points) if actuals is None else None
    if built is not None:  # the base compiled once, the swept values put in place
        summary = grid_summary(built)
        inputs, group = built.base, [first] * len(points)
    else:
        group = resolve_points(doc, sets, cases, paths, points, actuals)
        with _no_gc():
            inputs = compile_inputs(group)
        summary = run_summary(inputs)
    check_finite(summary, first.file)
    info = tuple(RowInfo(c.name, c.scenario.contract.start) for r in group for c in r.cases)
    return Sweep(tuple(params), tuple(points), SweepRun(first, inputs, summary, info))


def resolve_points(
    doc: Document,
    sets: Sequence[tuple[str, Any]],
    cases: Sequence[str] | None,
    paths: Sequence[str],
    points: Sequence[Sequence[float]],
    actuals: str | Path | None = None,
) -> list[Resolved]:
    """Every case of ``doc`` at each point (``paths`` set to the point's values after the
    cases' own overrides); an error names the point it came from."""
    group = []
    with _no_gc():
        for point in points:
            try:
                group.append(
                    resolve(
                        doc,
                        sets=sets,
                        cases=cases,
                        case_sets=list(zip(paths, point, strict=True)),
                        actuals=actuals,
                    )
                )
            except ScenarioError as e:
                where = ", ".join(f"{p}={v}" for p, v in zip(paths, point, strict=True))
                raise e.prefixed(f"at {where}") from None
    return group
