"""mhep-model run: a scenario's cases side by side, with tables, CSVs, workbook and charts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mhep_model.cli.common import (
    EXIT_BAD_INPUT,
    CaseOption,
    ChartsOption,
    QuietOption,
    SetOption,
    XlsxOption,
    app,
    console_out,
    fail,
    write_set,
)
from mhep_model.errors import MhepError


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (spec/MODEL.md).")],
    case: CaseOption = None,
    set_: SetOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder. Default: out/<scenario file stem>/."),
    ] = None,
    xlsx: XlsxOption = False,
    charts: ChartsOption = False,
    quiet: QuietOption = False,
) -> None:
    """Run every case of a scenario: print KPI and contract-year tables, write
    monthly.csv, summary.csv and run.json."""
    from mhep_model.report import outputs
    from mhep_model.report.frames import run_monthly, run_summary, yearly_frame
    from mhep_model.report.tables import kpi_table, payer_labels, yearly_tables
    from mhep_model.report.writers import write_outputs
    from mhep_model.scenario import parse_set
    from mhep_model.studies.run import run_scenario

    try:
        sets = [parse_set(s) for s in set_ or []]
        result = run_scenario(scenario, sets=sets, cases=case or None)
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    summary = run_summary(result)
    monthly = run_monthly(result)
    out_dir = out if out is not None else Path("out") / scenario.stem

    def write(folder: Path) -> list[Path]:
        written = write_outputs(
            folder, {"monthly.csv": monthly, "summary.csv": summary}, result.manifest()
        )
        if xlsx:
            written.append(outputs.run_workbook(result, folder))
        if charts:
            written += outputs.run_pngs(result, folder)
        return written

    written = write_set(out_dir, write)
    if quiet:
        return
    base = result.first.base
    console = console_out()
    stage_names = [s.name for s in result.inputs.stages]
    currency = base.contract.currency
    labels = payer_labels(base)
    console.print(kpi_table(summary, monthly, stage_names, labels, currency, base.name))
    for table in yearly_tables(yearly_frame(monthly, stage_names), stage_names, currency):
        console.print(table)
    for amendment in sorted(base.amendments, key=lambda a: a.month):
        changes = ", ".join(f"{k} = {v}" for k, v in amendment.set_.items())
        console.print(
            f"Amendment from month {amendment.month}: {amendment.note or ''} ({changes})",
            style="dim",
            markup=False,
        )
    console.print(f"Wrote {', '.join(str(p) for p in written)}", markup=False)
