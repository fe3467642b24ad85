"""mhep-model compare and sweep: variants side by side, and grids of input values."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    tune_allocator,
    write_set,
)
from mhep_model.errors import MhepError

if TYPE_CHECKING:
    from mhep_model.api import CompareResult


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
    import mhep_model.api as api

    tune_allocator()
    from mhep_model.report.compare import (
        compare_table,
        comparison_payer_labels,
        metrics,
        verdicts,
    )
    from mhep_model.scenario import parse_set
    from mhep_model.studies.compare import PortfolioComparison, safe_label

    out_dir = out if out is not None else Path("out") / f"compare-{safe_label(scenarios[0].stem)}"
    try:
        sets = [parse_set(s) for s in set_ or []]
        done = api.compare(scenarios, cases=case, overrides=sets, actuals=actuals)
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    written = write_set(out_dir, lambda folder: done.write(folder, xlsx=xlsx, charts=charts))
    if quiet:
        return
    if isinstance(done.study, PortfolioComparison):
        _print_portfolios(done, written, out_dir)
        return
    result, summary = done.study, done.summary
    base = result.runs[0].first.base
    console = console_out()
    stage_names = [s.name for s in result.runs[0].inputs.stages]
    labels = comparison_payer_labels(result)
    measures = metrics(stage_names, labels)
    measures = [m for m in measures if m.name in summary.columns]
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


def _print_portfolios(done: "CompareResult", written: list[Path], out_dir: Path) -> None:
    """Portfolios side by side: a table and the verdicts per case."""
    from mhep_model.report.compare import compare_table, portfolio_metrics, verdicts
    from mhep_model.report.portfolio import shared_labels

    result, summary = done.study, done.summary
    console = console_out()
    currency = result.run.first.contracts[0].resolved.base.contract.currency
    measures = portfolio_metrics(result)
    contracts = result.run.first.contracts
    for case_name in result.case_names:
        print_wide(console, compare_table(summary, case_name, result.labels, measures, currency))
        providers = [(f"{c.name} provider", f"{c.name}.provider_surplus") for c in contracts]
        payers = shared_labels(result.run)
        for line in verdicts(summary, case_name, result.labels, payers, currency, providers):
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
    import mhep_model.api as api

    tune_allocator()
    from mhep_model.report.sweep import sweep_tables
    from mhep_model.scenario import parse_set
    from mhep_model.studies.sweep import parse_param

    out_dir = out if out is not None else Path("out") / f"sweep-{scenario.stem}"
    try:
        sets = [parse_set(s) for s in set_ or []]
        params = [parse_param(p) for p in param]
        # the writers (pandas alone is about 0.4 s) load while the grid is computed
        preload("mhep_model.report.outputs", "mhep_model.report.sweep")
        done = api.sweep(
            scenario,
            {p.path: p.values for p in params},
            cases=case,
            overrides=sets,
            actuals=actuals,
            through_amendments=through,
            metrics=metric,
        )
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    written = write_set(out_dir, lambda folder: done.write(folder, xlsx=xlsx, charts=charts))
    for note in done.notes:
        err_console.print(note, highlight=False, markup=False)
    result, frame, chosen = done.study, done.frame, list(done.metrics)
    if quiet:
        return
    console = console_out()
    info = result.run.info
    stage_names, currency = list(info.stages), info.currency
    for table in sweep_tables(frame, result.frame_params, chosen, stage_names, currency):
        print_wide(console, table)
    console.print(f"Wrote {', '.join(str(p) for p in written)}", markup=False)
