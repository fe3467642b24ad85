"""Portfolios side by side: the portfolio's and each contract's measures, coloured for
the party concerned, and who gains and who loses."""

from __future__ import annotations

import pandas as pd
from rich.text import Text

from mhep_model.report.compare import Metric, num, verdict_part
from mhep_model.report.portfolio import shared_labels
from mhep_model.studies.portfolio_compare import PortfolioComparison
from mhep_model.studies.portfolio_sweep import metric_values


def portfolio_comparison_summary(result: PortfolioComparison) -> pd.DataFrame:
    """One row per variant and case: the portfolio's metrics, then ``<contract>.<metric>``."""
    run = result.run
    data: dict[str, object] = {"variant": list(run.labels), "case": list(run.cases)}
    data |= metric_values(run)
    return pd.DataFrame(data)


def portfolio_metrics(result: PortfolioComparison) -> list[Metric]:
    """The measures compared, each with its party's point of view."""
    labels = shared_labels(result.run)
    out = [Metric("Income to the SPV", "income", "money", "SPV", +1)]
    out += [
        Metric(f"  paid by {name}", f"paid_{k}", "money", name, -1) for k, name in labels.items()
    ]
    out += [
        Metric("Invoiced above payer caps", "capped", "money", "SPV", -1),
        Metric("Self-funded by the SPV", "self_funded", "money", "SPV", -1),
        Metric("Investor drawn", "investor_drawn", "money", "investor", 0),
        Metric("Investor received", "investor_received", "money", "investor", +1),
        Metric("Investor money multiple", "investor_multiple", "multiple", "investor", +1),
        Metric("Investor IRR (a year)", "investor_irr", "percent", "investor", +1),
        Metric("Loan loss", "loan_loss", "money", "investor", -1),
        Metric("Largest SPV funding gap", "max_funding_gap", "money", "SPV", -1),
        Metric("Providers below zero reserves", "providers_insolvent", "people", "providers", -1),
    ]
    for c in result.run.first.contracts:
        party = f"{c.name} provider"
        out += [
            Metric(f"{c.name}: provider surplus", f"{c.name}.provider_surplus", "money", party, +1),
            Metric(
                f"{c.name}: provider minimum reserves",
                f"{c.name}.provider_min_reserves",
                "money",
                party,
                +1,
            ),
            Metric(
                f"{c.name}: provider insolvent from month",
                f"{c.name}.provider_insolvent_month",
                "month",
                party,
                +1,
            ),
        ]
    return out


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
