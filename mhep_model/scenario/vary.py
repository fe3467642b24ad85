"""A sweep's grid as arrays: the base compiled once, the swept values put in place.

Resolving and validating every point of a 7,500-row sweep costs many times the engine's
run of it (issue 15). Most swept inputs reach the engine's arrays as plain copies of the
value (``referrals.scale``, a stage rate, the block) or as the value times an amendment's
factor (a rate scaled from month 18), so the grid can be built from the compiled base:

1. for each swept path, compile the cases at two probe values from its own range and
   classify every element of every input array as unchanged, a copy of the value, or the
   value times a fixed factor (the two probes must agree);
2. check the swept values against the format's bounds, and the built arrays against what
   validation guarantees (rates within 0..1), at once;
3. compile one grid point the slow way and require the same arrays, bit for bit.

Arrays that are products of inputs (issue 25) are computed from the terms in force, as the
slow compile computes them: ``referrals_monthly = workers * per_worker_per_year / 12`` and
each outcome's ``provider_tariff = share_of_tariff * tariff``. The terms in force month by
month are classified like any array (a copy of the value, or the value times an
amendment's factor), then the product is evaluated on arrays, element by element in the
compile's order, so the grid is the same bit for bit (step 3 checks it).

Anything else (a value that changes the shape of the contract, an effect that depends on
two swept inputs in another way, a bound crossed) returns None, and the caller resolves
every point as before, with the messages it always gave.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from mhep_model.engine.inputs import Inputs, repeat_row
from mhep_model.errors import MhepError
from mhep_model.scenario.compile import compile_inputs, version_index
from mhep_model.scenario.messages import field_bounds
from mhep_model.scenario.resolve import Resolved, resolve
from mhep_model.scenario.yamlio import Document

MIN_POINTS = 8
"""Fewer grid points than this are resolved one by one (nothing to gain)."""


def _arrays(inp: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """Every array of an inputs dataclass by a dotted name (``stages.2.rate``)."""
    out: dict[str, np.ndarray] = {}
    for f in dataclasses.fields(inp):
        value = getattr(inp, f.name)
        if isinstance(value, np.ndarray):
            out[prefix + f.name] = value
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            out |= _arrays(value, f"{prefix}{f.name}.")  # v3: grants, the stop
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            for i, item in enumerate(value):
                out |= _arrays(item, f"{prefix}{f.name}.{i}.")
    return out


def _with_arrays(inp: Any, arrays: dict[str, np.ndarray], prefix: str = "") -> Any:
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(inp):
        value = getattr(inp, f.name)
        if isinstance(value, np.ndarray):
            changes[f.name] = arrays[prefix + f.name]
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes[f.name] = _with_arrays(value, arrays, f"{prefix}{f.name}.")
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            changes[f.name] = tuple(
                _with_arrays(item, arrays, f"{prefix}{f.name}.{i}.") for i, item in enumerate(value)
            )
    return dataclasses.replace(inp, **changes)


@dataclasses.dataclass(frozen=True)
class _Effect:
    """Where one swept path lands in one input array, per case row."""

    copy: np.ndarray
    """Elements that are the value itself."""
    scaled: np.ndarray
    """Elements that are the value times ``factor``."""
    factor: np.ndarray


_DERIVED = re.compile(r"referrals_monthly|outcomes\.\d+\.provider_tariff")
"""Arrays that are products of terms: computed by :func:`_derive`, never classified."""


def _terms_in_force(resolved: Resolved, months: int) -> dict[str, np.ndarray]:
    """``(R, T)`` the terms the products are made of, in force in each month of each case
    (NaN where the product is not made of them: referrals given monthly, the provider's
    tariffs given outright)."""
    rows = len(resolved.cases)
    out = {k: np.full((rows, months), np.nan) for k in _TERMS}
    for r, case in enumerate(resolved.cases):
        index = version_index(case, months)
        for k, version in enumerate(case.versions):
            at, sc = index == k, version.scenario
            if sc.referrals.monthly is None:
                out["terms.workers"][r, at] = sc.referrals.workers or 0.0
                out["terms.per_worker"][r, at] = sc.referrals.per_worker_per_year or 0.0
            op = sc.provider.outcome_payments
            if op is not None and op.tariffs is None:
                out["terms.share_of_tariff"][r, at] = op.share_of_tariff or 0.0
    return out


_TERMS = ("terms.workers", "terms.per_worker", "terms.share_of_tariff")


def _derive(
    base: dict[str, np.ndarray], swept: dict[str, np.ndarray], index: np.ndarray
) -> dict[str, np.ndarray]:
    """The product arrays of every row whose terms a swept path reaches, evaluated as
    :mod:`mhep_model.scenario.compile` evaluates them (same operations, same order)."""

    def now(name: str) -> np.ndarray:
        return swept[name] if name in swept else base[name][index]

    out = {}
    if "terms.workers" in swept or "terms.per_worker" in swept:
        w, p = now("terms.workers"), now("terms.per_worker")
        with np.errstate(invalid="ignore"):
            out["referrals_monthly"] = np.where(np.isnan(w), now("referrals_monthly"), w * p / 12.0)
    for name in base:
        found = re.fullmatch(r"outcomes\.(\d+)\.provider_tariff", name)
        tariff = f"outcomes.{found[1]}.tariff" if found else ""
        if found and ("terms.share_of_tariff" in swept or tariff in swept):
            share = now("terms.share_of_tariff")[:, None, :]
            with np.errstate(invalid="ignore"):
                out[name] = np.where(np.isnan(share), now(name), share * now(tariff))
    return out


def _same(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    same: np.ndarray = (x == y) | (np.isnan(x) & np.isnan(y)) if x.dtype.kind == "f" else x == y
    return same


def _effects(
    base: dict[str, np.ndarray],
    probes: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
    values: tuple[float, float],
) -> dict[str, _Effect] | None:
    """How the path probed at ``values`` changes each array, or None when some element
    is neither unchanged, a copy of the value nor the value times one factor."""
    (pa, pb), (a, b) = probes, values
    out = {}
    for name, x in base.items():
        if _DERIVED.fullmatch(name):
            continue  # a product of terms: made by _derive from them
        xa, xb = pa[name], pb[name]
        if xa.shape != x.shape or xb.shape != x.shape:
            return None
        same = _same(xa, x) & _same(xb, x)
        if same.all():
            continue
        if x.dtype.kind != "f":
            return None
        copy = ~same & (xa == a) & (xb == b)
        factor = _factor(xa, xb, a, b) if not (same | copy).all() else np.zeros_like(x)
        scaled = ~same & ~copy & np.isfinite(factor)
        if not (same | copy | scaled).all():
            return None
        out[name] = _Effect(copy, scaled, np.where(scaled, factor, 0.0))
    return out


def _factor(xa: np.ndarray, xb: np.ndarray, a: float, b: float) -> np.ndarray:
    """Per element, the factor ``f`` with ``a * f == xa`` and ``b * f == xb`` exactly (as
    an amendment's scale computes the value), else NaN. ``xa / a`` may miss ``f`` by an
    ulp, so its neighbours are tried too."""
    found = np.full(xa.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        guesses = [xa / a, xb / b]
        guesses += [np.nextafter(g, d) for g in guesses[:2] for d in (-np.inf, np.inf)]
        for guess in guesses:
            exact = np.isnan(found) & (a * guess == xa) & (b * guess == xb) & np.isfinite(guess)
            found = np.where(exact, guess, found)
    return found


def _probe(values: np.ndarray) -> tuple[float, float] | None:
    """Two distinct non-zero values of the sweep (its extremes where it can)."""
    nonzero = sorted({float(v) for v in values if v != 0})
    return (nonzero[0], nonzero[-1]) if len(nonzero) >= 2 else None


def _in_bounds(path: str, values: np.ndarray) -> bool:
    try:
        lo, hi = field_bounds(tuple(path.split(".")))
    except (KeyError, TypeError, AttributeError):
        return False
    return bool(np.all(np.isfinite(values)) and (lo is None or values.min() >= lo)) and (
        hi is None or values.max() <= hi
    )


@dataclasses.dataclass(frozen=True)
class PointGrid:
    """The engine's inputs of every case at every point (rows point by point, case by
    case), kept as the compiled base and the arrays the swept values reach: the rest of
    each case's inputs are shared by all its points, never copied per row."""

    base: Inputs
    """The cases at the base values: one row per case."""
    swept: dict[str, np.ndarray]
    """``(rows, ...)`` the arrays that a swept path reaches, by dotted name."""
    points: int

    @property
    def rows(self) -> int:
        return self.points * self.base.rows

    def case_inputs(self, case: int) -> Inputs:
        """Case ``case`` at every point, one row per point: the base row broadcast (a
        view), with the swept arrays' rows of that case."""
        shared = repeat_row(self.base, case, self.points)
        arrays = _arrays(shared)
        for name, values in self.swept.items():
            arrays[name] = values[case :: self.base.rows]
        built: Inputs = _with_arrays(shared, arrays)
        return built

    def point_inputs(self, point: int) -> Inputs:
        """Every case at point ``point`` (copies: one row per case)."""
        cases = self.base.rows
        arrays = _arrays(self.base)
        for name, values in self.swept.items():
            arrays[name] = values[point * cases : (point + 1) * cases]
        built: Inputs = _with_arrays(self.base, arrays)
        return built


