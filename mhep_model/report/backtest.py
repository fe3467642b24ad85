"""A back-test in words, a table and a chart: the model's income by calendar quarter
against the recorded payments (:mod:`mhep_model.studies.backtest`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table

from mhep_model.report.tables import DASH, money, percent


def _value(summary: pd.DataFrame, measure: str) -> Any:
    v = summary.loc[summary["measure"] == measure, "value"]
    return None if v.empty else v.iloc[0]


def quarters_table(quarters: pd.DataFrame, currency: str, title: str) -> Table:
    """A row per calendar quarter: model, recorded (a dash where not known), the
    difference and both cumulative series."""
    table = Table(title=title, title_justify="left")
    for name in ("Quarter", "Model", "Recorded", "Model - recorded", "Model, cumulative",
                 "Recorded, cumulative"):  # fmt: skip
        table.add_column(name, justify="left" if name == "Quarter" else "right", no_wrap=True)
    columns = ["model_income", "recorded_income", "difference", "model_cumulative",
               "recorded_cumulative"]  # fmt: skip
    for quarter, *values in zip(
        quarters["quarter"], *(quarters[c].astype(float) for c in columns), strict=True
    ):
        table.add_row(str(quarter), *(money(float(v), currency) for v in values))
    return table


def summary_lines(summary: pd.DataFrame, currency: str) -> list[str]:
    """The back-test's findings in a few plain sentences."""

    def v(measure: str) -> Any:
        return _value(summary, measure)

    lines = [f"Model total {money(v('model_total'), currency)}."]
    if v("recorded_total") is not None:
        lines[0] = (
            f"Model total {money(v('model_total'), currency)} against "
            f"{money(v('recorded_total'), currency)} recorded "
            f"({percent(v('total_ratio'))} of it)."
        )
    known = int(v("quarters_known") or 0)
    if known:
        lines.append(
            f"In the {known} recorded quarter{'s' if known != 1 else ''}: mean absolute error "
            f"{money(v('mean_absolute_error'), currency)} a quarter, "
            f"{percent(v('mean_absolute_error_share'))} of the mean recorded quarter; a flat "
            f"line: {percent(v('flat_line_mean_absolute_error_share'))}."
        )
        lines.append(
            f"First payment: model {v('model_first_payment_quarter') or DASH}, recorded "
            f"{v('recorded_first_payment_quarter') or DASH}; last: model "
            f"{v('model_last_payment_quarter') or DASH}, recorded "
            f"{v('recorded_last_payment_quarter') or DASH}."
        )
    else:
        lines.append("No quarter is recorded: only the totals are compared.")
    if v("implied_price_per_outcome") is not None:
        lines.append(
            f"Implied price per outcome (recorded total / {v('outcomes'):,.0f} outcomes): "
            f"{money(v('implied_price_per_outcome'), currency)}; the model's "
            f"{money(v('model_price_per_outcome'), currency)}."
        )
    return lines


def backtest_chart(
    quarters: pd.DataFrame, total: float | None, currency: str, title: str, out_dir: Path
) -> list[Path]:
    """Quarterly income (model bars, recorded dots, the flat line) over the cumulative
    series (the recorded total as a level where only it is known)."""
    import matplotlib.pyplot as plt

    from mhep_model.report.charts import SIZE, money_axis, save_png, style

    style()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=SIZE, sharex=True)
    x = range(len(quarters))
    top.bar(x, quarters["model_income"], color="#0072B2", label="model")
    top.step(
        x, quarters["flat_line"], where="mid", color="#999999", linestyle="--", label="flat line"
    )
    known = quarters["recorded_income"].notna()
    top.scatter([i for i, k in zip(x, known, strict=True) if k],
                quarters.loc[known, "recorded_income"], color="#D55E00", zorder=3,
                label="recorded", s=40)  # fmt: skip
    top.set_ylabel("income a quarter")
    money_axis(top, currency)
    top.legend(loc="upper right", fontsize=10)
    bottom.plot(x, quarters["model_cumulative"], color="#0072B2", label="model, cumulative")
    bottom.plot(x, quarters["recorded_cumulative"], color="#D55E00", linewidth=2.5,
                label="recorded, cumulative")  # fmt: skip
    if total is not None:
        bottom.axhline(total, color="#D55E00", linestyle=":", label="recorded total")
    bottom.set_ylabel("cumulative income")
    money_axis(bottom, currency)
    bottom.legend(loc="upper left", fontsize=10)
    step = max(1, len(quarters) // 12)
    bottom.set_xticks(list(x)[::step], list(quarters["quarter"])[::step], rotation=45, ha="right")
    fig.suptitle(f"{title}: model income against recorded payments", fontsize=16)
    return [save_png(fig, out_dir / "backtest.png")]
