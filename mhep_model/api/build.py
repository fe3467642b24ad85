"""Computed studies to API results: the tables the CLI writes, and their workbook and
charts (each study's writers from :mod:`mhep_model.report`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mhep_model.api.results import (
    BacktestResult,
    CompareResult,
    RunResult,
    SensitivityResult,
    SolveResult,
    StressResult,
    SweepResult,
)
from mhep_model.errors import UsageError
from mhep_model.scenario import Resolved
from mhep_model.scenario.portfolio import Portfolio
from mhep_model.studies.compare import Comparison
from mhep_model.studies.run import RunOutput
from mhep_model.studies.solve import Solution
from mhep_model.studies.stress import StressResult as StressStudy
from mhep_model.studies.sweep import Sweep


def run_result(result: RunOutput) -> RunResult:
    """A scenario's ``summary.csv`` and ``monthly.csv`` (and ``variance.csv``), or a
    portfolio's own and its contracts' (spec section 12), with its workbook and charts."""
    from mhep_model.report import outputs
    from mhep_model.report.frames import run_frames

    frames = run_frames(result)

    def extras(folder: Path, xlsx: bool, charts: bool) -> list[Path]:
        written = [outputs.run_workbook(result, frames, folder)] if xlsx else []
        if charts:
            written += outputs.run_pngs(result, folder, frames)
            if result.variance:
                written += outputs.variance_pngs(result, folder)
        return written

    return RunResult(frames, result.manifest(), result, extras)


def compare_result(result: Comparison) -> CompareResult:
    """``comparison.csv`` and each variant's CSVs (a scenario's ``summary.csv`` and
    ``monthly.csv``; a portfolio's own summary and its contracts'), workbook and charts."""
    if result.portfolio is not None:
        return _portfolio_compare_result(result)
    from mhep_model.report import outputs
    from mhep_model.report.compare import comparison_frame, comparison_monthly, comparison_summary

    summary = comparison_summary(result)
    monthly = comparison_monthly(result)
    comparison = comparison_frame(summary, result.labels[0])
    frames = {"comparison.csv": comparison}
    for label in result.labels:
        frames[f"{label}/summary.csv"] = summary[summary["variant"] == label].drop(
            columns="variant"
        )
        frames[f"{label}/monthly.csv"] = monthly[monthly["variant"] == label].drop(
            columns="variant"
        )

    def extras(folder: Path, xlsx: bool, charts: bool) -> list[Path]:
        written = [outputs.compare_workbook(result, comparison, folder)] if xlsx else []
        return written + (outputs.run_pngs(result, folder) if charts else [])

    return CompareResult(frames, result.manifest(), result, extras, table=summary)


def _portfolio_compare_result(result: Comparison) -> CompareResult:
    from mhep_model.report.compare import comparison_frame, comparison_summary
    from mhep_model.report.frames import contracts_summary_frame, portfolio_summary_frame

    summary = comparison_summary(result)
    (run,) = result.runs
    portfolio_rows = portfolio_summary_frame(run.model_results, run.cases)
    contract_rows = contracts_summary_frame(run.model_results, run.cases)
    frames = {"comparison.csv": comparison_frame(summary, result.labels[0])}
    n_contracts = len(run.pf.contracts)
    for label in result.labels:
        mine = [i for i, lab in enumerate(run.labels) if lab == label]
        contract_index = [i * n_contracts + k for i in mine for k in range(n_contracts)]
        frames[f"{label}/portfolio_summary.csv"] = portfolio_rows.iloc[mine]
        frames[f"{label}/contracts_summary.csv"] = contract_rows.iloc[contract_index]
    return CompareResult(frames, result.manifest(), result, None, table=summary)


def _check_sweep_metrics(frame: pd.DataFrame, taken: Sequence[str], chosen: Sequence[str]) -> None:
    unknown = [m for m in chosen if m not in frame.columns or m in taken]
    if unknown:
        columns = [c for c in frame.columns if c not in taken]
        raise UsageError(f"no metric named {', '.join(unknown)}; choose from {', '.join(columns)}")


def sweep_result(result: Sweep, metrics: Sequence[str] | None, through: bool) -> SweepResult:
    from mhep_model.report import outputs
    from mhep_model.report.sweep import sweep_frame
    from mhep_model.studies.overrides import override_warnings

    frame = sweep_frame(result)
    first = result.run.first
    default = "investor_multiple" if isinstance(first, Portfolio) else "provider_surplus"
    chosen = tuple(metrics or [default])
    _check_sweep_metrics(frame, ("case", *result.frame_params), chosen)

    def extras(folder: Path, xlsx: bool, charts: bool) -> list[Path]:
        written = [outputs.sweep_workbook(result, frame, folder)] if xlsx else []
        return written + (outputs.sweep_pngs(result, frame, chosen, folder) if charts else [])

    notes = (
        tuple(override_warnings(first, result.frame_params, "the swept values apply"))
        if isinstance(first, Resolved) and not through
        else ()
    )
    return SweepResult(
        {"sweep.csv": frame}, result.manifest(), result, extras, metrics=chosen, notes=notes
    )


def stress_result(result: StressStudy, keep_paths: bool) -> StressResult:
    from mhep_model.report import outputs
    from mhep_model.report.stress import stress_paths_frame, stress_stats_frame

    frames = {"stress_summary.csv": stress_stats_frame(result)}
    if keep_paths:
        frames["paths.csv"] = stress_paths_frame(result)

    def extras(folder: Path, xlsx: bool, charts: bool) -> list[Path]:
        written = [outputs.stress_workbook(result, folder)] if xlsx else []
        return written + (outputs.stress_pngs(result, folder) if charts else [])

    return StressResult(frames, result.manifest(), result, extras)


def solve_result(solution: Solution) -> SolveResult:
    roots = solution.roots
    frame = pd.DataFrame(
        {
            "case": list(solution.cases),
            "path": solution.path,
            "metric": solution.metric,
            "target": solution.target,
            "value": roots.value,
            "found": roots.found,
            "lo": solution.lo,
            "hi": solution.hi,
            "metric_at_lo": roots.at_lo,
            "metric_at_hi": roots.at_hi,
            "direction": [solution.direction(i) for i in range(len(solution.cases))],
        }
    )
    frame["value"] = np.where(frame["found"], frame["value"], np.nan)
    return SolveResult(frame, solution.notes, solution)


def sensitivity_result(
    study: Any, method: str, chosen: Sequence[str], with_amendments: bool
) -> SensitivityResult:
    from mhep_model.report.excel import Sheet, write_workbook
    from mhep_model.report.sensitivity import (
        sensitivity_frame,
        sobol_chart,
        sobol_frame,
        tornado_chart,
    )

    info = study.info
    if method == "sobol":
        frame = sobol_frame(study, chosen)
        name, title = "sobol.csv", "Sobol"
        kinds = {c: "text" for c in ("case", "metric", "path", "amendments")}
        kinds |= {"rank": "int", "samples": "int"}
    else:
        frame = sensitivity_frame(study, chosen)
        name, title = "sensitivity.csv", "Sensitivity"
        kinds = {c: "text" for c in ("case", "metric", "path", "source", "amendments")}
        kinds |= {"rank": "int"}

    def extras(folder: Path, xlsx: bool, charts: bool) -> list[Path]:
        written = []
        if xlsx:
            sheet = Sheet(title, frame, kinds)
            about = study.manifest() | {"name": info.name}
            written.append(
                write_workbook(folder / "results.xlsx", [sheet], info.currency, None, about)
            )
        if charts and method == "sobol":
            written += [sobol_chart(frame, m, info.name, folder) for m in chosen]
        elif charts:
            written += [
                tornado_chart(frame, m, info.stages, info.currency, info.name, folder)
                for m in chosen
            ]
        return written

    held = {} if with_amendments else {p: study.notes[p] for p in study.held}
    return SensitivityResult(
        {name: frame}, study.manifest(), study, extras, metrics=tuple(chosen), notes=held
    )


def _recorded(result: RunOutput, payments: Path | None) -> Any:
    """The payments file, else the ``income`` column of the scenario's actuals."""
    from mhep_model.scenario.payments import from_actuals, read_payments

    if payments is not None:
        return read_payments(payments)
    table = None if result.portfolio is not None else result.scenario.actuals
    recorded = from_actuals(table) if table is not None else None
    if recorded is None:
        raise UsageError(
            "nothing recorded to test against: give --payments FILE (quarter,income rows) or "
            "actuals with an income column (the scenario's actuals.file or --actuals)"
        )
    return recorded


