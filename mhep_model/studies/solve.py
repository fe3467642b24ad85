"""Goal seek: the value of an input at which a summary metric reaches a target, per case,
bracketed with many candidates per vectorised batch."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mhep_model.engine import run
from mhep_model.engine.inputs import FloatArray
from mhep_model.engine.solve import Roots, find_roots
from mhep_model.errors import ScenarioError, UsageError
from mhep_model.scenario import Resolved, compile_inputs, resolve
from mhep_model.scenario.amend import through_amendments
from mhep_model.scenario.messages import field_bounds
from mhep_model.scenario.yamlio import Document, Source, load_yaml
from mhep_model.studies.overrides import override_warnings
from mhep_model.studies.summary import summary_columns


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


def current_value(sc_data: Any, path: str) -> float | None:
    """The number at dotted ``path`` of a scenario dumped by alias, or None."""
    node = sc_data
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else None


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
    """Find, per case, the value of input ``vary`` at which ``metric`` equals the target.

    The input is set after each case's own overrides (like a sweep). Without ``between``
    the range is 0..1 for a share, else 0 to four times the case's current value. With
    ``through``, amendments that change the input are set aside for it, so the value
    holds for the whole contract.
    """
    metric, goal = target
    doc = load_yaml(path)
    if through:
        doc = through_amendments(doc, [vary])
    base = resolve(doc, sets=sets, cases=cases, actuals=actuals)
    names = tuple(c.name for c in base.cases)
    columns = summary_columns(run(compile_inputs(base)))
    if metric not in columns:
        raise UsageError(f"no metric named {metric}; choose from {', '.join(columns)}")
    keys = tuple(vary.split("."))
    lo_bound, hi_bound = field_bounds(keys)
    lo = np.zeros(len(names))
    hi = np.zeros(len(names))
    for i, case in enumerate(base.cases):
        if between is not None:
            lo[i], hi[i] = between
            continue
        current = current_value(case.scenario.model_dump(by_alias=True), vary)
        if current is None:
            raise UsageError(
                f"{vary} is not a number in case {case.name}: give the range with --between LO:HI"
            )
        lo[i] = lo_bound if lo_bound is not None else 0.0
        # a share is searched over 0..1; anything else up to four times its value (the
        # format's own upper limits, such as 1e12 for money, are far too wide to search)
        share = hi_bound is not None and hi_bound <= 1.0
        hi[i] = hi_bound if share and hi_bound is not None else max(4.0 * current, 1.0)

    def evaluate(x: FloatArray) -> FloatArray:
        group = []
        for i, name in enumerate(names):
            for value in x[i]:
                group.append(_resolve_at(doc, sets, name, vary, float(value), actuals))
        summary = run(compile_inputs(group)).summary[metric]
        return summary.reshape(x.shape)

    roots = find_roots(evaluate, lo, hi, np.full(len(names), goal))
    notes = tuple(override_warnings(base, [vary], "the value found applies"))
    return Solution(vary, metric, goal, names, lo, hi, roots, base.base.contract.currency, notes)


def _resolve_at(
    doc: Document,
    sets: Sequence[tuple[str, Any]],
    case: str,
    vary: str,
    value: float,
    actuals: str | Path | None,
) -> Resolved:
    try:
        return resolve(doc, sets=sets, cases=[case], case_sets=[(vary, value)], actuals=actuals)
    except ScenarioError as e:
        raise e.prefixed(f"at {vary}={value:g}") from None
