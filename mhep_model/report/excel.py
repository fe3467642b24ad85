"""One Excel workbook of a run, beside the CSVs: ``results.xlsx``.

Numbers are stored as numbers with currency, percentage and count formats; headers are
frozen, columns sized to their contents, tables filterable. Written with openpyxl to a
temporary file, then renamed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from mhep_model.metrics import unit_of
from mhep_model.report.workbook_layout import number_format
from mhep_model.report.writers import RESIDUE, atomic_path
from mhep_model.scenario.model import inputs_as_written
from mhep_model.scenario.portfolio import Portfolio

HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")
TEXT_COLUMNS = {"case", "variant", "date", "metric", "statistic", "first", "last", "path", "note"}
INT_COLUMNS = {"month", "year", "path", "seed"}


@dataclass
class Sheet:
    """A sheet from a frame: the kind of each column decides its number format."""

    name: str
    frame: pd.DataFrame
    kinds: dict[str, str] = field(default_factory=dict)
    filterable: bool = True
    row_kinds: tuple[str, tuple[str, ...], tuple[str, ...]] | None = None
    """(metric column, value columns, stage names): a tidy frame whose value columns take
    the number format of each row's metric (a month as a month, a multiple as x)."""


def column_kinds(columns: Sequence[str], stage_names: Sequence[str]) -> dict[str, str]:
    """Kinds for the columns of monthly, summary, yearly and sweep frames."""
    kinds = {}
    for col in columns:
        base = col.split("[")[0]
        if col in TEXT_COLUMNS:
            kinds[col] = "text"
        elif col in INT_COLUMNS:
            kinds[col] = "int"
        elif base in stage_names or col == "referrals":
            kinds[col] = "people"
        elif "." in col:  # a swept input's dotted path
            kinds[col] = "number"
        else:
            kinds[col] = unit_of(col, stage_names)
    return kinds


def _cell_value(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and abs(value) < RESIDUE:
        return 0.0  # a floating-point residue, never "-£0"
    if isinstance(value, dict | list):
        return str(value)
    return value


def append_row(ws: Worksheet, values: Sequence[Any]) -> int:
    """Append a row; text is always stored as text, never as a formula (a name such as
    ``=HYPERLINK(...)`` is data). Returns the row number."""
    ws.append(list(values))
    r = ws.max_row
    for j, value in enumerate(values, start=1):
        if isinstance(value, str):
            cell = ws.cell(row=r, column=j)
            cell.data_type = "s"
            if value[:1] in ("=", "+", "-", "@"):
                cell.quotePrefix = True  # Excel shows it as typed, never evaluates it
    return r


def _style_header(ws: Worksheet, ncols: int) -> None:
    for col in range(1, ncols + 1):
        cell = ws.cell(row=1, column=col)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    ws.freeze_panes = "B2"


def _size_columns(ws: Worksheet, widths: list[int]) -> None:
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)


_DATE_COLUMNS = {"date", "first", "last", "start", "first_payment", "last_payment", "month_date"}
"""Columns holding calendar months as ``YYYY-MM``: written as Excel dates."""


def frame_to_sheet(ws: Worksheet, sheet: Sheet, currency: str) -> None:
    """Write a frame with a frozen, filterable header and formatted numbers."""
    frame = sheet.frame
    columns = [str(c) for c in frame.columns]
    append_row(ws, columns)
    formats = [number_format(sheet.kinds.get(c, "number"), currency) for c in columns]
    widths = [len(c) for c in columns]
    by_row = sheet.row_kinds
    dates = {j for j, c in enumerate(columns) if c in _DATE_COLUMNS}
    for row in frame.itertuples(index=False, name=None):
        values = [_cell_value(v) for v in row]
        for j in dates:  # "2016-04" as the 1st of the month, an Excel date
            found = re.fullmatch(r"(\d{4})-(\d{2})", str(values[j]))
            if found:
                values[j] = dt.datetime(int(found[1]), int(found[2]), 1)
        r = append_row(ws, values)
        row_format = None
        if by_row is not None:
            metric = str(row[columns.index(by_row[0])])
            kind = unit_of(metric, by_row[2])
            statistic = row[columns.index("statistic")] if "statistic" in columns else None
            if statistic in ("probability", "standard_error"):
                kind = "percent"
            elif statistic in ("count", "most_likely"):
                kind = "int"
            elif "referral_scale" in metric:  # a multiple of the case's referrals
                kind = "multiple"
            elif "referrals_per_month" in metric:
                kind = "people"
            row_format = number_format(kind, currency)
        for j, value in enumerate(values):
            if isinstance(value, dt.datetime):
                ws.cell(row=r, column=j + 1).number_format = "mmm yyyy"
                shown = 10
            elif isinstance(value, int | float) and not isinstance(value, bool):
                in_row = by_row is not None and columns[j] in by_row[1]
                fmt = row_format if in_row and row_format is not None else formats[j]
                ws.cell(row=r, column=j + 1).number_format = fmt
                shown = len(f"{value:,.0f}") + 2
            else:
                shown = len(str(value)) if value is not None else 0
            widths[j] = max(widths[j], shown)
    _style_header(ws, len(columns))
    _size_columns(ws, widths)
    if sheet.filterable and len(frame):
        ws.auto_filter.ref = ws.dimensions


