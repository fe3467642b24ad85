"""Sweep results as tables: a grid for two parameters, a column per case for one."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from rich.table import Table

from mhep_model.metrics import unit_of
from mhep_model.report.compare import formatter
from mhep_model.studies.summary import MONTH_COLUMNS, STOP_REASONS
from mhep_model.studies.sweep import Sweep

MAX_LONG_ROWS = 40


def sweep_tables(
    frame: pd.DataFrame,
    params: Sequence[str],
    metrics: Sequence[str],
    stage_names: Sequence[str],
    currency: str,
) -> list[Table]:
    """Tables of ``metrics`` over the grid; ``frame`` is ``sweep.csv``."""
    cases = list(dict.fromkeys(frame["case"]))
    tables = []
    for metric in metrics:
        fmt = formatter(unit_of(metric, stage_names), currency)
        if len(params) == 1:
            (p,) = params
            table = Table(title=f"{metric} by {p}", title_justify="left")
            table.add_column(p, justify="right", style="bold")
            for case in cases:
                table.add_column(case, justify="right")
            wide = frame.pivot(index=p, columns="case", values=metric)
            for value, row in wide.iterrows():
                table.add_row(str(value), *[fmt(row[c]) for c in cases])
            tables.append(table)
        elif len(params) == 2:
            down, across = params
            for case in cases:
                sub = frame[frame["case"] == case]
                wide = sub.pivot(index=down, columns=across, values=metric)
                table = Table(
                    title=f"{metric}, case {case}: {down} down, {across} across",
                    title_justify="left",
                )
                table.add_column(f"{down} \\ {across}", justify="right", style="bold")
                for col in wide.columns:
                    table.add_column(str(col), justify="right")
                for value, row in wide.iterrows():
                    table.add_row(str(value), *[fmt(v) for v in row.tolist()])
                tables.append(table)
        else:
            table = Table(
                title=f"{metric} (first {MAX_LONG_ROWS} of {len(frame)} rows; all in sweep.csv)",
                title_justify="left",
            )
            for p in [*params, "case"]:
                table.add_column(p, justify="right")
            table.add_column(metric, justify="right")
            for _, row in frame.head(MAX_LONG_ROWS).iterrows():
                table.add_row(*[str(row[p]) for p in [*params, "case"]], fmt(row[metric]))
            tables.append(table)
    return tables


def sweep_frame(result: Sweep) -> pd.DataFrame:
    """``sweep.csv``: a column per swept path, ``case``, then every metric: a contract's
    ``summary.csv`` columns; a portfolio's own, then ``<contract>.<metric>``. Months are
    whole numbers (blank: never)."""
    run = result.run
    per_point = len(run.info.cases)
    data: dict[str, object] = {
        p.path: [pt[i] for pt in result.points for _ in range(per_point)]
        for i, p in enumerate(result.params)
    }
    data["case"] = list(run.cases)
    for column in run.columns:
        values = run.summary[column]
        month = column.rpartition(".")[2] in MONTH_COLUMNS
        if column.rpartition(".")[2] == "service_stop_reason":  # v3: written as words
            data[column] = [STOP_REASONS[float(v)] for v in values]
        else:
            data[column] = pd.Series(values).round().astype("Int64") if month else values
    return pd.DataFrame(data)
