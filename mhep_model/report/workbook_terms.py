"""Inputs in force month by month on a Calc sheet (spec section 8): a case's Inputs cell,
changed from a month on by the Amendments sheet's rows, held both as one Excel expression
of the month and as numbers, so that each live column is proved equal to the engine's
inputs before it is written (a column that cannot be is written as an import)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

NO_LIMIT = 1e300
"""A cap that is not there, in a formula (Excel has no infinity)."""


@dataclass(frozen=True)
class Cell:
    """An input: its absolute address (or a literal) and its value as run."""

    ref: str
    value: float


@dataclass(frozen=True)
class Amended:
    """One leaf of an amendment row on the Amendments sheet."""

    group: int
    """Which (amendment, path) it belongs to: a set mapping is replaced whole."""
    path: str
    """The amended path as written (a mapping's, for its leaves)."""
    leaf: str
    how: str
    """``set`` or ``scale``."""
    month: Cell
    value: Cell | None
    """None for text (not used by any formula)."""


@dataclass(frozen=True)
class Term:
    """An input in force in month m: the base cell, then each amendment in order."""

    base: Cell
    steps: tuple[tuple[str, Cell, Cell], ...] = ()
    """(``set`` or ``scale``, month cell, value cell)."""

    @property
    def constant(self) -> bool:
        return not self.steps

    def excel(self, month: str) -> str:
        """The value in force in the month held in cell ``month``."""
        expr = self.base.ref
        for how, at, value in self.steps:
            if how == "set":
                expr = f"IF({month}>={at.ref},{value.ref},{expr})"
            else:
                expr = f"{expr}*IF({month}>={at.ref},{value.ref},1)"
        return expr

    def values(self, months: np.ndarray) -> np.ndarray:
        """``(h,)`` the value in force in each of ``months`` [the input's unit]."""
        out = np.full(months.shape, self.base.value, dtype=float)
        for how, at, value in self.steps:
            on = months >= at.value
            out = (
                np.where(on, value.value, out)
                if how == "set"
                else out * np.where(on, value.value, 1.0)
            )
        return out

    def matches(self, engine: np.ndarray) -> bool:
        """Whether this term gives the engine's monthly values (``(h,)``; inf = no limit)."""
        mine = self.values(np.arange(1, len(engine) + 1))
        theirs = np.where(np.isinf(engine), NO_LIMIT, engine)
        return bool(np.allclose(mine, theirs, rtol=1e-12, atol=1e-9))


class Terms:
    """A case's inputs as terms: ``cells`` (path, case) -> Inputs cell, ``amended`` the
    Amendments sheet's rows in the order they apply."""

    def __init__(
        self,
        cells: Mapping[tuple[str, str], Cell],
        amended: Sequence[Amended],
        case: str,
        prefix: str = "",
    ) -> None:
        self.cells, self.amended, self.case, self.prefix = cells, amended, case, prefix

    def has(self, start: str) -> bool:
        """Whether any of the case's inputs has a path starting with ``start``."""
        start = self.prefix + start
        return any(path.startswith(start) for path, case in self.cells if case == self.case)

    def cell(self, path: str, default: float | None = None) -> Cell | None:
        """The case's Inputs cell of ``path``, else a literal ``default`` (None: none)."""
        found = self.cells.get((self.prefix + path, self.case))
        if found is None and default is not None:
            return Cell(_literal(default), default)
        return found

    def ref(self, path: str, default: float | str) -> str:
        """Address of a scalar input that amendments cannot change, else ``default`` (a
        number, or an Excel literal such as ``'"end"'``)."""
        found = self.cells.get((self.prefix + path, self.case))
        if found is not None:
            return found.ref
        return default if isinstance(default, str) else _literal(default)

    def term(self, path: str, default: float | None = None) -> Term | None:
        """``path`` in force month by month; None when it is absent and never amended."""
        base = self.cell(path, default)
        path = self.prefix + path
        steps: list[tuple[str, Cell, Cell]] = []
        done: set[int] = set()
        for a in self.amended:
            if a.group in done or a.value is None:
                continue
            if a.how == "scale" and (path == a.leaf or path.startswith(a.leaf + ".")):
                steps.append(("scale", a.month, a.value))
            elif a.how == "set" and (path == a.path or path.startswith(a.path + ".")):
                done.add(a.group)  # a set mapping replaces all of it: an absent key is 0
                mine = [b for b in self.amended if b.group == a.group and b.leaf == path]
                value = mine[0].value if mine and mine[0].value is not None else Cell("0", 0.0)
                steps.append(("set", a.month, value))
        if base is None and not steps:
            return None
        return Term(base or Cell(_literal(NO_LIMIT), NO_LIMIT), tuple(steps))


def _literal(value: float) -> str:
    return repr(float(value)) if value != int(value) or abs(value) >= 1e15 else str(int(value))
