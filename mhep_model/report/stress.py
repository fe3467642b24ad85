"""Stress-test and goal-seek results as rich tables."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table
from rich.text import Text

from mhep_model.metrics import unit_of
from mhep_model.report.compare import formatter
from mhep_model.report.tables import DASH, number, percent
from mhep_model.studies.solve import Solution
from mhep_model.studies.stress import PERCENTILES, StressResult
from mhep_model.studies.summary import STOP_REASONS

_SHARED_LABELS = {
    "investor_loses_money": "Investor gets back less than it put in",
    "spv_funding_gap": "SPV runs out of cash (funding gap)",
}
LABELS = {
    "provider_insolvent": "Provider insolvent (reserves below zero in some month)",
    **_SHARED_LABELS,
    "payer_cap_binds": "A payer's cap binds",
    "service_stopped": "The service stops early (contract.stop)",
}
PORTFOLIO_LABELS = {
    **_SHARED_LABELS,
    "any_provider_insolvent": "Some provider insolvent (reserves below zero)",
    "payer_cap_binds": "A payer's cap binds",
}


def _scale(value: float) -> str:
    return DASH if math.isnan(value) else f"{value:.2f}x"


def _probability_table(result: StressResult, title: str, rows: Sequence[tuple[str, str]]) -> Table:
    """A column per case; a row per ``(probability key, label)``: the probability and its
    95% Wilson interval, red from 10% (a payer's cap binding is no failure)."""
    table = Table(title=title, title_justify="left")
    table.add_column("Measure", style="bold")
    for case in result.case_names:
        table.add_column(case, justify="right")
    shown = set(result.probabilities(result.case_names[0])) if result.case_names else set()
    for key, label in rows:
        if key not in shown:  # e.g. a stop only where the contract can stop
            continue
        cells = []
        for case in result.case_names:
            p = result.probabilities(case)[key]
            lo, hi = result.intervals(case)[key]
            style = "red" if key != "payer_cap_binds" and p >= 0.1 else ""
            cells.append(Text(f"{percent(p)} ({lo:.2%}-{hi:.2%})", style=style))
        table.add_row(label, *cells)
    return table


def risk_table(result: StressResult) -> Table:
    """Per case: probabilities, the likeliest insolvency month, break-even referral scales
    (a portfolio's: its own risks, each contract's provider, the shared break-even)."""
    if result.portfolio is not None:
        return _portfolio_risk_table(result)
    title = (
        f"Risks over {result.paths:,} paths per case (seed {result.seed}; in brackets the "
        "95% interval of the Monte Carlo estimate)"
    )
    table = _probability_table(result, title, list(LABELS.items()))
    months = [result.insolvency_months(c) for c in result.case_names]
    table.add_row(
        "Month insolvency most often starts",
        *[DASH if math.isnan(m["most_likely"]) else f"{int(m['most_likely'])}" for m in months],
    )
    table.add_row(
        "Break-even referral scale: total surplus = 0",
        *[
            _scale(result.break_even[c]["break_even_referral_scale_surplus"])
            for c in result.case_names
        ],
    )
    table.add_row(
        "Break-even referral scale: minimum reserves = 0",
        *[
            _scale(result.break_even[c]["break_even_referral_scale_min_reserves"])
            for c in result.case_names
        ],
    )
    for key, label in (("surplus", "total surplus"), ("min_reserves", "minimum reserves")):
        table.add_row(
            f"  = referrals a month (average over the term), {label} = 0",
            *[
                number(result.break_even[c][f"break_even_referrals_per_month_{key}"])
                for c in result.case_names
            ],
        )
    return table


def percentile_table(
    result: StressResult,
    case: str,
    stage_names: Sequence[str],
    currency: str,
) -> Table:
    """P5..P95 of the key metrics of one case (a contract's or a portfolio's), the mean
    over paths beside the median, and the deterministic value of the same case."""
    table = Table(title=f"Spread over paths: {case}", title_justify="left")
    table.add_column("Measure", style="bold")
    for p in PERCENTILES:
        table.add_column(f"P{p}", justify="right")
        if p == 50:
            table.add_column("Mean", justify="right")
    table.add_column("Deterministic", justify="right")
    means = result.means(case)
    fixed = result.deterministic.get(case, {})
    for metric, by_p in result.percentiles(case).items():
        fmt = formatter(unit_of(metric, stage_names), currency)
        cells = []
        for p in PERCENTILES:
            cells.append(fmt(by_p[p]))
            if p == 50:
                cells.append(fmt(means[metric]))
        table.add_row(metric, *cells, fmt(fixed.get(metric, math.nan)))
    return table


def _plain(x: float) -> str:
    """A searched bound as people write it: 3,960,000 rather than 3.96e+06."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.6g}"


def unreached(solution: Solution) -> list[str]:
    """Why the target was not reached, per case: the metric's values at the ends of the
    range, and whether widening the range can help (not when the metric does not move)."""
    fmt = formatter(unit_of(solution.metric, ()), solution.currency)
    lines = []
    for i, case in enumerate(solution.cases):
        if solution.roots.found[i]:
            continue
        at_lo, at_hi = solution.roots.at_lo[i], solution.roots.at_hi[i]
        head = (
            f"{case}: {solution.metric} is {fmt(at_lo)} at {_plain(solution.lo[i])} and "
            f"{fmt(at_hi)} at {_plain(solution.hi[i])} of {solution.path}, never "
            f"{solution.target:g}"
        )
        still = abs(at_hi - at_lo) <= 1e-9 * max(1.0, abs(at_lo), abs(at_hi))
        lines.append(
            f"{head}: it does not move with {solution.path}, so no range reaches it"
            if still
            else f"{head}: widen the range with --between LO:HI only if the trend goes on "
            "past it (a metric that levels off will not get there)"
        )
    return lines


def solution_table(solution: Solution, currency: str) -> Table:
    """Per case: the value found, or why there is none."""
    table = Table(
        title=f"{solution.path} at which {solution.metric} = {solution.target:g}",
        title_justify="left",
    )
    for name in ("Case", "Value", "Searched", f"{solution.metric} over the range"):
        table.add_column(name, justify="left" if name == "Case" else "right")
    for i, case in enumerate(solution.cases):
        value = solution.roots.value[i]
        found = (
            Text(f"{value:,.6g}", style="green")
            if not math.isnan(value)
            else Text("not reached", style="red")
        )
        fmt = formatter(unit_of(solution.metric, ()), currency)
        lo_m, hi_m = solution.roots.at_lo[i], solution.roots.at_hi[i]
        table.add_row(
            case,
            found,
            f"{_plain(solution.lo[i])} .. {_plain(solution.hi[i])}",
            f"{fmt(lo_m)} .. {fmt(hi_m)} ({solution.direction(i)})",
        )
    return table


def risk_rows(result: StressResult, case: str) -> list[tuple[str, str, str, float]]:
    """The rows of ``stress_summary.csv`` every stress run has for a case: the paths, each
    probability with its standard error, and the percentiles."""
    rows = [(case, "paths", "count", float(result.paths))]
    errors = result.standard_errors(case)
    intervals = result.intervals(case)
    for metric, p in result.probabilities(case).items():
        rows.append((case, metric, "probability", p))
        rows.append((case, metric, "standard_error", errors[metric]))
        rows.append((case, metric, "interval_low", intervals[metric][0]))
        rows.append((case, metric, "interval_high", intervals[metric][1]))
    means = result.means(case)
    for metric, by_p in result.percentiles(case).items():
        rows += [(case, metric, f"p{p}", v) for p, v in by_p.items()]
        rows.append((case, metric, "mean", means[metric]))
    for (party, stat), v in result.expected_losses(case).items():
        rows.append((case, party, stat, v))
    return rows


def stress_stats_frame(result: StressResult) -> pd.DataFrame:
    """``stress_summary.csv``: case, metric, statistic, value (and the seed)."""
    rows: list[tuple[str, str, str, float]] = []
    for case in result.case_names:
        rows += risk_rows(result, case)
        for stat, v in result.insolvency_months(case).items():
            rows.append((case, "provider_insolvent_month", stat, v))
        rows += [(case, metric, "value", v) for metric, v in result.break_even[case].items()]
    frame = pd.DataFrame(rows, columns=["case", "metric", "statistic", "value"])
    frame["seed"] = result.seed
    return frame


def stress_paths_frame(result: StressResult) -> pd.DataFrame:
    """``paths.csv``: path, case, then every metric of a path (a contract's
    ``summary.csv`` columns; a portfolio's own, then each contract's provider), one row per
    path and case; months and counts as whole numbers."""
    frames = []
    for case, metrics in result.per_path.items():
        data: dict[str, Any] = {
            "path": np.arange(1, result.paths + 1),
            "case": np.full(result.paths, case, dtype=object),
        }
        for col in result.columns:
            values = metrics[col]
            whole = unit_of(col) in ("month", "count")
            if col == "service_stop_reason":  # v3: the engine's code, written as words
                data[col] = [STOP_REASONS[float(v)] for v in values]
            else:
                data[col] = pd.Series(values).round().astype("Int64") if whole else values
        frames.append(pd.DataFrame(data))
    out = pd.concat(frames, ignore_index=True)
    out["seed"] = result.seed
    return out


def _portfolio_risk_table(result: StressResult) -> Table:
    """Per case: the portfolio's risks, each contract's provider, the break-even scale."""
    title = f"Risks over {result.paths:,} paths per case (seed {result.seed}): {result.name}"
    rows = list(PORTFOLIO_LABELS.items())
    rows += [
        (f"{c}.provider_insolvent", f"  {c}: provider insolvent") for c in result.contract_names
    ]
    table = _probability_table(result, title, rows)
    table.add_row(
        "Break-even shared referral scale: investor repaid in full",
        *[
            _scale(result.break_even[c]["break_even_shared_referral_scale"])
            for c in result.case_names
        ],
    )
    return table
