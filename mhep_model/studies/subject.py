"""What a sensitivity study moves: one contract's scenario or a portfolio, read once.

A *point* is a list of ``(dotted path, value)`` set after each case's own overrides (as
a sweep's values are); a portfolio's paths are ``contracts.<name>.<path>``,
``contracts.*.<path>`` or its own keys. Every point is evaluated for every case, and the
metrics come back as one array per metric, rows point by point and, within a point, case
by case. Evaluating is a pure function of the subject and the points, so blocks of points
can run anywhere (on a Dask worker) and give the same numbers.

With ``with_amendments``, an amendment that sets a moved path is moved with it, in
proportion to the case's own value (by the difference when that is 0): a re-set block of
82,500 against 100,000 stays 82.5% of it (``--with-amendments``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mhep_model.engine.inputs import FloatArray
from mhep_model.errors import ScenarioError
from mhep_model.scenario import Resolved, resolve
from mhep_model.scenario.amend import move_amendments
from mhep_model.scenario.compile import scenario_lanes
from mhep_model.scenario.limits import MAX_SWEEP_ROWS, check_cells, check_work
from mhep_model.scenario.messages import field_bounds
from mhep_model.scenario.model_inputs import model_cells
from mhep_model.scenario.portfolio import Portfolio, is_portfolio, load_portfolio
from mhep_model.scenario.vary import compile_points
from mhep_model.scenario.yamlio import Document, Source, load_yaml
from mhep_model.studies.overrides import amendments_overriding
from mhep_model.studies.run import check_finite, grid_summary, metric_values, run_models, summaries
from mhep_model.studies.summary import summary_columns

Point = Sequence[tuple[str, float]]
Base = Resolved | Portfolio


def current_value(sc_data: Any, path: str) -> float | None:
    """The number at dotted ``path`` of a scenario dumped by alias, or None."""
    node = sc_data
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else None


@dataclass(frozen=True)
class Subject:
    """A scenario or portfolio file as read, with the command line's overrides."""

    doc: Document
    sets: tuple[tuple[str, Any], ...] = ()
    cases: tuple[str, ...] | None = None
    with_amendments: bool = False
    actuals: str | Path | None = None
    """A contract's recorded months (``--actuals``); a portfolio's contracts carry theirs."""

    @property
    def portfolio(self) -> bool:
        return is_portfolio(self.doc)

    def base(self) -> Base:
        """Every (selected) case, validated; raises ScenarioError."""
        return self.at(())

    def at(self, point: Point, cases: Sequence[str] | None = None) -> Base:
        """Every (selected, or ``cases``) case with ``point``'s values set after the cases'
        own overrides, validated; an error names the point."""
        chosen = tuple(cases) if cases is not None else self.cases
        try:
            if self.portfolio:
                return load_portfolio(self.doc, sets=self.sets, cases=chosen, case_sets=point)
            return resolve(
                self.doc, sets=self.sets, cases=chosen, case_sets=point, actuals=self.actuals
            )
        except ScenarioError as e:
            raise (e.prefixed(_where(point)) if point else e) from None

    def values(self, group: Sequence[Base]) -> dict[str, FloatArray]:
        """The metrics of every case of every member of ``group`` (contracts: the
        ``summary.csv`` columns; portfolios: theirs and ``<contract>.<metric>``), rows
        member by member, case by case; money that overflowed is refused."""
        if self.portfolio:
            return metric_values(run_models([b for b in group if isinstance(b, Portfolio)]))
        return summaries([b for b in group if isinstance(b, Resolved)])


def load_subject(
    path: Source,
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
    with_amendments: bool = False,
) -> Subject:
    return Subject(load_yaml(path), tuple(sets), tuple(cases) if cases else None, with_amendments)


def _where(point: Point) -> str:
    return "at " + ", ".join(f"{p}={v:g}" for p, v in point) if point else "at the base"


@dataclass(frozen=True)
class Info:
    """What a study's outputs need to know of its subject, from one run of its cases."""

    name: str
    currency: str
    stages: tuple[str, ...]
    cases: tuple[str, ...]
    metrics: tuple[str, ...]
    manifest: dict[str, Any]
    max_rows: int
    """Most rows one study may evaluate (a portfolio's rows hold every contract)."""


def case_names(base: Base) -> tuple[str, ...]:
    """The (selected) cases, in order."""
    return base.case_names if isinstance(base, Portfolio) else tuple(c.name for c in base.cases)


def currency_of(base: Base) -> str:
    first = base.contracts[0].resolved if isinstance(base, Portfolio) else base
    return first.base.contract.currency


