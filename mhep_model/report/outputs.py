"""The optional outputs of each command: ``results.xlsx`` and PNG charts.

Thin builders over :mod:`mhep_model.report.excel` and :mod:`mhep_model.report.charts`, so
that the commands stay short; charts import matplotlib only when called.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mhep_model.report.compare import (
    comparison_monthly,
    comparison_payer_labels,
    comparison_summary,
    metrics,
)
from mhep_model.report.frames import run_monthly
from mhep_model.report.prose import amendment_rows
from mhep_model.report.tables import payer_labels
from mhep_model.studies.compare import Comparison
from mhep_model.studies.run import RunOutput
from mhep_model.studies.sweep import Sweep

if TYPE_CHECKING:
    from mhep_model.report.excel import Sheet
    from mhep_model.studies.stress import StressResult

WORKBOOK = "results.xlsx"


def _measures(
    stage_names: Sequence[str], base: Any, labels: dict[str, str] | None = None
) -> list[tuple[str, str, str]]:
    payers = labels if labels is not None else payer_labels(base)
    out = [("Referrals (people)", "referrals", "people")]
    out += [(m.label.strip(), m.name, m.unit) for m in metrics(stage_names, payers)]
    out += [
        ("Unfunded outcomes", "unfunded", "money"),
        ("Unsettled after the horizon", "unsettled", "money"),
        ("Provider closing reserves", "provider_closing_reserves", "money"),
    ]
    return out


def _amendments_frame(resolved: Any) -> pd.DataFrame:
    """A row per amended value (a mapping set whole is one row per leaf, never dict text)."""
    rows = []
    for m, d, n, p, how, v in amendment_rows(resolved) if resolved is not None else []:
        for path, value in _leaves(p, v):
            rows.append((m, d, n, path, how, value if not isinstance(value, list) else str(value)))
    return pd.DataFrame(rows, columns=["month", "date", "note", "path", "change", "value"])


def _leaves(path: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(f"{path}.{k}", v)]
    return [(path, value)]


def _assumption_sheets(resolved: Sequence[Any], labels: Sequence[str | None]) -> list[Sheet]:
    from mhep_model.report.excel import Sheet, assumptions_frame

    scenarios = []
    for r, label in zip(resolved, labels, strict=True):
        for case in r.cases:
            name = f"{label} / {case.name}" if label else case.name
            scenarios.append((name, case.scenario))
    assumptions = assumptions_frame(scenarios)
    kinds = {c: ("text" if c == "path" else "number") for c in assumptions.columns}
    frames = []
    for r, label in zip(resolved, labels, strict=True):
        frame = _amendments_frame(r)
        if label is not None:
            frame.insert(0, "variant", label)
        frames.append(frame)
    # every variant's amendments (a batch variant's own, or its base's it keeps)
    amendments = pd.concat(frames, ignore_index=True) if frames else _amendments_frame(None)
    return [
        Sheet("Assumptions", assumptions, kinds),
        Sheet("Amendments", amendments, {"month": "int", "variant": "text"}),
    ]


def run_workbook(result: RunOutput, frames: Mapping[str, pd.DataFrame], out_dir: Path) -> Path:
    """The model workbook of a run (:mod:`mhep_model.report.workbook`): Cover, Inputs,
    Amendments, Timeline, a Calc sheet per case with live formulas, Outputs, Checks (a
    portfolio's: an SPV sheet per case and its contracts' months; ``frames``: the CSVs)."""
    from mhep_model.report.workbook import write_run_workbook

    return write_run_workbook(out_dir / WORKBOOK, result, frames)


def compare_workbook(result: Comparison, comparison: pd.DataFrame, out_dir: Path) -> Path:
    """Summary (KPIs by variant and case), Comparison (tidy), Monthly, Assumptions."""
    from mhep_model.report.excel import Sheet, column_kinds, write_workbook

    first = result.runs[0]
    base = first.scenario.base
    stages = [s.name for s in first.inputs.stages]
    monthly = comparison_monthly(result)
    resolved = [r for run in result.runs for r in run.resolved]
    sheets = [
        Sheet(
            "Comparison",
            comparison,
            column_kinds(list(comparison.columns), stages),
            row_kinds=("metric", ("value", "delta"), tuple(stages)),
        ),
        Sheet("Monthly", monthly, column_kinds(list(monthly.columns), stages)),
        *_assumption_sheets(resolved, list(result.labels)),
    ]
    measures = _measures(stages, base, comparison_payer_labels(result))
    kpis = (comparison_summary(result), measures, ["variant", "case"])
    about = result.manifest() | {"name": base.name}
    return write_workbook(out_dir / WORKBOOK, sheets, base.contract.currency, kpis, about)


def sweep_workbook(result: Sweep, frame: pd.DataFrame, out_dir: Path) -> Path:
    """Sweep (a row per grid point and case), Assumptions of the base."""
    from mhep_model.report.excel import Sheet, column_kinds, write_workbook

    info = result.run.info
    sheets = [Sheet("Sweep", frame, column_kinds(list(frame.columns), info.stages))]
    sheets += _model_assumptions(result.run.first)
    about = result.manifest() | {"name": info.name}
    return write_workbook(out_dir / WORKBOOK, sheets, info.currency, about=about)


def _model_assumptions(model: Any) -> list[Sheet]:
    """A portfolio's terms and its contracts' inputs, or a scenario's (with amendments)."""
    from mhep_model.report.excel import Sheet, portfolio_assumptions
    from mhep_model.scenario.portfolio import Portfolio

    if isinstance(model, Portfolio):
        return [Sheet("Assumptions", portfolio_assumptions(model), {"path": "text"})]
    return _assumption_sheets([model], [None])