def compile_points(
    doc: Document,
    sets: Sequence[tuple[str, Any]],
    cases: Sequence[str] | None,
    first: Resolved,
    paths: Sequence[str],
    points: Sequence[Sequence[float]],
    months: int = 0,
) -> PointGrid | None:
    """The engine's inputs of every case at every point, as :func:`compile_inputs` of
    each point resolved would give them (``months``: padded to at least this many, as a
    larger batch is); None when the grid cannot be built from the base (see the module's
    notes)."""
    if len(points) < MIN_POINTS or first.actuals is not None:
        return None
    grid = np.asarray(points, dtype=np.float64)  # (points, params)
    try:
        base_inp = compile_inputs(first, months)
        base = _arrays(base_inp) | _terms_in_force(first, base_inp.months)
        effects = []
        for k, path in enumerate(paths):
            if not _in_bounds(path, grid[:, k]):
                return None
            probe = _probe(grid[:, k])
            if probe is None:
                return None
            resolved = [resolve(doc, sets=sets, cases=cases, case_sets=[(path, v)]) for v in probe]
            compiled = [compile_inputs(r, months) for r in resolved]
            if any(c.uses_v3 != base_inp.uses_v3 for c in compiled):
                return None  # a v3 key named where the base names none: other columns
            probed = tuple(
                _arrays(c) | _terms_in_force(r, c.months)
                for c, r in zip(compiled, resolved, strict=True)
            )
            if any(p.keys() != base.keys() for p in probed):
                return None  # a term the base does not have (v3: None in the base)
            found = _effects(base, probed, probe)  # type: ignore[arg-type]
            if found is None:
                return None
            effects.append(found)
    except MhepError:
        return None  # a probe the format refuses: every point is resolved, and says why
    touched: dict[str, np.ndarray] = {}
    for found in effects:  # each element may follow one swept path only
        for name, e in found.items():
            hit = e.copy | e.scaled
            if name in touched and (touched[name] & hit).any():
                return None
            touched[name] = touched.get(name, np.zeros_like(hit)) | hit
    cases_n = base_inp.rows
    index = np.tile(np.arange(cases_n), len(points))
    swept = {name: base[name][index] for name in touched}
    for k, found in enumerate(effects):
        v = np.repeat(grid[:, k], cases_n)  # (rows,)
        for name, e in found.items():
            value = v.reshape((len(v),) + (1,) * (swept[name].ndim - 1))
            x = np.where(e.copy[index], value, swept[name])
            swept[name] = np.where(e.scaled[index], value * e.factor[index], x)
    swept |= _derive(base, swept, index)
    swept = {name: x for name, x in swept.items() if not name.startswith("terms.")}
    built = PointGrid(base_inp, swept, len(points))
    if not _valid(swept) or not _matches(doc, sets, cases, paths, points, built, months):
        return None
    return built


