"""Which assumptions matter: a tornado over the uncertain inputs of a scenario.

Each input is moved to its low and its high value with every other input at the case's
own value; the swing of a metric between the two is the input's weight. All the moved
versions of every case are rows of one vectorised batch (two rows per input and case).

Ranges come, by default, from the scenario's own cases (every numeric path some case
overrides, from its lowest to its highest value across the cases and the base), and from
``--range PATH=LO:HI`` and ``--vary PATH --by 20%``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mhep_model.errors import UsageError
from mhep_model.scenario import Resolved, resolve
from mhep_model.scenario.compile import scenario_lanes
from mhep_model.scenario.limits import check_work
from mhep_model.scenario.messages import field_bounds
from mhep_model.scenario.yamlio import load_yaml
from mhep_model.studies.run import RunOutput, run_resolved
from mhep_model.studies.solve import current_value
from mhep_model.studies.summary import summary_columns
from mhep_model.studies.sweep import resolve_points

MAX_RANGES = 200
"""Most inputs one tornado moves (two batch rows per input and case)."""


@dataclass(frozen=True)
class Range:
    """An input's low and high value, and where they came from."""

    path: str
    lo: float
    hi: float
    source: str
    """"cases" (the scenario's own cases), "--range" or "--vary ... --by"."""


def parse_range(text: str) -> Range:
    """``PATH=LO:HI`` with LO <= HI."""
    path, sep, spec = text.partition("=")
    parts = spec.split(":")
    if not sep or not path.strip() or len(parts) != 2:
        raise UsageError(
            f"--range takes PATH=LO:HI, e.g. stages.sustainment.rate=0.45:0.7; got '{text}'"
        )
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise UsageError(f"--range {path}: LO and HI must be numbers; got '{spec}'") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise UsageError(f"--range {path}: needs LO <= HI; got '{spec}'")
    return Range(path.strip(), lo, hi, "--range")


def parse_by(text: str) -> float:
    """``20%`` or ``0.2``: the relative move of ``--vary``, between 0 and 1000%."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*(%?)\s*", text)
    if match is None:
        raise UsageError(f"--by takes a relative change such as 20% or 0.2; got '{text}'")
    by = float(match.group(1)) / (100.0 if match.group(2) else 1.0)
    if not 0 < by <= 10:
        raise UsageError(f"--by must be above 0% and at most 1000%; got '{text}'")
    return by


def case_ranges(resolved: Resolved) -> list[Range]:
    """Every numeric path some case overrides, from its lowest to its highest value across
    the cases and the base."""
    base = resolved.base.model_dump(by_alias=True)
    values: dict[str, list[float]] = {}
    for overrides in (resolved.base.cases or {}).values():
        for path, value in overrides.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                values.setdefault(path, []).append(float(value))
    out = []
    for path, seen in values.items():
        own = current_value(base, path)
        every = [*seen, *([own] if own is not None else [])]
        if min(every) < max(every):
            out.append(Range(path, min(every), max(every), "cases"))
    return out


def vary_range(resolved: Resolved, path: str, by: float) -> Range:
    """The base value of ``path`` moved down and up by ``by``, within the format's bounds."""
    current = current_value(resolved.base.model_dump(by_alias=True), path)
    if current is None:
        raise UsageError(f"--vary {path}: not a number in the scenario; give --range {path}=LO:HI")
    lo, hi = sorted((current * (1 - by), current * (1 + by)))
    bound_lo, bound_hi = field_bounds(tuple(path.split(".")))
    lo = max(lo, bound_lo) if bound_lo is not None else lo
    hi = min(hi, bound_hi) if bound_hi is not None else hi
    return Range(path, lo, hi, f"--vary by {by:.0%}")


def choose_ranges(
    base: Resolved, file: str, ranges: Sequence[Range], vary: Sequence[str], by: float
) -> list[Range]:
    """``ranges`` and ``vary`` (replacing the cases' range of the same path); with
    neither, the ranges of the scenario's own cases."""
    chosen: dict[str, Range] = {}
    if not ranges and not vary:
        chosen = {r.path: r for r in case_ranges(base)}
    chosen |= {p: vary_range(base, p, by) for p in vary}
    chosen |= {r.path: r for r in ranges}
    if not chosen:
        raise UsageError(
            f"{file}: no case moves a number, so there is nothing to range: "
            "give --range PATH=LO:HI or --vary PATH --by 20%"
        )
    if len(chosen) > MAX_RANGES:
        raise UsageError(f"at most {MAX_RANGES} inputs can be ranged, got {len(chosen)}")
    return list(chosen.values())


@dataclass(frozen=True)
class Tornado:
    """Each range's low and high runs, every case, in one batch."""

    ranges: tuple[Range, ...]
    cases: tuple[str, ...]
    run: RunOutput
    """Rows: the cases as they are, then per range its low then its high versions."""

    def metric(self, name: str) -> np.ndarray:
        """``(1 + 2 x ranges, cases)`` the metric of every row."""
        values = np.asarray(self.run.results.summary[name], dtype=float)
        return values.reshape(1 + 2 * len(self.ranges), len(self.cases))

    @property
    def metrics(self) -> list[str]:
        return summary_columns(self.run.results)

    def manifest(self) -> dict[str, Any]:
        out = self.run.manifest("sensitivity")
        out["ranges"] = {r.path: [r.lo, r.hi, r.source] for r in self.ranges}
        return out


def tornado(
    path: str | Path,
    *,
    ranges: Sequence[Range] = (),
    vary: Sequence[str] = (),
    by: float = 0.2,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
) -> Tornado:
    """Move each input to its low and high value (the case's own for the rest) and run
    every case of every version as one batch. ``ranges`` and ``vary`` replace the cases'
    ranges of the same path; with neither, the cases' ranges are used."""
    doc = load_yaml(path)
    base = resolve(doc, sets=sets, cases=cases)
    chosen = choose_ranges(base, str(path), ranges, vary, by)
    rows = (1 + 2 * len(chosen)) * len(base.cases)
    check_work(rows, base.base.contract.horizon, scenario_lanes(base.base), str(path))
    group = [base]
    for r in chosen:
        group += resolve_points(doc, sets, cases, [r.path], [[r.lo], [r.hi]])
    names = tuple(c.name for c in base.cases)
    return Tornado(tuple(chosen), names, run_resolved(group))