def stress_workbook(result: StressResult, out_dir: Path) -> Path:
    """Risks (each beside its Monte Carlo error), Percentiles (P5..P95 by case and
    metric), Stress summary (tidy), Assumptions."""
    from mhep_model.report.excel import Sheet, write_workbook
    from mhep_model.report.stress import stress_stats_frame

    stages = result.stage_names
    stats = stress_stats_frame(result)
    pct = stats[stats["statistic"].str.fullmatch(r"p\d+")]
    wide = pct.pivot_table(
        index=["case", "metric"], columns="statistic", values="value", sort=False
    )
    wide = wide[[f"p{p}" for p in (5, 25, 50, 75, 95)]].reset_index()
    kinds = {c: "text" for c in ("case", "metric")}
    risks = stats[stats["statistic"] == "probability"].pivot_table(
        index="metric", columns="case", values="value", sort=False
    )
    errors = stats[stats["statistic"] == "standard_error"].pivot_table(
        index="metric", columns="case", values="value", sort=False
    )
    risks = risks[list(result.case_names)]
    for case in result.case_names:  # each probability beside its Monte Carlo error
        risks[f"{case} standard error"] = errors[case]
    risks = risks.reset_index()
    sheets = [
        Sheet("Risks", risks, {"metric": "text", **{c: "percent" for c in risks.columns[1:]}}),
        Sheet(
            "Percentiles",
            wide,
            kinds,
            row_kinds=("metric", tuple(f"p{p}" for p in (5, 25, 50, 75, 95)), stages),
        ),
        Sheet(
            "Stress summary",
            stats,
            {"case": "text", "metric": "text", "statistic": "text", "seed": "int"},
            row_kinds=("metric", ("value",), stages),
        ),
        *_model_assumptions(result.model),
    ]
    about = result.manifest() | {"name": result.name}
    return write_workbook(out_dir / WORKBOOK, sheets, result.currency, about=about)


def run_pngs(
    result: RunOutput | Comparison, out_dir: Path, frames: Mapping[str, pd.DataFrame] = {}
) -> list[Path]:
    """A scenario's (or the compared variants') monthly charts; a portfolio's SPV and
    investor and its providers' reserves (from ``frames``, the run's CSVs)."""
    from mhep_model.report.charts import run_charts

    if isinstance(result, RunOutput) and result.portfolio is not None:
        return _portfolio_pngs(result, frames, out_dir)
    runs = result.runs if isinstance(result, Comparison) else [result]
    first = runs[0]
    base = first.scenario.base
    stages = [s.name for s in first.inputs.stages]
    currency = base.contract.currency
    if isinstance(result, Comparison):
        from mhep_model.report.compare_charts import compare_charts

        # titled by what is compared (the batch's name), variants by their display names
        names = {label: result.title_of(label) for label in result.labels}
        monthly = comparison_monthly(result)
        return compare_charts(monthly, stages, currency, result.heading, names, out_dir)
    return run_charts(run_monthly(result), stages, currency, base.name, out_dir)


