"""A tornado's outputs: ``sensitivity.csv``, the ranked table and the tornado chart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from mhep_model.metrics import unit_of
from mhep_model.report.compare import formatter
from mhep_model.report.prose import phrase
from mhep_model.studies.sensitivity import Tornado
from mhep_model.studies.sobol import SobolResult

_MARKS = ("*", "†", "‡", "§")


def _metric_words(name: str, stage_names: Sequence[str]) -> str:
    """A metric's label as the charts' titles say it (never its column name)."""
    from mhep_model.metrics import metric

    return metric(name, stage_names).label.strip().lower()


def label(path: str) -> str:
    """An input's path in words; a portfolio's contract paths name their contract."""
    parts = path.split(".")
    if parts[0] == "contracts" and len(parts) > 2:
        who = "every contract" if parts[1] == "*" else parts[1]
        return f"{who}: {phrase('.'.join(parts[2:]))[0]}"
    return phrase(path)[0]


def sensitivity_frame(result: Tornado, metrics: Sequence[str]) -> pd.DataFrame:
    """``sensitivity.csv``: a row per case, metric and input, largest swing first:
    case, metric, path, low, high, source, amendments (those that change the input, and
    whether they moved with it), base, at_low, at_high, swing, rank."""
    rows = []
    for metric in metrics:
        values = result.metric(metric)
        for c, case in enumerate(result.cases):
            block: list[list[Any]] = []
            for k, r in enumerate(result.ranges):
                at_lo, at_hi = values[1 + 2 * k, c], values[2 + 2 * k, c]
                swing = abs(at_hi - at_lo) if np.isfinite(at_hi - at_lo) else np.nan
                note = result.notes.get(r.path, "")
                row: list[Any] = [case, metric, r.path, r.lo, r.hi, r.source, note]
                block.append([*row, values[0, c], at_lo, at_hi, swing])
            block.sort(key=lambda row: -row[-1] if np.isfinite(row[-1]) else np.inf)
            rows += [[*row, rank] for rank, row in enumerate(block, start=1)]
    columns = ["case", "metric", "path", "low", "high", "source", "amendments"]
    columns += ["base", "at_low", "at_high"]
    return pd.DataFrame(rows, columns=[*columns, "swing", "rank"])


def tornado_tables(frame: pd.DataFrame, stage_names: Sequence[str], currency: str) -> list[Table]:
    """A table per case and metric, the inputs ranked by the metric's swing."""
    tables = []
    for (case, metric), rows in frame.groupby(["case", "metric"], sort=False):
        fmt = formatter(unit_of(str(metric), stage_names), currency)
        base = rows["base"].iloc[0]
        table = Table(
            title=f"Case {case}: what moves {_metric_words(str(metric), stage_names)} "
            f"(now {fmt(base)}), largest swing first",
            title_justify="left",
        )
        for col in ("Input", "Range", "At low", "At high", "Swing"):
            table.add_column(col, justify="left" if col == "Input" else "right")
        marks: list[str] = []
        for _, row in rows.iterrows():
            text = label(str(row["path"]))
            mark = ""
            if row["amendments"]:
                marks.append(f"{_MARKS[len(marks) % len(_MARKS)]} {text}: {row['amendments']}")
                mark = f" {_MARKS[(len(marks) - 1) % len(_MARKS)]}"
            table.add_row(
                f"{text} ({row['source']}){mark}",
                f"{row['low']:,.6g} .. {row['high']:,.6g}",
                fmt(row["at_low"]),
                fmt(row["at_high"]),
                fmt(row["swing"]),
            )
        if marks:  # which amendments change a ranged input, under the table
            table.caption = "\n".join(marks)
            table.caption_justify = "left"
        tables.append(table)
    return tables


