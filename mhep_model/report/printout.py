"""What ``mhep-model run`` and ``compare`` print: rich renderables, from a run and its
CSVs or a comparison and its summary (each a list of ``(renderable, wide)``; ``wide``:
printed without cutting numbers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from rich.text import Text

from mhep_model.report.compare import (
    compare_table,
    comparison_payer_labels,
    metrics,
    portfolio_metrics,
    verdicts,
)
from mhep_model.report.frames import yearly_frame
from mhep_model.report.tables import (
    contracts_table,
    kpi_table,
    payer_labels,
    portfolio_kpi_table,
    shared_labels,
    yearly_tables,
)
from mhep_model.report.variance import variance_table
from mhep_model.studies.compare import Comparison
from mhep_model.studies.run import RunOutput


def run_printout(run: RunOutput, frames: Mapping[str, pd.DataFrame]) -> list[tuple[Any, bool]]:
    """What ``mhep-model run`` prints, as ``(renderable, wide)``: a scenario's variance
    (with actuals), KPIs, contract-year tables and amendments; a portfolio's KPIs and a
    table of its contracts per case (``wide``: print without cutting numbers)."""
    currency = run.currency
    out: list[tuple[Any, bool]] = []
    if run.portfolio is not None:
        out.append((portfolio_kpi_table(run, frames["portfolio_summary.csv"], currency), False))
        starts = dict(zip(run.cases, run.starts, strict=True))
        for case in dict.fromkeys(run.cases):
            contracts = frames["contracts_summary.csv"]
            out.append((contracts_table(contracts, case, starts, currency), True))
        return out
    base = run.scenario.base
    summary, monthly = frames["summary.csv"], frames["monthly.csv"]
    stage_names = [s.name for s in run.inputs.stages]
    if run.variance:
        k = run.variance[0].months
        dates = monthly[monthly["case"] == monthly["case"].iloc[0]]["date"].tolist()
        out.append((variance_table(frames["variance.csv"], k, dates, currency), True))
    labels = payer_labels(base)
    out.append((kpi_table(summary, monthly, stage_names, labels, currency, base.name), False))
    for table in yearly_tables(yearly_frame(monthly, stage_names), stage_names, currency):
        out.append((table, False))
    for amendment in sorted(base.amendments, key=lambda a: a.month):
        changes = ", ".join(
            [f"{k} = {v}" for k, v in amendment.set_.items()]
            + [f"{k} x {v:g}" for k, v in amendment.scale.items()]
        )
        text = f"Amendment from month {amendment.month}: {amendment.note or ''} ({changes})"
        out.append((Text(text, style="dim"), False))
    return out


def compare_printout(result: Comparison, summary: pd.DataFrame) -> list[tuple[Any, bool]]:
    """Per case, the variants side by side and the verdicts in words (for each provider,
    the investor and each payer); an empty line after each case."""
    first = result.runs[0]
    currency = first.currency
    if result.portfolio is not None:
        contracts = result.portfolio.contracts
        measures = portfolio_metrics(result)
        providers = [(f"{c.name} provider", f"{c.name}.provider_surplus") for c in contracts]
        payers = shared_labels(first)
        titles: dict[str, str] | None = None
        heading = None
    else:
        stage_names = [s.name for s in first.inputs.stages]
        payers = comparison_payer_labels(result)
        measures = [m for m in metrics(stage_names, payers) if m.name in summary.columns]
        providers = [("provider", "provider_surplus")]
        titles = {label: result.title_of(label) for label in result.labels}
        heading = result.title
    out: list[tuple[Any, bool]] = []
    for case in result.case_names:
        table = compare_table(summary, case, result.labels, measures, currency, titles, heading)
        out.append((table, True))
        lines = verdicts(summary, case, result.labels, payers, currency, providers)
        out += [(line, False) for line in lines]
        out.append(("", False))
    return out