def stress_pngs(result: StressResult, out_dir: Path) -> list[Path]:
    """A contract's provider: reserve fans and a surplus histogram; the investor: its
    multiple and IRR, and its net return, over paths; the SPV's cash fan when kept."""
    from mhep_model.report.charts import stress_charts
    from mhep_model.report.stress_charts import (
        investor_charts,
        investor_net_return_chart,
        spv_cash_fan,
    )

    cases, name = result.case_names, result.name
    start, currency = result.start, result.currency
    reserves = {c: v for c in cases if (v := result.reserves(c)) is not None}
    cash = {c: v for c in cases if (v := result.spv_cash(c)) is not None}
    kept = min((v.shape[0] for v in (reserves | cash).values()), default=result.paths)
    # the fans are the percentiles of each case's first paths (issue 15: bounded memory)
    first = kept if kept < result.paths else None
    per_path, p = result.per_path, {c: result.probabilities(c) for c in cases}
    written = []
    if result.portfolio is None:
        surplus = {c: per_path[c]["provider_surplus"] for c in cases}
        insolvent = {c: p[c]["provider_insolvent"] for c in cases}
        written += stress_charts(
            reserves, surplus, insolvent, start, currency, name, out_dir, first
        )
    multiple = {c: per_path[c]["investor_multiple"] for c in cases}
    irr = {c: per_path[c]["investor_irr"] for c in cases}
    loss = {c: p[c]["investor_loses_money"] for c in cases}
    written.append(investor_charts(multiple, irr, loss, name, out_dir))
    if cash:
        gap = {c: p[c]["spv_funding_gap"] for c in cases}
        written.append(spv_cash_fan(cash, gap, start, currency, name, out_dir, first))
    net = {c: per_path[c]["investor_received"] - per_path[c]["investor_drawn"] for c in cases}
    written.append(investor_net_return_chart(net, loss, currency, name, out_dir))
    return written


def sweep_pngs(
    result: Sweep, frame: pd.DataFrame, metrics_: Sequence[str], out_dir: Path
) -> list[Path]:
    from mhep_model.report.charts import sweep_chart

    info = result.run.info
    written = []
    for metric in metrics_:
        written += sweep_chart(
            frame, result.frame_params, metric, info.currency, info.name, out_dir
        )
    return written


def variance_pngs(result: RunOutput, out_dir: Path) -> list[Path]:
    """The recorded series, cumulated, against each case's projection and re-forecast."""
    from mhep_model.report.frames import monthly_frame
    from mhep_model.report.variance import variance_charts

    assert result.projection is not None  # variance rows come with their projection
    projected = monthly_frame(result.projection, result.rows)
    base = result.scenario.base
    rec = result.scenario.cases[0].recorded
    assert rec is not None  # variance rows come from recorded cases
    actual = {}
    for measure in rec.measures:
        if measure == "referrals" and rec.referrals is not None:
            actual[measure] = rec.referrals
        elif measure == "income" and rec.income is not None:
            actual[measure] = rec.income
        elif measure in rec.stages:
            actual[measure] = rec.stages[measure].sum(axis=0)
    return variance_charts(
        run_monthly(result), projected, actual, rec.k, base.contract.currency, base.name, out_dir
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)[:40] or "case"


def _portfolio_pngs(
    run: RunOutput, frames: Mapping[str, pd.DataFrame], out_dir: Path
) -> list[Path]:
    """Per case: SPV cash and investor exposure over each contract's stacked net
    contribution; every provider's reserves (portfolio months)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mhep_model.report.charts import (
        PALETTE,
        SIZE,
        dates_of,
        legend_label,
        money_axis,
        save_png,
        style,
    )

    style()
    currency = run.currency
    monthly = frames["portfolio_monthly.csv"]
    contracts = frames["contracts_monthly.csv"]
    names = [c.name for c in run.pf.contracts]
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
        top.set_title(f"{run.pf.name}, {case}: SPV cash and each contract's net contribution")
        top.set_ylabel(f"[{currency}] (cumulative)")
        top.legend(loc="upper left", fontsize=10, ncol=min(len(names) + 1, 4))
        exposure = (-own["investor_cashflow"]).cumsum()
        bottom.plot(dates, exposure, color=PALETTE[3], linewidth=2)
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
        ax.set_title(f"{run.pf.name}, {case}: each provider's reserves")
        ax.set_ylabel(f"Provider reserves [{currency}]")
        ax.set_xlabel("Month")
        money_axis(ax, currency)
        ax.legend(loc="best", fontsize=10)
        fig.tight_layout()
        written.append(save_png(fig, out_dir / f"provider_reserves_{i + 1}_{_slug(case)}.png"))
    return written