def tornado_chart(
    frame: pd.DataFrame,
    metric: str,
    stage_names: Sequence[str],
    currency: str,
    title: str,
    out_dir: Path,
) -> Path:
    """``tornado_<metric>.png``: per case, a bar from the metric at each input's low to
    its high, widest on top, around a line at the case's own value."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from mhep_model.report.charts import PALETTE, SIZE, save_png, style

    style()
    chosen = frame[frame["metric"] == metric]
    cases = list(dict.fromkeys(chosen["case"]))
    # one order for every panel (by the mean swing over the cases), so bars line up
    order = chosen.groupby("path", sort=False)["swing"].mean().sort_values().index[-12:]
    fig, axes = plt.subplots(1, len(cases), figsize=SIZE, sharey=True, squeeze=False)
    fmt = formatter(unit_of(metric, stage_names), currency)
    y = np.arange(len(order))
    for ax, case in zip(axes[0], cases, strict=True):
        rows = chosen[chosen["case"] == case].set_index("path").loc[order]
        base = float(rows["base"].iloc[0])
        lo, hi = rows["at_low"].to_numpy(float), rows["at_high"].to_numpy(float)
        ax.barh(y, lo - base, left=base, color=PALETTE[3], alpha=0.8, label="input at its low")
        ax.barh(y, hi - base, left=base, color=PALETTE[0], alpha=0.8, label="input at its high")
        ax.axvline(base, color="black", linewidth=1)
        # bars stick to their left edge, so pad by hand: the case's line stays in view
        every = np.concatenate([lo, hi, [base]])
        every = every[np.isfinite(every)]  # a blank IRR or multiple has no bar
        if len(every):
            pad = 0.06 * (float(np.ptp(every)) or abs(float(every[0])) or 1.0)
            ax.set_xlim(float(every.min()) - pad, float(every.max()) + pad)
        ax.set_title(f"{case} (now {fmt(base)})", fontsize=14)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v)))
        ax.tick_params(axis="x", labelrotation=30)
    axes[0, 0].set_yticks(y, [label(str(p)) for p in order], fontsize=10)
    axes[0, 0].legend(loc="lower right", fontsize=10)
    fig.suptitle(f"{title}: what moves {_metric_words(metric, stage_names)}", fontsize=17)
    return save_png(fig, out_dir / f"tornado_{metric}.png")


def sobol_frame(result: SobolResult, metrics: Sequence[str]) -> pd.DataFrame:
    """``sobol.csv``: case, metric, path, low, high, amendments, S1, S1_conf, ST, ST_conf,
    rank (by total index), samples, evaluations."""
    rows = []
    for metric in metrics:
        for case, found in result.indices(metric).items():
            block: list[list[Any]] = [
                [case, metric, r.path, r.lo, r.hi, result.notes.get(r.path, "")]
                + [float(found[k][i]) for k in _INDEX_KEYS]
                for i, r in enumerate(result.ranges)
            ]
            block.sort(key=lambda row: -row[8])
            rows += [[*row, rank] for rank, row in enumerate(block, start=1)]
    frame = pd.DataFrame(
        rows,
        columns=["case", "metric", "path", "low", "high", "amendments", *_INDEX_KEYS, "rank"],
    )
    frame["samples"] = result.samples
    frame["evaluations"] = result.evaluations
    return frame


_INDEX_KEYS = ("S1", "S1_conf", "ST", "ST_conf")


def sobol_tables(frame: pd.DataFrame) -> list[Table]:
    """A table per case and metric: inputs by total index, each with its 95% interval."""
    tables = []
    for (case, metric), rows in frame.groupby(["case", "metric"], sort=False):
        n, evals = int(rows["samples"].iloc[0]), int(rows["evaluations"].iloc[0])
        who = (
            "Every case (they differ only in the ranged inputs, so one was sampled)"
            if case == "all cases"
            else f"Case {case}"
        )
        table = Table(
            title=f"{who}: Sobol indices of {_metric_words(str(metric), ())} "
            f"(N = {n:,}, {evals:,} evaluations; ± 95% interval)",
            title_justify="left",
        )
        for col in ("Input", "Range", "First order S1", "Total ST"):
            table.add_column(col, justify="left" if col == "Input" else "right")
        for _, row in rows.iterrows():
            table.add_row(
                label(str(row["path"])),
                f"{row['low']:,.6g} .. {row['high']:,.6g}",
                f"{row['S1']:.3f} ± {row['S1_conf']:.3f}",
                f"{row['ST']:.3f} ± {row['ST_conf']:.3f}",
            )
        tables.append(table)
    return tables


def sobol_chart(frame: pd.DataFrame, metric: str, title: str, out_dir: Path) -> Path:
    """``sobol_<metric>.png``: per case, each input's first-order and total index with its
    95% interval, largest total first."""
    import matplotlib.pyplot as plt

    from mhep_model.report.charts import PALETTE, SIZE, save_png, style

    style()
    chosen = frame[frame["metric"] == metric]
    cases = list(dict.fromkeys(chosen["case"]))
    order = chosen.groupby("path", sort=False)["ST"].mean().sort_values().index[-12:]
    fig, axes = plt.subplots(1, len(cases), figsize=SIZE, sharey=True, squeeze=False)
    y = np.arange(len(order))
    for ax, case in zip(axes[0], cases, strict=True):
        rows = chosen[chosen["case"] == case].set_index("path").loc[order]
        ax.barh(y + 0.2, rows["S1"], 0.4, xerr=rows["S1_conf"], color=PALETTE[0], label="S1")
        ax.barh(y - 0.2, rows["ST"], 0.4, xerr=rows["ST_conf"], color=PALETTE[1], label="ST")
        ax.set_xlim(0, 1.1)
        ax.set_title(case, fontsize=14)
        ax.set_xlabel("share of the variance")
    axes[0, 0].set_yticks(y, [label(str(p)) for p in order], fontsize=10)
    axes[0, 0].legend(loc="lower right", fontsize=10)
    n = int(chosen["samples"].iloc[0])
    words = _metric_words(metric, ())
    fig.suptitle(f"{title}: Sobol indices of {words} (N = {n:,}; bars: 95% interval)")
    return save_png(fig, out_dir / f"sobol_{metric}.png")
