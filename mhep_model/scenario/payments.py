"""Recorded payments files: what the payers paid a contract (or an SPV), for a back-test.

```
# INDIGO 0188 Enfield: payments made, 620,689 (indigo_mhep.md Table A)
quarter,income
total,620689
2021-Q3,41250
```

The first line that is not a comment (``#``) names the columns: ``quarter`` (or ``month``)
and ``income`` [GBP received in that period], and optionally ``note`` (free text, not
read). A row is a calendar quarter ``YYYY-Qn`` (``month`` files: ``YYYY-MM``, summed into
their quarters; a month not given counts as nothing paid), or ``total``: what was paid
over the whole contract, whatever the quarters. Only the quarters given are known; the
rest are compared with nothing. Every error names the file, the line and the column. An
actuals file's ``income`` column (spec 13) gives recorded payments too (:func:`from_actuals`).
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

from mhep_model.errors import ScenarioError
from mhep_model.scenario.actuals import ActualsTable, csv_text
from mhep_model.scenario.limits import MAX_HORIZON

MAX_PAYMENTS_BYTES = 1_000_000
"""Largest payments file read [bytes]."""
QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
TOTAL = "total"


@dataclass(frozen=True)
class RecordedPayments:
    """A payments file as read."""

    file: str
    quarters: dict[str, float]
    """``YYYY-Qn`` to the income received in that calendar quarter [GBP], in date order."""
    total: float | None
    """What was paid over the whole contract [GBP], when the file gives it."""


def quarter_of(month: str) -> str:
    """The calendar quarter ``YYYY-Qn`` of a month ``YYYY-MM``."""
    return f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}"


def _error(message: str, file: str, line: int, column: str | None = None) -> ScenarioError:
    return ScenarioError(message, file=file, line=line, path=(column,) if column else ())


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """The CSV's rows with their file lines, comments and blank lines left out."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        out.append((n, next(csv.reader(io.StringIO(line)))))
    return out


def _header(rows: list[tuple[int, list[str]]], name: str) -> tuple[str, list[str]]:
    if not rows:
        raise _error("is empty: the first line names the columns (quarter,income)", name, 1)
    line, cells = rows[0]
    header = [c.strip() for c in cells]
    period = header[0] if header else ""
    if period not in ("quarter", "month"):
        raise _error(f"the first column must be 'quarter' or 'month', got {period!r}", name, line)
    extra = [c for c in header[1:] if c not in ("income", "note")]
    if extra:
        raise _error(
            f"unknown column {extra[0][:40]!r}: the columns are {period}, income and an "
            "optional note",
            name,
            line,
            extra[0][:40],
        )
    if "income" not in header or len(set(header)) != len(header):
        raise _error(f"the columns must be {period}, income (and note), each once", name, line)
    if len(rows) == 1:
        raise _error("has a header but no rows: give a quarter or the total", name, line)
    if len(rows) - 1 > MAX_HORIZON + 1:
        raise _error(f"has {len(rows) - 1} rows; at most {MAX_HORIZON + 1}", name, line)
    return period, header


def _income(cell: str, name: str, line: int) -> float:
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise _error(
            f"income must be a number >= 0, got {cell.strip()[:40]!r}", name, line, "income"
        )
    return value


def read_payments(path: Path, shown: str | None = None) -> RecordedPayments:
    """Read and check a payments CSV; raises :class:`ScenarioError`."""
    name = shown or str(path)
    rows = _rows(csv_text(path, name, "a payments", MAX_PAYMENTS_BYTES))
    period, header = _header(rows, name)
    pattern = QUARTER if period == "quarter" else MONTH
    at = header.index("income")
    seen: set[str] = set()
    quarters: dict[str, float] = {}
    total: float | None = None
    for line, cells in rows[1:]:
        if len(cells) != len(header):
            raise _error(
                f"has {len(cells)} cells; the header has {len(header)} columns", name, line
            )
        key = cells[0].strip()
        if key in seen:
            raise _error(f"{key} is given twice", name, line, period)
        seen.add(key)
        value = _income(cells[at], name, line)
        if key == TOTAL:
            total = value
            continue
        if pattern.match(key) is None:
            shape = "YYYY-Qn (2021-Q3)" if period == "quarter" else "YYYY-MM"
            raise _error(f"must be {shape} or 'total', got {key[:40]!r}", name, line, period)
        q = key if period == "quarter" else quarter_of(key)
        quarters[q] = quarters.get(q, 0.0) + value
    ordered = dict(sorted(quarters.items()))
    return RecordedPayments(file=name, quarters=ordered, total=total)


def from_actuals(table: ActualsTable) -> RecordedPayments | None:
    """The ``income`` column of an actuals file (spec 13) as recorded payments: the calendar
    quarters whose every month up to the last recorded one is in the file (a quarter the
    records end inside is not known); None when the file has no ``income``."""
    income = table.columns.get("income")
    if income is None:
        return None
    last = table.months[-1]
    quarters: dict[str, float] = {}
    for month, value in zip(table.months, income, strict=True):
        quarters[quarter_of(month)] = quarters.get(quarter_of(month), 0.0) + float(value)
    if int(last[5:7]) % 3 != 0:  # the records end inside this quarter
        quarters.pop(quarter_of(last), None)
    return RecordedPayments(file=table.file, quarters=dict(sorted(quarters.items())), total=None)
