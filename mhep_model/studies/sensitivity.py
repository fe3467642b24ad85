"""Which assumptions matter: a tornado over the uncertain inputs of a scenario or a
portfolio.

Each input is moved to its low and its high value with every other input at the case's
own value; the swing of a metric between the two is the input's weight. All the moved
versions of every case are rows of one vectorised batch (two rows per input and case).

Ranges come, by default, from the scenario's own cases (every numeric path some case
overrides, from its lowest to its highest value across the cases and the base), and from
``--range PATH=LO:HI`` and ``--vary PATH --by 20%``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from mhep_model.engine.inputs import FloatArray
from mhep_model.errors import UsageError
from mhep_model.scenario import Resolved
from mhep_model.scenario.model import inputs_as_written
from mhep_model.scenario.yamlio import Source
from mhep_model.studies.subject import (
    Base,
    Info,
    Point,
    Subject,
    amendment_note,
    base_value,
    bounds,
    case_paths,
    check_rows,
    describe,
    evaluate,
    load_subject,
)

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


def case_ranges(base: Base) -> list[Range]:
    """Every numeric path some case overrides, from its lowest to its highest value across
    the cases and the base (a portfolio's as ``contracts.<name>.<path>``)."""
    return [
        Range(path, min(seen), max(seen), "cases")
        for path, seen in case_paths(base).items()
        if min(seen) < max(seen)
    ]


def vary_range(base: Base, path: str, by: float) -> Range:
    """The base value of ``path`` moved down and up by ``by``, within the format's bounds."""
    current = base_value(base, path)
    if current is None:
        raise UsageError(
            f"--vary {path}: not a number in the scenario (or not the same in every contract); "
            f"give --range {path}=LO:HI"
        )
    lo, hi = sorted((current * (1 - by), current * (1 + by)))
    bound_lo, bound_hi = bounds(path)
    lo = max(lo, bound_lo) if bound_lo is not None else lo
    hi = min(hi, bound_hi) if bound_hi is not None else hi
    return Range(path, lo, hi, f"--vary by {by:.0%}")


KEY_INPUTS = tuple(
    re.compile(p)
    for p in (
        r"referrals\.(scale|workers|per_worker_per_year)",
        r"stages\.[^.]+\.rate(\.[^.]+)?",
        r"outcomes\.[^.]+\.tariff(\.[^.]+)?",
        r"provider\.block\.annual",
        r"provider\.outcome_payments\.share_of_tariff",
        r"provider\.costs\.(staff_fte|cost_per_fte)",
        r"spv\.management_fee_annual",
        r"investor\.loan_rate",
    )
)
"""What a tornado moves by ``--by`` when no range is given, besides the cases' spread:
referral volume, every stage's rate, every tariff, the provider's block, share of
tariff and staffing, the SPV's fee and the loan rate (those set to a number other than
0; a portfolio: its own fee and loan rate)."""


def key_inputs(base: Base) -> list[str]:
    """The :data:`KEY_INPUTS` paths the base sets to a number other than 0."""
    data = inputs_as_written(base.base if isinstance(base, Resolved) else base.spec)
    return [
        path
        for path, value in _leaves(data)
        if isinstance(value, int | float)
        and not isinstance(value, bool)
        and value != 0
        and any(p.fullmatch(path) for p in KEY_INPUTS)
    ]


def _leaves(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted path, value) of every leaf of a mapping."""
    if not isinstance(data, dict):
        return [(prefix, data)]
    return [
        leaf
        for key, value in data.items()
        if key not in ("cases", "amendments", "contracts")
        for leaf in _leaves(value, f"{prefix}.{key}" if prefix else str(key))
    ]


def choose_ranges(
    base: Base,
    file: str,
    ranges: Sequence[Range],
    vary: Sequence[str],
    by: float,
    key: bool = False,
) -> list[Range]:
    """``ranges`` and ``vary`` (replacing the cases' range of the same path); with
    neither, the ranges of the scenario's own cases, and with ``key`` every other
    :func:`key_inputs` path moved by ``by``."""
    chosen: dict[str, Range] = {}
    if not ranges and not vary:
        chosen = {r.path: r for r in case_ranges(base)}
        if key:
            extra = [p for p in key_inputs(base) if p not in chosen]
            chosen |= {
                p: replace(vary_range(base, p, by), source=f"±{by:.0%} (key input)") for p in extra
            }
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
class Setup:
    """A study's subject, its cases validated, the ranges chosen and the outputs' facts."""

    subject: Subject
    base: Base
    ranges: list[Range]
    info: Info

    @cached_property
    def _amendments(self) -> dict[str, tuple[str, bool]]:
        return {r.path: amendment_note(self.subject, self.base, r.path) for r in self.ranges}

    def notes(self) -> dict[str, str]:
        """Per ranged path, the amendments that change it and what is done with them."""
        return {path: note for path, (note, _) in self._amendments.items()}

    def held(self) -> tuple[str, ...]:
        """The ranged paths that an amendment sets anew from some month (the range holds
        only until then)."""
        return tuple(path for path, (_, held) in self._amendments.items() if held)


def set_up(
    path: Source,
    ranges: Sequence[Range],
    vary: Sequence[str],
    by: float,
    sets: Sequence[tuple[str, Any]],
    cases: Sequence[str] | None,
    with_amendments: bool,
    key: bool = False,
) -> Setup:
    """Read and validate the file, choose the ranges (``key``: with the key inputs, see
    :func:`choose_ranges`) and run the base cases once."""
    subject = load_subject(path, sets=sets, cases=cases, with_amendments=with_amendments)
    base = subject.base()
    chosen = choose_ranges(base, str(path), ranges, vary, by, key)
    return Setup(subject, base, chosen, describe(subject, base))


@dataclass(frozen=True)
class Tornado:
    """Each range's low and high runs, every case, in one batch."""

    ranges: tuple[Range, ...]
    info: Info
    values: dict[str, FloatArray]
    """Per metric, rows: the cases as they are, then per range its low then its high."""
    notes: dict[str, str]
    """Per ranged path, the amendments that change it and what was done with them."""
    with_amendments: bool = False
    held: tuple[str, ...] = ()
    """The ranged paths an amendment sets anew from some month."""

    @property
    def cases(self) -> tuple[str, ...]:
        return self.info.cases

    @property
    def metrics(self) -> list[str]:
        return list(self.info.metrics)

    def metric(self, name: str) -> FloatArray:
        """``(1 + 2 x ranges, cases)`` the metric of every row."""
        return self.values[name].reshape(1 + 2 * len(self.ranges), len(self.cases))

    def manifest(self) -> dict[str, Any]:
        return self.info.manifest | {
            "ranges": {r.path: [r.lo, r.hi, r.source] for r in self.ranges},
            "with_amendments": self.with_amendments,
            "amendments": {p: n for p, n in self.notes.items() if n},
        }


def tornado(
    path: Source,
    *,
    ranges: Sequence[Range] = (),
    vary: Sequence[str] = (),
    by: float = 0.2,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
    with_amendments: bool = False,
) -> Tornado:
    """Move each input to its low and high value (the case's own for the rest) and run
    every case of every version as one batch. ``ranges`` and ``vary`` replace the cases'
    ranges of the same path; with neither, the cases' ranges and every key input moved by
    ``by`` (:data:`KEY_INPUTS`). A scenario file or a portfolio; ``with_amendments`` moves
    an amendment's value with the input it sets."""
    study = set_up(path, ranges, vary, by, sets, cases, with_amendments, key=True)
    chosen, info = study.ranges, study.info
    rows = (1 + 2 * len(chosen)) * len(info.cases)
    if rows > info.max_rows:
        raise UsageError(
            f"{len(chosen)} inputs x 2 + 1 versions x {len(info.cases)} cases = {rows:,} rows; "
            f"at most {info.max_rows:,}: use fewer inputs or --case"
        )
    check_rows(study.subject, study.base, rows)
    points: list[Point] = [[]]
    for r in chosen:
        points += [[(r.path, r.lo)], [(r.path, r.hi)]]
    values = evaluate(study.subject, points)
    return Tornado(tuple(chosen), info, values, study.notes(), with_amendments, study.held())


def check_metrics(chosen: Sequence[str], known: Sequence[str]) -> None:
    """Refuse a metric that is not a summary column, naming the closest one."""
    for name in chosen:
        if name not in known:
            hint = next(iter(difflib.get_close_matches(name, known, n=1)), None)
            also = f"; did you mean {hint}?" if hint else ""
            raise UsageError(f"no metric named {name}{also}")