def backtest_result(result: RunOutput, payments: Path | None) -> BacktestResult:
    """One case's income by calendar quarter against recorded payments (a payments file,
    else the actuals' ``income``): ``backtest.csv``, ``backtest_summary.csv``; the chart
    with ``charts``."""
    from mhep_model.report.backtest import backtest_chart
    from mhep_model.report.frames import run_frames
    from mhep_model.studies.backtest import backtest
    from mhep_model.studies.run import sha256_of

    recorded = _recorded(result, payments)
    frames = run_frames(result)
    portfolio = result.portfolio is not None
    monthly = frames["portfolio_monthly.csv" if portfolio else "monthly.csv"]
    case = result.cases[0]
    mine = monthly[monthly["case"] == case]
    outcomes = None
    dates = list(mine["date"])
    term = (dates[0], dates[-1])  # a portfolio: its horizon
    if not portfolio:
        base = result.scenario.base
        stages = [o.stage for o in base.outcomes.values()]
        outcomes = float(sum(mine[s].sum() for s in stages))
        term = (dates[0], dates[min(base.contract.term_months, len(dates)) - 1])
    done = backtest(case, mine["date"], mine["income"], term, outcomes, recorded)
    manifest = result.manifest("backtest")
    manifest["payments"] = recorded.file
    manifest["payments_sha256"] = sha256_of(recorded.file)
    title = result.pf.name if portfolio else result.scenario.base.name

    def extras(folder: Path, xlsx: bool, charts: bool) -> list[Path]:
        if not charts:
            return []
        return backtest_chart(done.quarters, recorded.total, result.currency, title, folder)

    tables = {"backtest.csv": done.quarters, "backtest_summary.csv": done.summary}
    return BacktestResult(tables, manifest, result, extras)


