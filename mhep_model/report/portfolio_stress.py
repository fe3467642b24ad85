"""A portfolio's stress test as tables: risks by case (each contract's provider too),
percentiles, ``stress_summary.csv`` and ``paths.csv``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table
from rich.text import Text

from mhep_model.metrics import unit_of
from mhep_model.report.compare import formatter
from mhep_model.report.stress import risk_rows
from mhep_model.report.tables import DASH, percent
from mhep_model.studies.portfolio_stress import PortfolioStressResult
from mhep_model.studies.stress import PERCENTILES
from mhep_model.studies.summary import MONTH_COLUMNS

LABELS = {
    "investor_loses_money": "Investor gets back less than it put in",
    "spv_funding_gap": "SPV runs out of cash (funding gap)",
    "any_provider_insolvent": "Some provider insolvent (reserves below zero)",
    "payer_cap_binds": "A payer's cap binds",
}


def portfolio_risk_table(result: PortfolioStressResult) -> Table:
    """Per case: the portfolio's risks, each contract's provider, the break-even scale."""
    table = Table(
        title=f"Risks over {result.paths:,} paths per case (seed {result.seed}): "
        f"{result.portfolio.name}",
        title_justify="left",
    )
    table.add_column("Measure", style="bold")
    for case in result.case_names:
        table.add_column(case, justify="right")
    rows = list(LABELS.items())
    rows += [
        (f"{c}.provider_insolvent", f"  {c}: provider insolvent") for c in result.contract_names
    ]
    for key, label in rows:
        cells = []
        for case in result.case_names:
            p = result.probabilities(case)[key]
            se = result.standard_errors(case)[key]
            style = "red" if key != "payer_cap_binds" and p >= 0.1 else ""
            cells.append(Text(f"{percent(p)} ± {se:.1%}", style=style))
        table.add_row(label, *cells)
    table.add_row(
        "Break-even shared referral scale: investor repaid in full",
        *[
            DASH if math.isnan(result.break_even[c]) else f"{result.break_even[c]:.2f}x"
            for c in result.case_names
        ],
    )
    return table


def portfolio_percentile_table(result: PortfolioStressResult, case: str, currency: str) -> Table:
    """P5..P95 of the portfolio's key metrics in one case."""
    table = Table(title=f"Spread over paths: {case}", title_justify="left")
    table.add_column("Measure", style="bold")
    for p in PERCENTILES:
        table.add_column(f"P{p}", justify="right")
    for metric, by_p in result.percentiles(case).items():
        kind = unit_of(metric)
        fmt = formatter(kind, currency)
        table.add_row(metric, *[fmt(by_p[p]) for p in PERCENTILES])
    return table


def portfolio_stats_frame(result: PortfolioStressResult) -> pd.DataFrame:
    """``stress_summary.csv``: case, metric, statistic, value (and the seed)."""
    rows: list[tuple[str, str, str, float]] = []
    for case in result.case_names:
        rows += risk_rows(result, case)
        rows.append((case, "break_even_shared_referral_scale", "value", result.break_even[case]))
    frame = pd.DataFrame(rows, columns=["case", "metric", "statistic", "value"])
    frame["seed"] = result.seed
    return frame


def portfolio_paths_frame(result: PortfolioStressResult) -> pd.DataFrame:
    """``paths.csv``: path, case, the portfolio's metrics, then each contract's provider."""
    frames = []
    for case, metrics in result.per_path.items():
        data: dict[str, Any] = {
            "path": np.arange(1, result.paths + 1),
            "case": np.full(result.paths, case, dtype=object),
        }
        for col, values in metrics.items():
            month = col in MONTH_COLUMNS or col.endswith("_month") or col == "providers_insolvent"
            data[col] = pd.Series(values).round().astype("Int64") if month else values
        frames.append(pd.DataFrame(data))
    out = pd.concat(frames, ignore_index=True)
    out["seed"] = result.seed
    return out
