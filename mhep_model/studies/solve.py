"""Goal seek: the value of an input at which a summary metric reaches a target, per case,
bracketed with many candidates per vectorised batch."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mhep_model.engine.inputs import FloatArray
from mhep_model.engine.solve import GRID, Roots, find_roots
from mhep_model.errors import UsageError
from mhep_model.scenario import Resolved
from mhep_model.scenario.amend import through_amendments
from mhep_model.scenario.yamlio import Source, load_yaml
from mhep_model.studies.overrides import override_warnings
from mhep_model.studies.subject import (
    Subject,
    bounds,
    case_names,
    case_value,
    check_rows,
    currency_of,
    describe,
)


@dataclass(frozen=True)
class Solution:
    """Per case: the input value at which the metric reaches the target, if any."""

    path: str
    metric: str
    target: float
    cases: tuple[str, ...]
    lo: FloatArray
    hi: FloatArray
    roots: Roots
    currency: str = "GBP"
    notes: tuple[str, ...] = ()
    """Warnings for the user: amendments that override the varied input from some month."""

    def direction(self, i: int) -> str:
        """Which way the metric moves as the input rises, over the range searched."""
        a, b = self.roots.at_lo[i], self.roots.at_hi[i]
        if math.isnan(a) or math.isnan(b) or a == b:
            return "does not move"
        return "rises" if b > a else "falls"


def parse_target(text: str) -> tuple[str, float]:
    """``METRIC=VALUE``."""
    metric, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not sep or not metric.strip() or not math.isfinite(number):
        raise UsageError(f"--target takes METRIC=VALUE, e.g. provider_min_reserves=0; got '{text}'")
    return metric.strip(), number


def parse_between(text: str) -> tuple[float, float]:
    """``LO:HI``."""
    lo_text, sep, hi_text = text.partition(":")
    try:
        lo, hi = float(lo_text), float(hi_text)
    except ValueError:
        lo = hi = math.nan
    if not sep or not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise UsageError(f"--between takes LO:HI with LO < HI, e.g. 0:200000; got '{text}'")
    return lo, hi


def solve(
    path: Source,
    vary: str,
    target: tuple[str, float],
    *,
    cases: Sequence[str] | None = None,
    sets: Sequence[tuple[str, Any]] = (),
    between: tuple[float, float] | None = None,
    actuals: str | Path | None = None,
    through: bool = False,
) -> Solution:
    """Find, per case, the value of input ``vary`` at which ``metric`` equals the target,
    in a contract or a portfolio (its ``contracts.<name>.<path>``, ``contracts.*.<path>``
    or its own keys; a metric of its own or ``<contract>.<metric>``).

    The input is set after each case's own overrides (like a sweep). Without ``between``
    the range is 0..1 for a share, else 0 to four times the case's current value. With
    ``through``, amendments that change the input are set aside for it, so the value
    holds for the whole contract.
    """
    metric, goal = target
    doc = load_yaml(path)
    if through:
        doc = through_amendments(doc, [vary])
    subject = Subject(doc, tuple(sets), tuple(cases) if cases else None, actuals=actuals)
    base = subject.base()
    names = case_names(base)
    columns = describe(subject, base, "solve").metrics
    if metric not in columns:
        raise UsageError(f"no metric named {metric}; choose from {', '.join(columns)}")
    # each round runs every case at GRID values in one batch: refused before the first
    check_rows(subject, base, len(names) * GRID)
    lo_bound, hi_bound = bounds(vary)
    lo = np.zeros(len(names))
    hi = np.zeros(len(names))
    for i, case in enumerate(names):
        if between is not None:
            lo[i], hi[i] = between
            continue
        current = case_value(base, vary, case)
        if current is None:
            raise UsageError(
                f"{vary} is not a number in case {case}: give the range with --between LO:HI"
            )
        lo[i] = lo_bound if lo_bound is not None else 0.0
        # a share is searched over 0..1; anything else up to four times its value (the
        # format's own upper limits, such as 1e12 for money, are far too wide to search)
        share = hi_bound is not None and hi_bound <= 1.0
        hi[i] = hi_bound if share and hi_bound is not None else max(4.0 * current, 1.0)

    def evaluate(x: FloatArray) -> FloatArray:
        group = [
            subject.at([(vary, float(value))], [name])
            for i, name in enumerate(names)
            for value in x[i]
        ]
        return np.asarray(subject.values(group)[metric], dtype=np.float64).reshape(x.shape)

    roots = find_roots(evaluate, lo, hi, np.full(len(names), goal))
    notes = (
        tuple(override_warnings(base, [vary], "the value found applies"))
        if isinstance(base, Resolved)
        else ()
    )
    return Solution(vary, metric, goal, names, lo, hi, roots, currency_of(base), notes)
