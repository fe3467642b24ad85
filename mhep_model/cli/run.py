"""mhep-model run: a scenario's cases side by side, with tables, CSVs, workbook and charts."""

from pathlib import Path
from typing import Annotated

import typer

from mhep_model.cli.common import (
    EXIT_BAD_INPUT,
    ActualsOption,
    AllowOutsideOption,
    CaseOption,
    ChartsOption,
    ForceOption,
    QuietOption,
    SetOption,
    XlsxOption,
    app,
    console_out,
    fail,
    print_wide,
    show,
    tune_allocator,
    visible,
    write_set,
)
from mhep_model.errors import MhepError


@app.command()
def run(
    scenario: Annotated[
        Path, typer.Argument(metavar="SCENARIO", help="Scenario YAML file (docs/format.md).")
    ],
    case: CaseOption = None,
    set_: SetOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder. Default: out/<scenario file stem>/."),
    ] = None,
    xlsx: XlsxOption = False,
    charts: ChartsOption = False,
    quiet: QuietOption = False,
    force: ForceOption = False,
    actuals: ActualsOption = None,
    allow_outside: AllowOutsideOption = None,
) -> None:
    """Run every case of a scenario (or portfolio): print KPI and contract-year tables,
    write monthly.csv, summary.csv and run.json. With actuals (the scenario's actuals.file
    or --actuals), the cases are re-forecast from the recorded months and variance.csv
    compares the records with each case's projection."""
    import mhep_model.api as api

    tune_allocator()
    from mhep_model.report.printout import run_printout
    from mhep_model.scenario import parse_set

    out_dir = out if out is not None else Path("out") / scenario.stem
    try:
        sets = [parse_set(s) for s in set_ or []]
        done = api.run(scenario, cases=case, overrides=sets, actuals=actuals)
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    written = write_set(out_dir, lambda folder: done.write(folder, xlsx=xlsx, charts=charts), force)
    if quiet:
        return
    console = console_out()
    for renderable, wide in run_printout(done.study, done.frames):
        if wide:
            print_wide(console, renderable)
        else:
            show(console, renderable)
    console.print(f"Wrote {', '.join(visible(p) for p in written)}", markup=False)


@app.command()
def backtest(
    scenario: Annotated[
        Path, typer.Argument(metavar="SCENARIO", help="Scenario or portfolio YAML file.")
    ],
    payments: Annotated[
        Path | None,
        typer.Option(
            "--payments",
            metavar="FILE",
            help="Recorded payments (CSV: quarter,income rows and an optional total row; "
            "README 'Back-testing'). Default: the actuals' income column.",
        ),
    ] = None,
    case: Annotated[
        str, typer.Option("--case", metavar="NAME", help="The case to test (default: recorded).")
    ] = "recorded",
    set_: SetOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder. Default: out/<scenario file stem>-backtest/."),
    ] = None,
    charts: ChartsOption = False,
    quiet: QuietOption = False,
    force: ForceOption = False,
    actuals: ActualsOption = None,
    allow_outside: AllowOutsideOption = None,
) -> None:
    """Back-test a case against recorded payments: the model's income by calendar quarter
    beside the recorded quarters, cumulative, the mean absolute error as a share of the mean
    quarter (and a flat line's), first and last payment quarters and the implied price per
    outcome. Writes backtest.csv, backtest_summary.csv and run.json (--charts: backtest.png)."""
    import mhep_model.api as api
    from mhep_model.report.backtest import quarters_table, summary_lines
    from mhep_model.scenario import parse_set

    out_dir = out if out is not None else Path("out") / f"{scenario.stem}-backtest"
    try:
        sets = [parse_set(s) for s in set_ or []]
        done = api.backtest(scenario, payments, case=case, overrides=sets, actuals=actuals)
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    written = write_set(out_dir, lambda folder: done.write(folder, charts=charts), force)
    if quiet:
        return
    console = console_out()
    study = done.study
    title = f"{study.first.name if study.portfolio else study.scenario.base.name}: {case}"
    print_wide(console, quarters_table(done.quarters, study.currency, title))
    for line in summary_lines(done.summary, study.currency):
        console.print(line, markup=False, highlight=False)
    console.print(f"Wrote {', '.join(visible(p) for p in written)}", markup=False)
