"""Portfolios side by side: the portfolio's and each contract's measures, coloured for
the party concerned, and who gains and who loses."""

from __future__ import annotations

import pandas as pd
from rich.text import Text

from mhep_model.metrics import PORTFOLIO_KPIS, Metric, compared, metric
from mhep_model.report.compare import num, verdict_part
from mhep_model.report.portfolio import shared_labels
from mhep_model.studies.compare import PortfolioComparison
from mhep_model.studies.portfolio import metric_values


def portfolio_comparison_summary(result: PortfolioComparison) -> pd.DataFrame:
    """One row per variant and case: the portfolio's metrics, then ``<contract>.<metric>``."""
    run = result.run
    data: dict[str, object] = {"variant": list(run.labels), "case": list(run.cases)}
    data |= metric_values(run)
    return pd.DataFrame(data)


CONTRACT_COMPARED = ["provider_surplus", "provider_min_reserves", "provider_insolvent_month"]
"""Each contract's measures compared, as ``<contract>.<metric>``."""


def portfolio_metrics(result: PortfolioComparison) -> list[Metric]:
    """The measures compared, each with its party's point of view (:mod:`mhep_model.metrics`)."""
    labels = shared_labels(result.run)
    names = ["income", *(f"paid_{k}" for k in labels), *compared(PORTFOLIO_KPIS)]
    names += [f"{c.name}.{m}" for c in result.run.first.contracts for m in CONTRACT_COMPARED]
    return [metric(n, payer_labels=labels) for n in names]


def portfolio_verdicts(
    summary: pd.DataFrame, case: str, result: PortfolioComparison, currency: str
) -> list[Text]:
    """Who gains and who loses, per variant against the first: the investor, each
    provider, each shared payer."""
    rows = summary[summary["case"] == case].set_index("variant")
    labels = result.labels
    first = labels[0]

    def value(label: str, column: str) -> float:
        return num(rows.at[label, column])

    lines = []
    for label in labels[1:]:
        parts = [
            verdict_part(
                "investor",
                value(first, "investor_received") - value(first, "investor_drawn"),
                value(label, "investor_received") - value(label, "investor_drawn"),
                +1,
                "net return",
                currency,
            )
        ]
        for c in result.run.first.contracts:
            col = f"{c.name}.provider_surplus"
            parts.append(
                verdict_part(
                    f"{c.name} provider",
                    value(first, col),
                    value(label, col),
                    +1,
                    "surplus",
                    currency,
                )
            )
        for k, name in shared_labels(result.run).items():
            col = f"paid_{k}"
            parts.append(
                verdict_part(name, value(first, col), value(label, col), -1, "pays", currency)
            )
        text = Text(f"{case}, {label} vs {first}: ", style="bold")
        for i, (part, style) in enumerate(parts):
            text.append(("; " if i else "") + part, style=style)
        lines.append(text)
    return lines