def kpi_sheet(
    ws: Worksheet,
    summary: pd.DataFrame,
    measures: Sequence[tuple[str, str, str]],
    currency: str,
    label_columns: Sequence[str] = ("case",),
) -> None:
    """KPIs down, cases (or variant/case) across, each row in its own number format."""
    heads = [" / ".join(str(row[c]) for c in label_columns) for _, row in summary.iterrows()]
    append_row(ws, ["Measure", *heads])
    widths = [len("Measure")] + [len(h) for h in heads]
    for label, column, kind in measures:
        if column not in summary.columns:
            continue
        values = [_cell_value(v) for v in summary[column].tolist()]
        r = append_row(ws, [label, *values])
        widths[0] = max(widths[0], len(label))
        for j in range(2, len(values) + 2):
            ws.cell(row=r, column=j).number_format = number_format(kind, currency)
            widths[j - 1] = max(widths[j - 1], 12)
    _style_header(ws, len(heads) + 1)
    _size_columns(ws, widths)


def assumption_rows(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """A scenario's inputs as (dotted path, value) rows; lists (lags, windows) whole."""
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        if key in ("cases", "amendments"):
            continue
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            rows += assumption_rows(value, path)
        elif value is not None:
            rows.append((path, value))
    return rows


def assumptions_frame(scenarios: Sequence[tuple[str, Any]]) -> pd.DataFrame:
    """Inputs as resolved: a row per dotted path, a column per case (before amendments)."""
    table: dict[str, dict[str, Any]] = {}
    for label, sc in scenarios:
        for path, value in assumption_rows(inputs_as_written(sc)):
            table.setdefault(path, {})[label] = value if not isinstance(value, list) else str(value)
    frame = pd.DataFrame.from_dict(table, orient="index")
    frame.index.name = "path"
    return frame.reset_index()


def write_workbook(
    path: Path,
    sheets: Sequence[Sheet],
    currency: str,
    kpis: tuple[pd.DataFrame, Sequence[tuple[str, str, str]], Sequence[str]] | None = None,
    about: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``results.xlsx``: an About sheet (title, source, seed, tool version, date:
    ``about`` is the study's ``run.json``), an optional KPI sheet, then one sheet per frame;
    every sheet prints landscape, one page wide, its header row on each page."""
    wb = Workbook()
    first: Worksheet = wb.active  # type: ignore[assignment]
    first.title = "About"
    about_sheet(first, dict(about or {}), [s.name[:31] for s in sheets])
    if kpis is not None:
        kpi_sheet(wb.create_sheet("Summary"), kpis[0], kpis[1], currency, kpis[2])
    for sheet in sheets:
        frame_to_sheet(wb.create_sheet(sheet.name[:31]), sheet, currency)
    for ws in wb.worksheets:
        _print_setup(ws, ws.title != "About")
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path


_ABOUT = (
    ("name", "Title"),
    ("command", "Study"),
    ("scenario", "Scenario file"),
    ("portfolio", "Portfolio file"),
    ("batch", "Batch file"),
    ("scenario_sha256", "Scenario SHA-256"),
    ("cases", "Cases"),
    ("variants", "Variants"),
    ("paths", "Paths"),
    ("seed", "Seed"),
    ("samples", "Samples"),
    ("method", "Method"),
    ("set", "Overrides (--set)"),
    ("tool_version", "mhep-model version"),
)


def about_sheet(ws: Worksheet, manifest: dict[str, Any], contents: Sequence[str]) -> None:
    """What the workbook is: its title, where it came from (file, seed, tool version),
    when it was written (an Excel date) and its sheets."""
    title = manifest.get("name") or manifest.get("scenario") or manifest.get("portfolio")
    ws.append([f"{manifest.get('command', 'mhep-model')}: {title or 'results'}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    for key, label in _ABOUT:
        if key in manifest and key != "name":
            value = manifest[key]
            if isinstance(value, dict):
                value = "; ".join(f"{k}={v}" for k, v in value.items()) or "none"
            elif isinstance(value, list | tuple):
                value = ", ".join(str(v) for v in value)
            elif value is None:
                value = "none (a deterministic run)" if key == "seed" else "none"
            ws.append([label, value])
    ws.append(["Written", dt.datetime.now().replace(microsecond=0)])
    ws.cell(row=ws.max_row, column=2).number_format = "d mmm yyyy hh:mm"
    ws.append(["Sheets", ", ".join(contents)])
    for row in ws.iter_rows(min_row=3, max_col=1):
        row[0].font = Font(bold=True)
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 90


def _print_setup(ws: Worksheet, landscape: bool) -> None:
    """A4, one page wide (as many tall as it takes), the header row on every page."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    if landscape:
        ws.print_title_rows = "1:1"
    footer = ws.oddFooter
    if footer is not None:
        footer.left.text, footer.right.text = "&A", "Page &P of &N"


def portfolio_assumptions(pf: Portfolio) -> pd.DataFrame:
    """A portfolio's own terms, then each contract's inputs (first case's, before
    amendments), a column per contract."""
    own = assumptions_frame([("portfolio", pf.spec)])
    scenarios = [(c.name, c.resolved.cases[0].scenario) for c in pf.contracts]
    return pd.concat([own, assumptions_frame(scenarios)], ignore_index=True)


def sheet_name(name: str, used: set[str]) -> str:
    """A distinct Excel sheet name (31 characters, none of []:*?/\\); adds it to ``used``."""
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:28] or "contract"
    candidate, n = base, 2
    while candidate.lower() in {u.lower() for u in used}:
        candidate, n = f"{base[:26]}-{n}", n + 1
    used.add(candidate)
    return candidate