ROW_KINDS_PAIRED = ("metric", ("mean_difference", "p5", "p95", "standard_error"), ())
"""The paired table's money columns take the unit of the row's metric."""


def batch_stress_result(batch: Any, keep_paths: bool) -> StressResult:
    """A stressed batch: ``stress_summary.csv`` (a ``variant`` column first) and
    ``stress_paired.csv`` (each variant against the first, path by path); ``--charts``
    draws the paired differences, ``--xlsx`` writes both tables."""
    from mhep_model.report.excel import Sheet, write_workbook
    from mhep_model.report.stress_batch import (
        batch_paths_frame,
        batch_summary_frame,
        paired_charts,
        paired_frame,
    )

    frames = {
        "stress_summary.csv": batch_summary_frame(batch),
        "stress_paired.csv": paired_frame(batch),
    }
    if keep_paths:
        frames["paths.csv"] = batch_paths_frame(batch)

    def extras(folder: Path, xlsx: bool, charts: bool) -> list[Path]:
        written = []
        if xlsx:
            paired = Sheet(
                "Paired",
                frames["stress_paired.csv"],
                {"p_better": "percent"},
                row_kinds=ROW_KINDS_PAIRED,
            )
            summary = Sheet("Stress summary", frames["stress_summary.csv"])
            currency = batch.first.currency
            about = batch.manifest()
            book = folder / "results.xlsx"
            written.append(write_workbook(book, [paired, summary], currency, None, about))
        return written + (paired_charts(batch, folder) if charts else [])

    return StressResult(frames, batch.manifest(), batch, extras)
