"""A contract in delivery: the recorded series against each case's projection (spec 13),
as a rich table and as charts of the cumulative series."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from rich.table import Table

from mhep_model.report.tables import money, number, percent


def variance_table(frame: pd.DataFrame, months: int, dates: Sequence[str], currency: str) -> Table:
    """Per measure: the actual to date, then each case's projection to date and the ratio
    (the medium case's is seed 002's "success rate against target")."""
    cases = list(dict.fromkeys(frame["case"]))
    table = Table(
        title=f"Actuals to {dates[months - 1]} (months 1-{months}) against each case's projection",
        title_justify="left",
    )
    table.add_column("Measure", style="bold")
    table.add_column("Actual", justify="right")
    for case in cases:
        table.add_column(f"{case}: projected", justify="right")
        label = "success rate against target" if case == "medium" else "ratio"
        table.add_column(f"{case}: {label}", justify="right")
    for measure in dict.fromkeys(frame["measure"]):
        rows = frame[frame["measure"] == measure].set_index("case")
        fmt = (lambda v: money(v, currency)) if measure == "income" else number
        actual = float(rows["actual"].iloc[0])
        cells = [fmt(actual)]
        for case in cases:
            cells += [
                fmt(float(rows.at[case, "projected"])),
                percent(float(rows.at[case, "ratio"])),
            ]
        table.add_row(measure, *cells)
    return table


def variance_charts(
    monthly: pd.DataFrame,
    projected: pd.DataFrame,
    actual: dict[str, np.ndarray],
    k: int,
    currency: str,
    title: str,
    out_dir: Path,
) -> list[Path]:
    """Each recorded series, cumulated: the actuals, each case's projection from the
    signing date, and each case's re-forecast after the last recorded month."""
    import matplotlib.pyplot as plt

    from mhep_model.metrics import metric
    from mhep_model.report.charts import (
        SIZE,
        date_axis,
        dates_of,
        legend_label,
        money_axis,
        save_png,
        style,
    )

    style()
    measures = list(actual)
    cases = list(dict.fromkeys(monthly["case"]))
    cols = min(len(measures), 3)
    rows = -(-len(measures) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=SIZE, squeeze=False)
    for ax, measure in zip(axes.flat, measures, strict=False):
        for n, case in enumerate(cases):
            mine = monthly[monthly["case"] == case]
            plan = projected[projected["case"] == case]
            dates = dates_of(mine)
            colour = f"C{n}"
            ax.plot(
                dates_of(plan),
                plan[measure].cumsum(),
                color=colour,
                linestyle=":",
                label=f"{legend_label(case)}: as projected",
            )
            after = np.arange(len(mine)) >= k - 1
            ax.plot(
                dates[after],
                mine[measure].cumsum()[after],
                color=colour,
                label=f"{legend_label(case)}: re-forecast",
            )
        first = monthly[monthly["case"] == cases[0]]
        ax.plot(
            dates_of(first)[:k],
            np.cumsum(actual[measure]),  # the records (income: as recorded, never used)
            color="black",
            linewidth=2.5,
            label="actual",
        )
        date_axis(ax, 5)  # five dates a panel at most: never touching
        ax.set_title(metric(measure, list(actual)).label.strip())
        if measure == "income":
            money_axis(ax, currency)
        else:
            ax.set_ylabel("people (cumulative)")
    spare = list(axes.flat)[len(measures) :]
    for ax in spare:
        ax.axis("off")
    handles, names = axes[0, 0].get_legend_handles_labels()
    if spare:  # the legend in an empty panel, clear of the lines
        spare[0].legend(handles, names, loc="center", fontsize=11, frameon=False)
    else:
        fig.legend(handles, names, loc="lower center", ncol=4, fontsize=10, frameon=False)
    fig.suptitle(f"{title}: actuals, projections and re-forecast", fontsize=17)
    return [save_png(fig, out_dir / "actuals_vs_projection.png")]