def case_value(base: Base, path: str, case: str) -> float | None:
    """The number at ``path`` in ``case`` (before amendments), or None; a portfolio's
    ``contracts.<name>.<path>`` (``*``: the largest over the contracts) or its own."""
    numbers = [v for v in _values_at(base, path, case) if v is not None]
    return max(numbers) if numbers else None


def _values_at(base: Base, path: str, case: str | None) -> list[float | None]:
    """The value at ``path`` in each scenario it names: the contract's, or each named
    contract's (a portfolio's ``contracts.<name or *>.<path>``), or the portfolio's own;
    in ``case`` (before amendments), or in the base before cases when None."""

    def dump(resolved: Resolved) -> Any:
        if case is None:
            return resolved.base.model_dump(by_alias=True)
        scenario = next(c for c in resolved.cases if c.name == case).scenario
        return scenario.model_dump(by_alias=True)

    if isinstance(base, Resolved):
        return [current_value(dump(base), path)]
    found = _contract_path(path)
    if found is None:
        return [current_value(base.spec.model_dump(by_alias=True), path)]
    name, rest = found
    return [current_value(dump(c.resolved), rest) for c in base.contracts if name in ("*", c.name)]


def describe(subject: Subject, base: Base, command: str = "sensitivity") -> Info:
    """Run the base cases once, for the names, units and metrics of the outputs."""
    if isinstance(base, Portfolio):
        prun = run_models([base])
        return Info(
            base.name,
            currency_of(base),
            tuple(s.name for s in prun.model_inputs.contracts[0].stages),
            case_names(base),
            tuple(metric_values(prun)),
            prun.manifest(command),
            MAX_SWEEP_ROWS // len(base.contracts),
        )
    run = run_models([base])
    return Info(
        base.base.name,
        currency_of(base),
        tuple(s.name for s in run.inputs.stages),
        case_names(base),
        tuple(summary_columns(run.results)),
        run.manifest(command),
        MAX_SWEEP_ROWS,
    )


def check_rows(subject: Subject, base: Base, rows: int) -> None:
    """Refuse a batch over the work budget before any of it is computed."""
    if isinstance(base, Portfolio):  # rows of every contract and the SPV (issue 26)
        per_row = model_cells([base]) // len(base.case_names)
        check_cells(per_row * rows, subject.doc.file)
        return
    check_work(rows, base.base.contract.horizon, scenario_lanes(base.base), subject.doc.file)


def _contract_path(path: str) -> tuple[str, str] | None:
    """``(contract or *, path in it)`` of a portfolio's ``contracts.<name>.<path>``."""
    parts = path.split(".")
    if parts[0] == "contracts" and len(parts) > 2:
        return parts[1], ".".join(parts[2:])
    return None


def base_value(base: Base, path: str) -> float | None:
    """The number at ``path`` in the base (before cases), or None; for ``contracts.*``,
    the value when every contract has the same one."""
    values = set(_values_at(base, path, None))
    return values.pop() if len(values) == 1 else None


def bounds(path: str) -> tuple[float | None, float | None]:
    """The format's bounds on the value at ``path`` (a contract's path for a portfolio)."""
    found = _contract_path(path)
    try:
        return field_bounds(tuple((found[1] if found else path).split(".")))
    except (KeyError, TypeError, AttributeError):
        return None, None


def case_paths(base: Base) -> dict[str, list[float]]:
    """Every numeric path a case overrides, with the values the cases and the base give it."""
    if isinstance(base, Resolved):
        return _case_paths(base, "")
    out: dict[str, list[float]] = {}
    for c in base.contracts:
        out |= _case_paths(c.resolved, f"contracts.{c.name}.")
    return out


def _case_paths(resolved: Resolved, prefix: str) -> dict[str, list[float]]:
    dump = resolved.base.model_dump(by_alias=True)
    values: dict[str, list[float]] = {}
    for overrides in (resolved.base.cases or {}).values():
        for path, value in overrides.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                values.setdefault(prefix + path, []).append(float(value))
    for path, seen in values.items():
        own = current_value(dump, path[len(prefix) :])
        seen += [own] if own is not None else []
    return values


def amendment_note(subject: Subject, base: Base, path: str) -> tuple[str, bool]:
    """Which amendments change ``path`` and what the study does with them, in words; and
    whether one of them sets it anew from its month (the study's value holds only until
    then: ``--with-amendments`` would move it)."""
    if isinstance(base, Resolved):
        targets = [("", base, path)]
    else:
        found = _contract_path(path)
        targets = [
            (f"{c.name}: ", c.resolved, found[1])
            for c in base.contracts
            if found is not None and found[0] in ("*", c.name)
        ]
    notes = []
    held = False
    for prefix, resolved, p in targets:
        for month, key, how in amendments_overriding(resolved, p):
            if how == "scale":
                notes.append(f"{prefix}an amendment from month {month} scales it (moves with it)")
            elif subject.with_amendments and (key == p or p.startswith(key + ".")):
                notes.append(f"{prefix}an amendment from month {month} sets it, moved with it")
            else:
                held = True
                notes.append(
                    f"{prefix}an amendment sets it anew from month {month} "
                    f"(the range holds to month {month - 1})"
                )
    return "; ".join(notes), held


