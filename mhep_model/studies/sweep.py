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
from mhep_model.engine.inputs import FloatArray
from mhep_model.errors import MhepError, UsageError
from mhep_model.scenario import Resolved, resolve
from mhep_model.scenario.amend import through_amendments
from mhep_model.scenario.limits import BASE_BYTES, MAX_SWEEP_ROWS, check_memory
from mhep_model.scenario.model_inputs import resolved_contracts
from mhep_model.scenario.portfolio import Portfolio
from mhep_model.scenario.vary import compile_points
from mhep_model.scenario.yamlio import Source, load_yaml
from mhep_model.studies.run import check_finite, grid_summary
from mhep_model.studies.subject import Base, Info, Subject, case_names, check_rows, describe


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
    """What a sweep keeps of its batch: every row's summary (spec section 10; a
    portfolio's own metrics and each contract's ``<contract>.<metric>``), not its monthly
    flows, which ``sweep.csv`` never shows (a 100,000-row sweep would hold gigabytes of
    them). A contract and a portfolio are the same here: their rows and columns."""

    first: Base
    """The swept scenario or portfolio, every (selected) case, at its own values."""
    info: Info
    """Its name, currency, stages, cases and metric columns (``sweep.csv``'s order)."""
    summary: dict[str, FloatArray]
    """Per metric, ``(rows,)`` values: rows point by point, case by case."""
    cases: tuple[str, ...]
    """The case of each row."""

    @property
    def columns(self) -> tuple[str, ...]:
        return self.info.metrics

    def manifest(self, command: str = "run") -> dict[str, Any]:
        return self.info.manifest | {"command": command}


Sweep = Grid[SweepRun]


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
    subject = Subject(doc, tuple(sets), tuple(cases) if cases else None, actuals=actuals)
    first = subject.base()
    info = describe(subject, first, "sweep")
    points = list(itertools.product(*(p.values for p in params)))
    rows = len(points) * len(info.cases)
    if rows > info.max_rows:
        contracts = f" of {len(first.contracts)} contracts" if isinstance(first, Portfolio) else ""
        raise UsageError(
            f"the grid has {len(points):,} points x {len(info.cases)} cases = {rows:,} "
            f"rows{contracts}; the most a sweep takes is {info.max_rows:,}: use fewer "
            "values or --case"
        )
    check_rows(subject, first, rows)
    summary = _grid_values(subject, first, paths, points)
    check_finite(summary, doc.file)
    row_cases = tuple(name for _ in points for name in info.cases)
    return Sweep(tuple(params), tuple(points), SweepRun(first, info, summary, row_cases))


SHAPE_PATHS = ("contract.term_months", "contract.tail_months")
"""Inputs that change the contract's months (the arrays' shape): a grid is built per value."""


def _by_shape(
    subject: Subject, paths: Sequence[str], points: Sequence[Sequence[float]]
) -> dict[str, FloatArray] | None:
    """Issue 25: with a swept input that changes the contract's shape, one grid per shape
    (the points sharing its values), each from its base compiled once; None when no path
    changes the shape or some group cannot be built (every point is then resolved)."""
    shape = [k for k, p in enumerate(paths) if p in SHAPE_PATHS]
    rest = [k for k in range(len(paths)) if k not in shape]
    if not shape or not rest:
        return None
    groups: dict[tuple[float, ...], list[int]] = {}
    for i, point in enumerate(points):
        groups.setdefault(tuple(point[k] for k in shape), []).append(i)
    bases = {}
    for key in groups:
        sets = (*subject.sets, *((paths[k], v) for k, v in zip(shape, key, strict=True)))
        try:
            bases[key] = (sets, resolve(subject.doc, sets=sets, cases=subject.cases))
        except MhepError:
            return None  # a shape the format refuses: every point says why
    # every group padded to the longest, as the points resolved in one batch are
    months = max(c.scenario.contract.horizon for _, b in bases.values() for c in b.cases)
    parts: list[tuple[list[int], dict[str, FloatArray]]] = []
    for key, members in groups.items():
        sets, base = bases[key]
        moved = [[points[i][k] for k in rest] for i in members]
        built = compile_points(
            subject.doc, sets, subject.cases, base, [paths[k] for k in rest], moved, months
        )
        if built is None:
            return None
        parts.append((members, grid_summary(built)))
    cases = len(parts[0][1]["income"]) // len(parts[0][0])
    out: dict[str, FloatArray] = {}
    for members, summary in parts:
        at = (np.asarray(members)[:, None] * cases + np.arange(cases)).ravel()
        for name, column in summary.items():
            out.setdefault(name, np.full(len(points) * cases, np.nan))[at] = column
    return out


def _grid_values(
    subject: Subject, first: Base, paths: Sequence[str], points: Sequence[Sequence[float]]
) -> dict[str, FloatArray]:
    """Every row's metrics: from a contract's base compiled once, with the swept values put
    in place, where that can be done; else each point read and validated."""
    if isinstance(first, Resolved) and subject.actuals is None:
        doc, sets, cases = subject.doc, subject.sets, subject.cases
        built = compile_points(doc, sets, cases, first, paths, points)
        if built is not None:
            return grid_summary(built)
        shaped = _by_shape(subject, paths, points)
        if shaped is not None:
            return shaped
    return _point_by_point(subject, first, paths, points)


SLOW_ROWS = 4_096
"""Rows of a sweep resolved point by point held at once. A validated case version takes
about 14 KB (measured: 4.25 MB for 50 cases of 6 versions each), so a 90,000-row sweep
held whole needed far more than 6 GB (issue 26); in runs of this many rows, each run's
arrays padded to the same months, the results are the same bit for bit."""
VERSION_BYTES = 14_000
"""Memory of one validated case version [bytes] (measured), for the estimate of a sweep
that must hold every point at once."""


def _point_by_point(
    subject: Subject, first: Base, paths: Sequence[str], points: Sequence[Sequence[float]]
) -> dict[str, FloatArray]:
    """Each point read and validated, in runs of :data:`SLOW_ROWS` rows. A swept input
    that changes the months (the term, the tail, a portfolio contract's start) pads the
    rows to the longest point's months, so those points run together in one batch, whose
    memory is estimated first."""
    per = max(1, SLOW_ROWS // len(case_names(first)))
    if any(p.endswith((*SHAPE_PATHS, "contract.start")) for p in paths):
        held = resolved_contracts(first)
        versions = sum(len(case.versions) for r in held for case in r.cases)
        check_memory(
            BASE_BYTES + len(points) * versions * VERSION_BYTES,
            f"{subject.doc.file}: a sweep of {len(points):,} points whose months differ",
            "use fewer values of the term, the tail or the start, or sweep them one at a time",
        )
        per = len(points)
    parts = []
    for start in range(0, len(points), per):
        with _no_gc():
            run = points[start : start + per]
            group = [subject.at(list(zip(paths, point, strict=True))) for point in run]
            parts.append(subject.values(group))
        del group  # this run's validated scenarios go before the next run's are made
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
