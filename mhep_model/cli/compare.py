"""mhep-model compare and sweep: variants side by side, and grids of input values."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mhep_model.cli.common import (
    EXIT_BAD_INPUT,
    ActualsOption,
    CaseOption,
    ChartsOption,
    QuietOption,
    SetOption,
    ThroughOption,
    XlsxOption,
    app,
    console_out,
    err_console,
    fail,
    preload,
    print_wide,
    refuse_portfolio_actuals,
    write_set,
)
from mhep_model.errors import MhepError, UsageError

if TYPE_CHECKING:
    from mhep_model.studies.sweep import Param


@app.command()
def compare(
    scenarios: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="Two or more scenario files, or one batch file (base + variants).",
            show_default=False,
        ),
    ],
    case: CaseOption = None,
    set_: SetOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder. Default: out/compare-<first file stem>/."),
    ] = None,
    xlsx: XlsxOption = False,
    charts: ChartsOption = False,
    quiet: QuietOption = False,
    actuals: ActualsOption = None,
) -> None:
    """Run scenarios (or a batch file's variants) side by side, case by case: a column per
    variant, its change against the first, and who gains and who loses. Writes
    comparison.csv (tidy: variant, case, metric, value, delta) and each variant's
    summary.csv and monthly.csv in a folder of its own."""
    from mhep_model.report import outputs
    from mhep_model.report.compare import (
        compare_table,
        comparison_frame,
        comparison_monthly,
        comparison_payer_labels,
        comparison_summary,
        metrics,
        verdicts,
    )
    from mhep_model.report.writers import write_outputs
    from mhep_model.scenario import parse_set
    from mhep_model.studies.compare import compare as run_compare
    from mhep_model.studies.compare import safe_label
    from mhep_model.studies.portfolio_compare import involves_portfolio

    out_dir = out if out is not None else Path("out") / f"compare-{safe_label(scenarios[0].stem)}"
    try:
        sets = [parse_set(s) for s in set_ or []]
        if involves_portfolio(scenarios):
            refuse_portfolio_actuals(actuals, scenarios[0])
            _compare_portfolios(scenarios, case, sets, out_dir, quiet)
            return
        result = run_compare(scenarios, sets=sets, cases=case or None, actuals=actuals)
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    summary = comparison_summary(result)
    monthly = comparison_monthly(result)
    comparison = comparison_frame(summary, result.labels[0])

    def write(folder: Path) -> list[Path]:
        written = write_outputs(folder, {"comparison.csv": comparison}, result.manifest())
        for label in result.labels:
            frames = {
                "summary.csv": summary[summary["variant"] == label].drop(columns="variant"),
                "monthly.csv": monthly[monthly["variant"] == label].drop(columns="variant"),
            }
            written += write_outputs(folder / label, frames, result.manifest())
        if xlsx:
            written.append(outputs.compare_workbook(result, comparison, folder))
        if charts:
            written += outputs.run_pngs(result, folder)
        return written

    written = write_set(out_dir, write)
    if quiet:
        return
    base = result.runs[0].first.base
    console = console_out()
    stage_names = [s.name for s in result.runs[0].inputs.stages]
    labels = comparison_payer_labels(result)
    measures = metrics(stage_names, labels)
    measures = [m for m in measures if m.column in summary.columns]
    currency = base.contract.currency
    titles = {label: result.title_of(label) for label in result.labels}
    for case_name in result.case_names:
        table = compare_table(
            summary, case_name, result.labels, measures, currency, titles, result.title
        )
        print_wide(console, table)
        for line in verdicts(summary, case_name, result.labels, labels, currency):
            console.print(line)
        console.print()
    console.print(f"Wrote {len(written)} files in {out_dir}/, comparison.csv first", markup=False)


def _compare_portfolios(
    paths: list[Path],
    case: list[str] | None,
    sets: list[tuple[str, Any]],
    out_dir: Path,
    quiet: bool,
) -> None:
    """Portfolios side by side; raises MhepError for bad input (nothing written)."""
    from mhep_model.report.compare import compare_table, comparison_frame
    from mhep_model.report.portfolio import contracts_summary_frame, portfolio_summary_frame
    from mhep_model.report.portfolio_compare import (
        portfolio_comparison_summary,
        portfolio_metrics,
        portfolio_verdicts,
    )
    from mhep_model.report.writers import write_outputs
    from mhep_model.studies.portfolio_compare import compare_portfolios

    result = compare_portfolios(paths, sets=sets, cases=case or None)
    summary = portfolio_comparison_summary(result)
    comparison = comparison_frame(summary, result.labels[0])
    run = result.run
    portfolio_rows = portfolio_summary_frame(run.results, run.cases)
    contract_rows = contracts_summary_frame(run.results, run.cases)
    row_labels = list(run.labels)

    def write(folder: Path) -> list[Path]:
        written = write_outputs(folder, {"comparison.csv": comparison}, result.manifest())
        n_contracts = len(run.first.contracts)
        for label in result.labels:
            mine = [i for i, lab in enumerate(row_labels) if lab == label]
            contract_index = [i * n_contracts + k for i in mine for k in range(n_contracts)]
            frames = {
                "portfolio_summary.csv": portfolio_rows.iloc[mine],
                "contracts_summary.csv": contract_rows.iloc[contract_index],
            }
            written += write_outputs(folder / label, frames, result.manifest())
        return written

    written = write_set(out_dir, write)
    if quiet:
        return
    console = console_out()
    currency = run.first.contracts[0].resolved.base.contract.currency
    measures = portfolio_metrics(result)
    for case_name in result.case_names:
        print_wide(console, compare_table(summary, case_name, result.labels, measures, currency))
        for line in portfolio_verdicts(summary, case_name, result, currency):
            console.print(line)
        console.print()
    console.print(f"Wrote {len(written)} files in {out_dir}/, comparison.csv first", markup=False)


@app.command()
def sweep(
    scenario: Annotated[
        Path, typer.Argument(metavar="SCENARIO", help="Scenario YAML file.", show_default=False)
    ],
    param: Annotated[
        list[str],
        typer.Option(
            "--param",
            metavar="PATH=START:STOP:STEP",
            help="A numeric input to sweep, e.g. provider.block.annual=0:200000:10000 "
            "(repeatable; the grid is the product of every --param; STOP is included when "
            "it falls on the grid).",
            show_default=False,
        ),
    ],
    case: CaseOption = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            help="Summary column to tabulate (repeatable). Default: provider_surplus.",
        ),
    ] = None,
    set_: SetOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder. Default: out/sweep-<scenario file stem>/."),
    ] = None,
    xlsx: XlsxOption = False,
    charts: ChartsOption = False,
    quiet: QuietOption = False,
    actuals: ActualsOption = None,
    through: ThroughOption = False,
) -> None:
    """Run a grid of input values in one vectorised batch and tabulate a metric over it;
    writes sweep.csv (a column per swept path, then every summary.csv column). At most
    100,000 rows (grid points x cases)."""
    from mhep_model.scenario import load_yaml, parse_set
    from mhep_model.scenario.portfolio import is_portfolio
    from mhep_model.studies.sweep import parse_param
    from mhep_model.studies.sweep import sweep as run_sweep

    out_dir = out if out is not None else Path("out") / f"sweep-{scenario.stem}"
    try:
        sets = [parse_set(s) for s in set_ or []]
        params = [parse_param(p) for p in param]
        if is_portfolio(load_yaml(scenario)):
            refuse_portfolio_actuals(actuals, scenario)
            _sweep_portfolio(scenario, params, case, metric, sets, out_dir, xlsx, charts, quiet)
            return
        # the writers (pandas alone is about 0.4 s) load while the grid is computed
        preload("mhep_model.report.outputs", "mhep_model.report.sweep")
        result = run_sweep(
            scenario, params, sets=sets, cases=case or None, actuals=actuals, through=through
        )
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    from mhep_model.report import outputs
    from mhep_model.report.sweep import sweep_frame, sweep_tables
    from mhep_model.report.writers import write_outputs

    frame = sweep_frame(result)
    chosen = metric or ["provider_surplus"]
    unknown = [m for m in chosen if m not in frame.columns or m in ("case", *result.frame_params)]
    if unknown:
        columns = [c for c in frame.columns if c not in ("case", *result.frame_params)]
        raise fail(
            f"no metric named {', '.join(unknown)}; choose from {', '.join(columns)}",
            EXIT_BAD_INPUT,
        )

    def write(folder: Path) -> list[Path]:
        written = write_outputs(folder, {"sweep.csv": frame}, result.manifest())
        if xlsx:
            written.append(outputs.sweep_workbook(result, frame, folder))
        if charts:
            written += outputs.sweep_pngs(result, frame, chosen, folder)
        return written

    written = write_set(out_dir, write)
    from mhep_model.studies.overrides import override_warnings

    notes = (
        []
        if through
        else override_warnings(result.run.first, result.frame_params, "the swept values apply")
    )
    for note in notes:
        err_console.print(note, highlight=False, markup=False)
    if quiet:
        return
    base = result.run.first.base
    console = console_out()
    stage_names = [s.name for s in result.run.inputs.stages]
    for table in sweep_tables(
        frame, result.frame_params, chosen, stage_names, base.contract.currency
    ):
        print_wide(console, table)
    console.print(f"Wrote {', '.join(str(p) for p in written)}", markup=False)


def _sweep_portfolio(
    scenario: Path,
    params: "list[Param]",
    case: list[str] | None,
    metric: list[str] | None,
    sets: list[tuple[str, Any]],
    out_dir: Path,
    xlsx: bool,
    charts: bool,
    quiet: bool,
) -> None:
    """A sweep over a portfolio; raises MhepError for bad input (nothing written)."""
    from mhep_model.report.charts import sweep_chart
    from mhep_model.report.excel import Sheet, column_kinds, write_workbook
    from mhep_model.report.sweep import portfolio_sweep_frame, sweep_tables
    from mhep_model.report.writers import write_outputs
    from mhep_model.studies.portfolio_sweep import sweep_portfolio

    result = sweep_portfolio(scenario, params, sets=sets, cases=case or None)
    frame = portfolio_sweep_frame(result)
    chosen = metric or ["investor_multiple"]
    taken = ("case", *result.frame_params)
    unknown = [m for m in chosen if m not in frame.columns or m in taken]
    if unknown:
        columns = [c for c in frame.columns if c not in taken]
        raise UsageError(f"no metric named {', '.join(unknown)}; choose from {', '.join(columns)}")
    pf = result.run.first
    currency = pf.contracts[0].resolved.base.contract.currency

    def write(folder: Path) -> list[Path]:
        written = write_outputs(folder, {"sweep.csv": frame}, result.manifest())
        if xlsx:
            sheet = Sheet("Sweep", frame, column_kinds(list(frame.columns), []))
            written.append(write_workbook(folder / "results.xlsx", [sheet], currency))
        if charts:
            for m in chosen:
                written += sweep_chart(frame, result.frame_params, m, currency, pf.name, folder)
        return written

    written = write_set(out_dir, write)
    if quiet:
        return
    console = console_out()
    for table in sweep_tables(frame, result.frame_params, chosen, [], currency):
        print_wide(console, table)
    console.print(f"Wrote {', '.join(str(p) for p in written)}", markup=False)
