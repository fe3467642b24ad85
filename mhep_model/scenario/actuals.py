"""Actuals files (spec section 13): a contract's recorded monthly counts.

```
month,referrals,engagement,job_start.under_16,job_start.over_16,sustain_13w,income
2022-01,4,0,0,0,0,0
```

The file is read once (``read_actuals``: the CSV's own rules: header, months, cells) and
checked against each case's scenario (``recorded``: columns that name its stages and bands,
rows from its ``contract.start`` to at most its horizon). Every error names the CSV file,
its line and the column.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mhep_model.engine.inputs import FloatArray
from mhep_model.errors import ScenarioError, excerpt
from mhep_model.scenario.limits import MAX_HORIZON
from mhep_model.scenario.model import Scenario, bands_of

MAX_ACTUALS_BYTES = 1_000_000
"""Largest actuals file read [bytes] (600 months of a few dozen columns is far less)."""
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class ActualsTable:
    """An actuals CSV as read: its months and, per column, one number per month."""

    file: str
    months: tuple[str, ...]
    """``YYYY-MM`` of each row, consecutive."""
    columns: dict[str, FloatArray]
    """Column name -> ``(k,)`` values."""
    header_line: int = 1

    @property
    def k(self) -> int:
        """The last recorded month (rows 1..k)."""
        return len(self.months)

    def line_of_row(self, index: int) -> int:
        """The file line of data row ``index`` (0-based)."""
        return self.header_line + 1 + index


def _error(message: str, file: str, line: int, column: str | None = None) -> ScenarioError:
    return ScenarioError(message, file=file, line=line, path=(column,) if column else ())


def csv_text(path: Path, name: str, kind: str, max_bytes: int) -> str:
    """A small CSV file's text, refusing what is not one: not a regular file, over
    ``max_bytes``, binary (NUL bytes) or not UTF-8. ``kind`` names it in messages ("an
    actuals")."""
    try:
        if not path.is_file():
            raise _error(f"is not a file ({kind} file is CSV)", name, 1)
        if path.stat().st_size > max_bytes:
            raise _error(f"is larger than {max_bytes:,} bytes", name, 1)
        raw = path.read_bytes()
    except OSError as e:
        raise _error(f"cannot read file: {e.strerror}", name, 1) from None
    if b"\x00" in raw:
        raise _error("is not a CSV text file (it holds NUL bytes)", name, 1)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise _error("is not UTF-8 text", name, line) from None


def read_actuals(path: Path, shown: str | None = None) -> ActualsTable:
    """Read and check an actuals CSV on its own; raises :class:`ScenarioError`."""
    name = shown or str(path)
    text = csv_text(path, name, "an actuals", MAX_ACTUALS_BYTES)
    rows = list(csv.reader(io.StringIO(text)))
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if not rows:
        raise _error("is empty: the first line names the columns (month, referrals, ...)", name, 1)
    header = [cell.strip() for cell in rows[0]]
    if not header or header[0] != "month":
        raise _error(
            f"the first column must be 'month', got "
            f"{repr(excerpt(header[0])) if header else 'nothing'}",
            name,
            1,
        )
    if len(set(header)) != len(header):
        dup = next(c for c in header if header.count(c) > 1)
        raise _error(f"the column '{excerpt(dup)}' appears twice", name, 1, dup)
    if len(rows) == 1:
        raise _error("has a header but no months: give at least one row", name, 1)
    if len(rows) - 1 > MAX_HORIZON:
        raise _error(f"has {len(rows) - 1} rows; a horizon has at most {MAX_HORIZON}", name, 1)
    months: list[str] = []
    values: dict[str, list[float]] = {c: [] for c in header[1:]}
    for i, row in enumerate(rows[1:]):
        line = i + 2
        if len(row) != len(header):
            raise _error(f"has {len(row)} cells; the header has {len(header)} columns", name, line)
        month = row[0].strip()
        m = MONTH.match(month)
        if m is None:
            shown = excerpt(month)
            raise _error(f"must be a month written YYYY-MM, got {shown!r}", name, line, "month")
        if months:
            expected = _next_month(months[-1])
            if month in months:
                raise _error(f"month {month} is given twice", name, line, "month")
            if month != expected:
                raise _error(
                    f"months must follow one another: expected {expected} after "
                    f"{months[-1]}, got {month}",
                    name,
                    line,
                    "month",
                )
        months.append(month)
        for column, cell in zip(header[1:], row[1:], strict=True):
            values[column].append(_cell(cell, column, name, line))
    return ActualsTable(name, tuple(months), {c: np.array(v) for c, v in values.items()})


def _next_month(month: str) -> str:
    year, mon = (int(x) for x in month.split("-"))
    total = year * 12 + mon  # the next month, 0-based
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def _cell(cell: str, column: str, file: str, line: int) -> float:
    text = cell.strip()
    try:
        value = float(text)
    except ValueError:
        raise _error(f"must be a number, got {excerpt(text)!r}", file, line, column) from None
    if not math.isfinite(value):
        raise _error(f"must be a finite number, got {excerpt(text)!r}", file, line, column)
    if value < 0:
        raise _error(f"must be 0 or more, got {text}", file, line, column)
    if column != "income" and not value.is_integer():
        raise _error(f"must be a whole number of people, got {text}", file, line, column)
    if value > 1e9:
        raise _error(f"must be 1,000,000,000 or less, got {text}", file, line, column)
    return value


@dataclass(frozen=True)
class Recorded:
    """One case's recorded series, in the engine's shapes (months 1..k)."""

    k: int
    referrals: FloatArray | None
    """``(k,)`` recorded referrals, or None."""
    stages: dict[str, FloatArray]
    """Stage name -> ``(B, k)`` recorded flows per band (a total divided by the split)."""
    income: FloatArray | None
    """``(k,)`` recorded income (compared, never used)."""

    @property
    def measures(self) -> list[str]:
        """The recorded series in variance.csv order (referrals, stages, income)."""
        out = ["referrals"] if self.referrals is not None else []
        out += list(self.stages)
        return out + (["income"] if self.income is not None else [])


def recorded(table: ActualsTable, sc: Scenario, case: str | None) -> Recorded:
    """Check ``table`` against one case's scenario and shape its series (spec 11, 13)."""
    where = f" (case {case})" if case else ""
    file = table.file
    start = table.months[0]
    if start != sc.contract.start:
        raise _error(
            f"the first month must be contract.start {sc.contract.start}{where}, got {start}",
            file,
            table.line_of_row(0),
            "month",
        )
    if table.k > sc.contract.horizon:
        raise _error(
            f"month {table.months[sc.contract.horizon]} is past the horizon of "
            f"{sc.contract.horizon} months{where}",
            file,
            table.line_of_row(sc.contract.horizon),
            "month",
        )
    bands = bands_of(sc)
    known = ["referrals", "income", *sc.stages]
    known += [f"{s}.{b}" for s, bs in bands.items() for b in bs]
    by_stage: dict[str, dict[str, FloatArray]] = {}
    totals: dict[str, FloatArray] = {}
    for column, values in table.columns.items():
        if column in ("referrals", "income"):
            continue
        stage, dot, band = column.partition(".")
        if column not in known:
            close = difflib.get_close_matches(column, known, n=1)
            hint = f": did you mean '{close[0]}'?" if close else f" (columns: {', '.join(known)})"
            shown = excerpt(column)
            raise _error(f"unknown column '{shown}'{hint}", file, table.header_line, column)
        if dot:
            by_stage.setdefault(stage, {})[band] = values
        else:
            totals[stage] = values
    stages: dict[str, FloatArray] = {}
    for name in sc.stages:
        b = bands[name]
        if name in totals and name in by_stage:
            raise _error(
                f"stage '{name}' is given both as a total and by bands: give one",
                file,
                table.header_line,
                name,
            )
        if name in by_stage:
            missing = [x for x in b if x not in by_stage[name]]
            if missing:
                raise _error(
                    f"the bands of '{name}' come together: missing "
                    + ", ".join(f"{name}.{x}" for x in missing),
                    file,
                    table.header_line,
                    f"{name}.{next(iter(by_stage[name]))}",
                )
            stages[name] = np.stack([by_stage[name][x] for x in b])
        elif name in totals:
            stages[name] = np.outer(_split_shares(sc, name, b), totals[name])
    return Recorded(
        k=table.k,
        referrals=table.columns.get("referrals"),
        stages=stages,
        income=table.columns.get("income"),
    )


def _split_shares(sc: Scenario, stage: str, bands: tuple[str, ...]) -> FloatArray:
    """``(B,)`` shares dividing a banded stage's total: the splitting stage's (spec 11)."""
    if not bands:
        return np.ones(1)
    name = stage
    while sc.stages[name].split is None:
        name = sc.stages[name].from_
    split = sc.stages[name].split or {}
    return np.array([split[b] for b in bands])
