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
    refuse_portfolio_actuals,
    write_set,
)
from mhep_model.errors import MhepError

if TYPE_CHECKING:
    from mhep_model.studies.portfolio import PortfolioRun


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
    from mhep_model.report import outputs
    from mhep_model.report.frames import run_monthly, run_summary, variance_frame, yearly_frame
    from mhep_model.report.tables import kpi_table, payer_labels, yearly_tables
    from mhep_model.report.variance import variance_table
    from mhep_model.report.writers import write_outputs
    from mhep_model.scenario import load_yaml, parse_set, resolve
    from mhep_model.scenario.portfolio import is_portfolio, load_portfolio
    from mhep_model.studies.portfolio import run_portfolios
    from mhep_model.studies.run import run_resolved

    out_dir = out if out is not None else Path("out") / scenario.stem
    try:
        sets = [parse_set(s) for s in set_ or []]
        doc = load_yaml(scenario)
        if is_portfolio(doc):
            refuse_portfolio_actuals(actuals, scenario)
            portfolio = run_portfolios([load_portfolio(doc, sets=sets, cases=case or None)])
        else:
            resolved = resolve(doc, sets=sets, cases=case or None, actuals=actuals)
            result = run_resolved([resolved])
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    if is_portfolio(doc):
        _portfolio(portfolio, out_dir, xlsx=xlsx, charts=charts, quiet=quiet)
        return
    summary = run_summary(result)
    monthly = run_monthly(result)

    frames = {"monthly.csv": monthly, "summary.csv": summary}
    if result.variance:
        frames["variance.csv"] = variance_frame(result)

    def write(folder: Path) -> list[Path]:
        written = write_outputs(folder, frames, result.manifest())
        if xlsx:
            written.append(outputs.run_workbook(result, folder))
        if charts:
            written += outputs.run_pngs(result, folder)
            if result.variance:
                written += outputs.variance_pngs(result, folder)
        return written

    written = write_set(out_dir, write)
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


def _portfolio(
    run: "PortfolioRun", out_dir: Path, *, xlsx: bool, charts: bool, quiet: bool
) -> None:
    """A portfolio's four CSVs, workbook and charts; its KPIs and a line per contract."""
    from mhep_model.report import portfolio_outputs
    from mhep_model.report.portfolio import (
        contracts_monthly_frame,
        contracts_summary_frame,
        contracts_table,
        portfolio_kpi_table,
        portfolio_monthly_frame,
        portfolio_summary_frame,
    )
    from mhep_model.report.writers import write_outputs

    res = run.results
    frames = {
        "portfolio_summary.csv": portfolio_summary_frame(res, run.cases),
        "portfolio_monthly.csv": portfolio_monthly_frame(res, run.cases, run.starts),
        "contracts_summary.csv": contracts_summary_frame(res, run.cases),
        "contracts_monthly.csv": contracts_monthly_frame(res, run.cases, run.starts),
    }

    def write(folder: Path) -> list[Path]:
        written = write_outputs(folder, frames, run.manifest())
        if xlsx:
            written.append(portfolio_outputs.portfolio_workbook(run, frames, folder))
        if charts:
            written += portfolio_outputs.portfolio_pngs(run, frames, folder)
        return written

    written = write_set(out_dir, write)
    if quiet:
        return
    console = console_out()
    currency = run.first.contracts[0].resolved.base.contract.currency
    console.print(portfolio_kpi_table(run, frames["portfolio_summary.csv"], currency))
    starts = dict(zip(run.cases, run.starts, strict=True))
    for case in dict.fromkeys(run.cases):
        print_wide(
            console, contracts_table(frames["contracts_summary.csv"], case, starts, currency)
        )
    console.print(f"Wrote {', '.join(str(p) for p in written)}", markup=False)
