"""mhep-model run: a scenario's cases side by side, with tables, CSVs, workbook and charts."""

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
    XlsxOption,
    app,
    console_out,
    fail,
    print_wide,
    tune_allocator,
    write_set,
)
from mhep_model.errors import MhepError

if TYPE_CHECKING:
    from mhep_model.api import RunResult


@app.command()
def run(
    scenario: Annotated[
        Path, typer.Argument(metavar="SCENARIO", help="Scenario YAML file (spec/MODEL.md).")
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
    actuals: ActualsOption = None,
) -> None:
    """Run every case of a scenario (or portfolio): print KPI and contract-year tables,
    write monthly.csv, summary.csv and run.json. With actuals (the scenario's actuals.file
    or --actuals), the cases are re-forecast from the recorded months and variance.csv
    compares the records with each case's projection."""
    import mhep_model.api as api

    tune_allocator()
    from mhep_model.report.frames import yearly_frame
    from mhep_model.report.tables import kpi_table, payer_labels, yearly_tables
    from mhep_model.report.variance import variance_table
    from mhep_model.scenario import parse_set

    out_dir = out if out is not None else Path("out") / scenario.stem
    try:
        sets = [parse_set(s) for s in set_ or []]
        done = api.run(scenario, cases=case, overrides=sets, actuals=actuals)
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    written = write_set(out_dir, lambda folder: done.write(folder, xlsx=xlsx, charts=charts))
    if done.portfolio:
        if not quiet:
            _portfolio(done, written)
        return
    result = done.study
    summary, monthly, frames = done.summary, done.monthly, done.frames
    if quiet:
        return
    base = result.first.base
    console = console_out()
    stage_names = [s.name for s in result.inputs.stages]
    currency = base.contract.currency
    labels = payer_labels(base)
    if result.variance:
        k = result.variance[0].months
        dates = monthly[monthly["case"] == monthly["case"].iloc[0]]["date"].tolist()
        print_wide(console, variance_table(frames["variance.csv"], k, dates, currency))
    console.print(kpi_table(summary, monthly, stage_names, labels, currency, base.name))
    for table in yearly_tables(yearly_frame(monthly, stage_names), stage_names, currency):
        console.print(table)
    for amendment in sorted(base.amendments, key=lambda a: a.month):
        changes = ", ".join(
            [f"{k} = {v}" for k, v in amendment.set_.items()]
            + [f"{k} x {v:g}" for k, v in amendment.scale.items()]
        )
        console.print(
            f"Amendment from month {amendment.month}: {amendment.note or ''} ({changes})",
            style="dim",
            markup=False,
        )
    console.print(f"Wrote {', '.join(str(p) for p in written)}", markup=False)


def _portfolio(done: "RunResult", written: list[Path]) -> None:
    """A portfolio's KPIs and a line per contract."""
    from mhep_model.report.portfolio import contracts_table, portfolio_kpi_table

    run = done.study
    console = console_out()
    currency = run.first.contracts[0].resolved.base.contract.currency
    console.print(portfolio_kpi_table(run, done.frames["portfolio_summary.csv"], currency))
    starts = dict(zip(run.cases, run.starts, strict=True))
    for case in dict.fromkeys(run.cases):
        print_wide(
            console, contracts_table(done.frames["contracts_summary.csv"], case, starts, currency)
        )
    console.print(f"Wrote {', '.join(str(p) for p in written)}", markup=False)
