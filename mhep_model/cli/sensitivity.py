"""mhep-model sensitivity: which assumptions move a result (a tornado)."""

from __future__ import annotations

import difflib
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
    print_wide,
    write_set,
)
from mhep_model.errors import MhepError


@app.command()
def sensitivity(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)],
    case: CaseOption = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            help="Summary column to rank by (repeatable). Default: "
            "provider_surplus and investor_irr.",
        ),
    ] = None,
    range_: Annotated[
        list[str] | None,
        typer.Option(
            "--range",
            metavar="PATH=LO:HI",
            help="An input and its low and high value (repeatable), e.g. "
            "stages.sustainment.rate=0.45:0.7.",
        ),
    ] = None,
    vary: Annotated[
        list[str] | None,
        typer.Option("--vary", metavar="PATH", help="An input moved down and up by --by."),
    ] = None,
    by: Annotated[str, typer.Option("--by", help="How far --vary moves, e.g. 20%.")] = "20%",
    set_: SetOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Output folder. Default: out/sensitivity-<scenario file stem>/."
        ),
    ] = None,
    xlsx: XlsxOption = False,
    charts: ChartsOption = False,
    quiet: QuietOption = False,
) -> None:
    """Tornado: each uncertain input at its low and its high value, the others at the
    case's own; inputs ranked by the swing of each metric. Ranges default to the spread
    of the scenario's own cases. Writes sensitivity.csv and run.json."""
    from mhep_model.report.sensitivity import sensitivity_frame, tornado_chart, tornado_tables
    from mhep_model.report.writers import write_outputs
    from mhep_model.scenario import parse_set
    from mhep_model.studies.sensitivity import parse_by, parse_range, tornado

    out_dir = out if out is not None else Path("out") / f"sensitivity-{scenario.stem}"
    try:
        sets = [parse_set(s) for s in set_ or []]
        ranges = [parse_range(r) for r in range_ or []]
        result = tornado(
            scenario,
            ranges=ranges,
            vary=vary or [],
            by=parse_by(by),
            sets=sets,
            cases=case or None,
        )
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    chosen = metric or ["provider_surplus", "investor_irr"]
    for name in chosen:
        if name not in result.metrics:
            hint = next(iter(difflib.get_close_matches(name, result.metrics, n=1)), None)
            raise fail(
                f"no metric named {name}" + (f"; did you mean {hint}?" if hint else ""),
                EXIT_BAD_INPUT,
            )
    frame = sensitivity_frame(result, chosen)
    base = result.run.first.base
    stages = [s.name for s in result.run.inputs.stages]
    currency = base.contract.currency

    def write(folder: Path) -> list[Path]:
        written = write_outputs(folder, {"sensitivity.csv": frame}, result.manifest())
        if xlsx:
            from mhep_model.report.excel import Sheet, write_workbook

            kinds = {c: "text" for c in ("case", "metric", "path", "source")}
            sheet = Sheet("Sensitivity", frame, kinds | {"rank": "int"})
            written.append(write_workbook(folder / "results.xlsx", [sheet], currency))
        if charts:
            written += [
                tornado_chart(frame, m, stages, currency, base.name, folder) for m in chosen
            ]
        return written

    written = write_set(out_dir, write)
    if quiet:
        return
    console = console_out()
    for table in tornado_tables(frame, stages, currency):
        print_wide(console, table)
    console.print(f"Wrote {', '.join(str(p) for p in written)}", markup=False)