def evaluate(subject: Subject, points: Sequence[Point]) -> dict[str, FloatArray]:
    """The metrics of every case at every point: ``{metric: (points x cases,)}``."""
    grid = _grid(subject, points)
    if grid is not None:
        return {k: np.asarray(v, dtype=float) for k, v in grid.items()}
    owns = _own_values(subject, {p for pt in points for p, _ in pt})
    if subject.portfolio:
        portfolios = [pf for pt in points for pf in _portfolios_at(subject, pt, owns)]
        values = metric_values(run_models(portfolios))
    else:
        group = [r for pt in points for r in _resolved_at(subject, pt, owns)]
        values = summaries(group)
    return {k: np.asarray(v, dtype=float) for k, v in values.items()}


def _grid(subject: Subject, points: Sequence[Point]) -> dict[str, FloatArray] | None:
    """Points that move the same paths (Sobol samples) of one contract, built from its
    base compiled once when :func:`compile_points` can; else None."""
    if subject.portfolio or subject.with_amendments or not points or not points[0]:
        return None
    paths = [p for p, _ in points[0]]
    if any([p for p, _ in pt] != paths for pt in points):
        return None
    first = subject.base()
    if not isinstance(first, Resolved):
        return None
    values = [[v for _, v in pt] for pt in points]
    built = compile_points(subject.doc, subject.sets, subject.cases, first, paths, values)
    if built is None:
        return None
    summary = grid_summary(built)
    check_finite(summary, subject.doc.file)
    return summary


@dataclass(frozen=True)
class Owns:
    """Each case's own values of the moved paths, before amendments (None: not a number)."""

    cases: tuple[str, ...]
    values: dict[tuple[str, str, str], float | None]
    """(case, contract or "", path) -> value."""


def _own_values(subject: Subject, paths: set[str]) -> Owns:
    if not subject.with_amendments:
        return Owns((), {})
    base = subject.base()
    out: dict[tuple[str, str, str], float | None] = {}
    if isinstance(base, Resolved):
        for case in base.cases:
            dump = case.scenario.model_dump(by_alias=True)
            out |= {(case.name, "", p): current_value(dump, p) for p in paths}
        return Owns(tuple(c.name for c in base.cases), out)
    for c in base.contracts:
        for case in c.resolved.cases:
            dump = case.scenario.model_dump(by_alias=True)
            for p in paths:
                found = _contract_path(p)
                if found is not None and found[0] in ("*", c.name):
                    out[(case.name, c.name, found[1])] = current_value(dump, found[1])
    return Owns(base.case_names, out)


def _moved(doc: Document, moves: Sequence[tuple[str, float | None, float]]) -> Document:
    for path, old, new in moves:
        if old is not None:
            doc = move_amendments(doc, path, old, new)[0]
    return doc


def _resolved_at(subject: Subject, point: Point, owns: Owns) -> list[Resolved]:
    try:
        if not subject.with_amendments:
            return [resolve(subject.doc, sets=subject.sets, cases=subject.cases, case_sets=point)]
        out = []
        for case in owns.cases:
            doc = _moved(subject.doc, [(p, owns.values[(case, "", p)], x) for p, x in point])
            out.append(resolve(doc, sets=subject.sets, cases=[case], case_sets=point))
        return out
    except ScenarioError as e:
        raise e.prefixed(_where(point)) from None


def _portfolios_at(subject: Subject, point: Point, owns: Owns) -> list[Portfolio]:
    try:
        if not subject.with_amendments:
            pf = load_portfolio(
                subject.doc, sets=subject.sets, cases=subject.cases, case_sets=point
            )
            return [pf]
        out = []
        for case in owns.cases:

            def edit(name: str, doc: Document, case: str = case) -> Document:
                moves = []
                for p, x in point:
                    found = _contract_path(p)
                    if found is not None and found[0] in ("*", name):
                        moves.append((found[1], owns.values.get((case, name, found[1])), x))
                return _moved(doc, moves)

            out.append(
                load_portfolio(
                    subject.doc, sets=subject.sets, cases=[case], case_sets=point, edit=edit
                )
            )
        return out
    except ScenarioError as e:
        raise e.prefixed(_where(point)) from None