def _valid(swept: dict[str, np.ndarray]) -> bool:
    """What validation guarantees of a point's arrays: rates and shares within 0..1 (the
    arrays no swept value reaches are the validated base's)."""
    tops = {("stages", "rate"): 1.0, ("outcomes", "shares"): 1.0 + 1e-9}
    for name, x in swept.items():
        top = tops.get((name.split(".")[0], name.rsplit(".", 1)[-1]))
        if top is not None and not ((x >= 0) & (x <= top)).all():
            return False
    return True


def _matches(
    doc: Document,
    sets: Sequence[tuple[str, Any]],
    cases: Sequence[str] | None,
    paths: Sequence[str],
    points: Sequence[Sequence[float]],
    built: PointGrid,
    months: int = 0,
) -> bool:
    """One interior grid point resolved the slow way gives the same arrays, bit for bit."""
    i = len(points) // 2
    try:
        slow = compile_inputs(
            resolve(
                doc, sets=sets, cases=cases, case_sets=list(zip(paths, points[i], strict=True))
            ),
            months,
        )
    except MhepError:
        return False
    mine = _arrays(built.point_inputs(i))
    theirs = _arrays(slow)
    if mine.keys() != theirs.keys() or built.base.uses_v3 != slow.uses_v3:
        return False
    return all(np.array_equal(x, mine[name], equal_nan=True) for name, x in theirs.items())
