"""A stressed batch in tables, words and charts: each variant's risks and, path by path,
each variant against the first (:mod:`mhep_model.studies.stress_batch`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from rich.table import Table

from mhep_model.metrics import metric, unit_of
from mhep_model.report.compare import formatter
from mhep_model.report.stress import stress_paths_frame, stress_stats_frame
from mhep_model.report.tables import percent
from mhep_model.studies.stress_batch import TIE, BatchStress
from mhep_model.studies.stress_result import StressResult

WORDS = ("provider_surplus", "investor_multiple")
"""The metrics the summary in words speaks of: one for each party at risk (a portfolio's
providers by their own surplus)."""


def _by_variant(
    batch: BatchStress, frame_of: Callable[[StressResult], pd.DataFrame]
) -> pd.DataFrame:
    frames = []
    for label, result in zip(batch.labels, batch.results, strict=True):
        frame = frame_of(result)
        frame.insert(0, "variant", label)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def batch_summary_frame(batch: BatchStress) -> pd.DataFrame:
    """``stress_summary.csv`` of a batch: each variant's rows, a ``variant`` column first."""
    return _by_variant(batch, stress_stats_frame)


def batch_paths_frame(batch: BatchStress) -> pd.DataFrame:
    """``paths.csv`` of a batch: each variant's paths, a ``variant`` column first."""
    return _by_variant(batch, stress_paths_frame)


def paired_frame(batch: BatchStress) -> pd.DataFrame:
    """``stress_paired.csv``: variant, case, metric, mean_difference, p5, p95, p_better,
    standard_error (each variant against the first, path by path), and the seed."""
    rows = [
        (p.variant, p.case, p.metric, p.mean_difference, p.p5, p.p95, p.p_better, p.standard_error)
        for p in batch.paired()
    ]
    columns = ["variant", "case", "metric", "mean_difference", "p5", "p95", "p_better"]
    frame = pd.DataFrame(rows, columns=[*columns, "standard_error"])
    frame["seed"] = batch.first.seed
    return frame


def _words_metrics(batch: BatchStress) -> list[str]:
    if batch.first.portfolio is None:
        return list(WORDS)
    return ["investor_multiple"] + [f"{c}.provider_surplus" for c in batch.first.contract_names]


def words_table(batch: BatchStress) -> Table:
    """Each variant against the first in a sentence per case and party: how often it is
    better for them and by how much on average."""
    first = batch.labels[0]
    table = Table(
        title=f"Against {first}, path by path ({batch.first.paths:,} paths per case, seed "
        f"{batch.first.seed}; the same referrals, conversions and timing in every variant)",
        title_justify="left",
        show_header=False,
    )
    table.add_column("Finding")
    currency = batch.first.currency
    wanted = set(_words_metrics(batch))
    for p in batch.paired():
        if p.metric not in wanted or math.isnan(p.p_better):
            continue
        m = metric(p.metric)
        if max(abs(p.p5), abs(p.p95), abs(p.mean_difference)) <= TIE:
            table.add_row(
                f"{p.variant} makes no difference to the {m.party} in any path ({p.case})"
            )
            continue
        fmt = formatter(unit_of(p.metric, batch.first.stage_names), currency)
        size = fmt(abs(p.mean_difference))
        way = "more" if p.mean_difference * m.better >= 0 else "less"
        table.add_row(
            f"{p.variant} is better for the {m.party} in {percent(p.p_better)} of paths "
            f"({p.case}): {m.label.strip().lower()} {way} by {size} on average "
            f"(± {fmt(p.standard_error)})"
        )
    return table


def paired_table(batch: BatchStress) -> Table:
    """``stress_paired.csv`` as a table: a row per variant, case and metric."""
    table = Table(title="Paired differences (variant - first)", title_justify="left")
    for name in ("Variant", "Case", "Metric", "Mean", "P5", "P95", "Better", "± s.e."):
        table.add_column(name, justify="left" if name in ("Variant", "Case", "Metric") else "right")
    currency = batch.first.currency
    for p in batch.paired():
        fmt = formatter(unit_of(p.metric, batch.first.stage_names), currency)
        table.add_row(
            p.variant, p.case, p.metric, fmt(p.mean_difference), fmt(p.p5), fmt(p.p95),
            percent(p.p_better), fmt(p.standard_error),
        )  # fmt: skip
    return table


def paired_charts(batch: BatchStress, out_dir: Path) -> list[Path]:
    """A histogram per compared party metric: each variant's path-by-path difference from
    the first, a panel per case, on one scale."""
    import matplotlib.pyplot as plt
    import numpy as np

    from mhep_model.report.charts import SIZE, money_axis, save_png, style

    style()
    written = []
    cases = batch.first.case_names
    for name in _words_metrics(batch):
        fig, axes = plt.subplots(1, len(cases), figsize=SIZE, squeeze=False, sharex=True)
        for ax, case in zip(axes[0], cases, strict=True):
            base = batch.first.per_path[case][name]
            for n, (label, result) in enumerate(
                zip(batch.labels[1:], batch.results[1:], strict=True)
            ):
                d = result.per_path[case][name] - base
                d = d[~np.isnan(d)]
                ax.hist(d, bins=40, alpha=0.6, color=f"C{n}", label=label)
            ax.axvline(0.0, color="black", linewidth=1)
            ax.set_title(case)
            if unit_of(name) == "money":
                money_axis(ax, batch.first.currency, axis="x")
                ax.tick_params(axis="x", labelrotation=30)
        axes[0, 0].set_ylabel("paths")
        axes[0, 0].legend(fontsize=10)
        fig.suptitle(
            f"{metric(name).label.strip()}: each variant less {batch.labels[0]}, path by path",
            fontsize=15,
        )
        fig.tight_layout()
        safe = name.replace(".", "_")
        written.append(save_png(fig, out_dir / f"paired_{safe}.png"))
    return written
