"""Columns of a Calc sheet written as formula templates with the numbers they give.

A template names other columns of the same sheet in braces: ``{income}`` is this month's
cell, ``{cash@-1|$E$3}`` last month's (``$E$3`` in the first month; 0 when no fallback is
given), ``{drawdown:}`` the range from the first month to this one, ``{MONTH}`` the month
number. Each column also carries its values (the engine's, or the same arithmetic in
numpy), written as the formula's cached result and compared with the engine by the Checks
sheet."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mhep_model.report.workbook_layout import FIRST_ROW
from mhep_model.report.workbook_terms import Term

_REF = re.compile(r"\{([A-Za-z_][A-Za-z_0-9]*)(?:(@-1)(?:\|([^}]*))?|(:))?\}")

Formula = Callable[[int, dict[str, str]], str]


def render(template: str) -> Formula:
    """A template as a formula of the 1-based Excel row and the sheet's column letters."""

    def formula(r: int, letters: dict[str, str]) -> str:
        def one(m: re.Match[str]) -> str:
            key, back, fallback, upto = m.groups()
            col = "A" if key == "MONTH" else letters[key]
            if back:
                return (fallback or "0") if r == FIRST_ROW + 1 else f"{col}{r - 1}"
            if upto:
                return f"${col}${FIRST_ROW + 1}:{col}{r}"
            return f"{col}{r}"

        return "=" + _REF.sub(one, template)

    return formula


@dataclass(frozen=True)
class Column:
    """One column of a Calc sheet: an import (``formula`` None) or a live formula.

    ``values`` are its monthly figures, written as the import or cached as the formula's
    result; ``formula(row, letters)`` gives the formula of a 1-based Excel row.
    """

    key: str
    header: str
    kind: str
    values: np.ndarray
    formula: Formula | None = None
    flow: bool = True
    """Summed in the total row (balances and helpers are not)."""


@dataclass
class Sheet:
    """The columns of a Calc sheet as they are added, with their values by key."""

    months: int
    cols: list[Column] = field(default_factory=list)
    v: dict[str, np.ndarray] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    """Scalar input cells the formulas read (terms that never change), by key."""
    limits: dict[str, float] = field(default_factory=dict)
    """The largest value of each term, by key (for the Checks sheet's limits)."""

    @property
    def m(self) -> np.ndarray:
        """``(h,)`` month numbers 1..h."""
        return np.arange(1, self.months + 1, dtype=float)

    def add(
        self,
        key: str,
        header: str,
        kind: str,
        values: np.ndarray,
        template: str | Formula | None = None,
        flow: bool = True,
    ) -> np.ndarray:
        """Add a column (an import when ``template`` is None) and return its values."""
        values = np.asarray(values, dtype=float)
        formula = template if callable(template) else render(template) if template else None
        self.cols.append(Column(key, header, kind, values, formula, flow))
        self.v[key] = values
        return values

    def term(
        self, key: str, header: str, kind: str, term: Term | None, engine: np.ndarray
    ) -> tuple[str, np.ndarray]:
        """An input in force month by month, for use in templates: the input cell itself
        when it never changes, else a column "... in force" (a formula over the Amendments
        sheet, or the engine's values imported when no formula gives them)."""
        self.limits[key] = float(np.max(engine)) if len(engine) else 0.0
        if term is not None and term.constant and term.matches(engine):
            self.refs[key] = term.base.ref
            return term.base.ref, term.values(self.m)
        if term is not None and term.matches(engine):
            values = self.add(
                key, f"{header} in force", kind, term.values(self.m), term.excel("{MONTH}"), False
            )
        else:
            values = self.add(key, f"{header} in force (import)", kind, engine, None, False)
        return "{" + key + "}", values


def prev(values: np.ndarray, first: float = 0.0) -> np.ndarray:
    """Last month's values (``first`` in month 1)."""
    return np.concatenate([[first], values[:-1]])


def sum_by(month_of: np.ndarray, values: np.ndarray, months: int) -> np.ndarray:
    """``(months,)``: ``values`` added up by the month each is paid in (1-based; later months
    dropped), as SUMIF does."""
    out = np.zeros(months)
    keep = (month_of >= 1) & (month_of <= months)
    np.add.at(out, month_of[keep].astype(int) - 1, values[keep])
    return out


def first_below_zero(balance: np.ndarray) -> np.ndarray:
    """``(h,)`` the first month the balance was below zero, from then on (0 before)."""
    below = np.flatnonzero(balance < 0)
    out = np.zeros(len(balance))
    if len(below):
        out[below[0] :] = below[0] + 1
    return out
