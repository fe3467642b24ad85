"""``compare --charts``: small multiples that stay legible with many variants.

One panel per case (and, for the funnel, per stage), one line per variant in a colour that
is the variant's in every panel and chart, a legend of the variants' display names. Six
variants x three cases is eighteen lines in three panels of six, never eighteen in one.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D

from mhep_model.report.charts import PALETTE, SIZE, dates_of, money_axis, save_png, style

_COLOURS = PALETTE  # colour-blind safe; past eight variants, dashed repeats


def variant_styles(labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    """A colour (and past nine variants, a dash) per variant, the same in every chart."""
    out = {}
    for i, label in enumerate(labels):
        dashed = i >= len(_COLOURS)
        out[label] = {"color": _COLOURS[i % len(_COLOURS)], "linestyle": "--" if dashed else "-"}
    return out


def _legend(fig: Any, labels: Sequence[str], names: Mapping[str, str]) -> None:
    """The variants' display names under the panels, wrapped to fit their column."""
    handles = [Line2D([], [], **s, linewidth=2) for s in variant_styles(labels).values()]
    ncol = min(3, len(labels))
    shown = [textwrap.fill(names.get(label, label), 105 // ncol) for label in labels]
    fig.legend(handles, shown, loc="lower center", ncol=ncol, frameon=False, fontsize=11)


def compare_charts(
    monthly: pd.DataFrame,
    stage_names: Sequence[str],
    currency: str,
    title: str,
    names: Mapping[str, str],
    out_dir: Path,
) -> list[Path]:
    """SPV cash and investor exposure, provider reserves and the funnel, per case."""
    style()
    labels = list(dict.fromkeys(monthly["variant"]))
    cases = list(dict.fromkeys(monthly["case"]))
    styles = variant_styles(labels)
    written = []

    def panels(nrows: int, what: str) -> tuple[Any, Any]:
        fig, axes = plt.subplots(
            nrows, len(cases), figsize=SIZE, sharex=True, sharey="row", squeeze=False
        )
        fig.suptitle(f"{title}: {what}", fontsize=17)
        for j, case in enumerate(cases):
            axes[0, j].set_title(case, fontsize=14)
        return fig, axes

    def lines(ax: Any, case: str, column: str, transform: Any = None) -> None:
        for label in labels:
            rows_ = monthly[(monthly["variant"] == label) & (monthly["case"] == case)]
            values = rows_[column] if transform is None else transform(rows_)
            ax.plot(dates_of(rows_), values, linewidth=1.8, **styles[label])

    def finish(fig: Any, axes: Any, name: str) -> None:
        for ax in axes[-1]:
            ax.tick_params(axis="x", labelrotation=45)
        _legend(fig, labels, names)
        written.append(save_png(fig, out_dir / name))

    fig, axes = panels(2, "SPV cash and investor exposure")
    for j, case in enumerate(cases):
        lines(axes[0, j], case, "spv_cash")
        lines(axes[1, j], case, "", lambda g: (-g["investor_cashflow"]).cumsum())
        for ax in axes[:, j]:
            money_axis(ax, currency)
            ax.axhline(0, color="black", linewidth=0.8)
    axes[0, 0].set_ylabel(f"SPV cash [{currency}]")
    axes[1, 0].set_ylabel(f"Investor exposure [{currency}]")
    finish(fig, axes, "spv_cash_and_investor_exposure.png")

    fig, axes = panels(1, "provider reserves (below the red line: insolvent)")
    for j, case in enumerate(cases):
        lines(axes[0, j], case, "provider_reserves")
        axes[0, j].axhline(0, color="red", linewidth=1.5, linestyle="--")
        money_axis(axes[0, j], currency)
    axes[0, 0].set_ylabel(f"Provider reserves [{currency}]")
    finish(fig, axes, "provider_reserves.png")

    columns = ["referrals", *stage_names]
    fig, axes = panels(len(columns), "the funnel [people/month]")
    for j, case in enumerate(cases):
        for i, column in enumerate(columns):
            lines(axes[i, j], case, column)
    for i, column in enumerate(columns):
        axes[i, 0].set_ylabel(column.replace("_", " "), fontsize=11)
    finish(fig, axes, "funnel.png")
    return written
