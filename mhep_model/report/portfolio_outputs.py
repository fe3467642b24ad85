"""A portfolio's optional outputs: ``results.xlsx`` and PNG charts.

Workbook: Portfolio (KPIs by case), Portfolio monthly, Contracts (a row per case and
contract), one sheet per contract (its months), Assumptions (the portfolio's terms and
every contract's inputs). Charts, per case: the SPV's cash and the investor's exposure with
each contract's net contribution stacked; each provider's reserves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from mhep_model.studies.portfolio import PortfolioRun

WORKBOOK = "results.xlsx"


def _currency(run: PortfolioRun) -> str:
    return run.first.contracts[0].resolved.base.contract.currency


def portfolio_workbook(
    run: PortfolioRun, frames: Mapping[str, pd.DataFrame], out_dir: Path
) -> Path:
    """``results.xlsx`` of a portfolio run: the model workbook of
    :mod:`mhep_model.report.portfolio_workbook`."""
    from mhep_model.report.portfolio_workbook import write_portfolio_workbook

    return write_portfolio_workbook(run, frames, out_dir / WORKBOOK)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)[:40] or "case"


def portfolio_pngs(
    run: PortfolioRun, frames: Mapping[str, pd.DataFrame], out_dir: Path
) -> list[Path]:
    """Per case: SPV cash and investor exposure over each contract's stacked net
    contribution; every provider's reserves (portfolio months)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mhep_model.report.charts import SIZE, dates_of, legend_label, money_axis, save_png, style

    style()
    currency = _currency(run)
    monthly = frames["portfolio_monthly.csv"]
    contracts = frames["contracts_monthly.csv"]
    names = [c.name for c in run.first.contracts]
    written = []
    for i, case in enumerate(dict.fromkeys(run.cases)):
        own = monthly[monthly["case"] == case]
        dates = dates_of(own)
        fig, (top, bottom) = plt.subplots(2, 1, figsize=SIZE, sharex=True)
        net = []
        for name in names:
            rows = contracts[(contracts["case"] == case) & (contracts["contract"] == name)]
            flow = (
                rows["income"]
                - rows["block"]
                - rows["provider_outcome_payments"]
                - rows["advance"]
                + rows["advance_repaid"]
            )
            series = pd.Series(flow.to_numpy(), index=rows["month"].to_numpy())
            net.append(series.reindex(own["month"].to_numpy(), fill_value=0.0).cumsum().to_numpy())
        stacked = np.array(net)
        positive, negative = np.clip(stacked, 0, None), np.clip(stacked, None, 0)
        labels = [legend_label(n) for n in names]
        top.stackplot(dates, positive, labels=labels, alpha=0.6)
        top.set_prop_cycle(None)
        top.stackplot(dates, negative, alpha=0.6)
        top.plot(dates, own["spv_cash"], color="black", linewidth=2, label="SPV cash")
        top.set_title(f"{run.first.name}, {case}: SPV cash and each contract's net contribution")
        top.set_ylabel(f"[{currency}] (cumulative)")
        top.legend(loc="upper left", fontsize=10, ncol=min(len(names) + 1, 4))
        exposure = (-own["investor_cashflow"]).cumsum()
        bottom.plot(dates, exposure, color="tab:red", linewidth=2)
        bottom.set_ylabel(f"Investor exposure [{currency}]\n(drawn less received)")
        bottom.set_xlabel("Month")
        for ax in (top, bottom):
            money_axis(ax, currency)
            ax.axhline(0, color="black", linewidth=0.8)
        fig.tight_layout()
        written.append(save_png(fig, out_dir / f"spv_and_investor_{i + 1}_{_slug(case)}.png"))

        fig, ax = plt.subplots(figsize=SIZE)
        for name in names:
            rows = contracts[(contracts["case"] == case) & (contracts["contract"] == name)]
            ax.plot(
                dates_of(rows), rows["provider_reserves"], label=legend_label(name), linewidth=2
            )
        ax.axhline(0, color="red", linewidth=1.5, linestyle="--", label="zero: insolvent below")
        ax.set_title(f"{run.first.name}, {case}: each provider's reserves")
        ax.set_ylabel(f"Provider reserves [{currency}]")
        ax.set_xlabel("Month")
        money_axis(ax, currency)
        ax.legend(loc="best", fontsize=10)
        fig.tight_layout()
        written.append(save_png(fig, out_dir / f"provider_reserves_{i + 1}_{_slug(case)}.png"))
    return written
