"""The ``mhep-model`` command: thin typer commands over the library.

Library errors become one message on stderr and an exit status: 2 for bad input (nothing
is written), 1 when the outputs cannot be written. numpy and pandas are imported inside
the commands so that ``mhep-model --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mhep_model import __version__
from mhep_model.errors import MhepError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Financial scenario modeller for outcomes contracts (social impact bonds).",
)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_BAD_INPUT = 2
EXIT_CANNOT_WRITE = 1


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mhep-model {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Financial scenario modeller for outcomes contracts (social impact bonds)."""


def _fail(message: str, code: int) -> typer.Exit:
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)
    return typer.Exit(code)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (spec/MODEL.md).")],
    case: Annotated[
        list[str] | None,
        typer.Option("--case", help="Run only this case (repeatable). Default: every case."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="PATH=VALUE",
            help="Override a value of the base scenario before cases, e.g. "
            "--set referrals.scale=0.8 (repeatable; VALUE is YAML: 0.6, [1, 24]).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder. Default: out/<scenario file stem>/."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Run every case of a scenario: print KPI and contract-year tables, write
    monthly.csv, summary.csv and run.json."""
    from mhep_model.api import run_scenario
    from mhep_model.report.frames import yearly_frame
    from mhep_model.report.tables import kpi_table, yearly_tables
    from mhep_model.report.writers import write_outputs
    from mhep_model.scenario import parse_set

    try:
        sets = [parse_set(s) for s in set_ or []]
        result = run_scenario(scenario, sets=sets, cases=case or None)
    except MhepError as e:
        raise _fail(str(e), EXIT_BAD_INPUT) from None
    summary = result.summary()
    monthly = result.monthly()
    out_dir = out if out is not None else Path("out") / scenario.stem
    try:
        written = write_outputs(
            out_dir, {"monthly.csv": monthly, "summary.csv": summary}, result.manifest()
        )
    except OSError as e:
        raise _fail(f"cannot write to {out_dir}: {e.strerror or e}", EXIT_CANNOT_WRITE) from None
    if quiet:
        return
    base = result.resolved.base
    console = Console(highlight=False)
    stage_names = [s.name for s in result.inputs.stages]
    labels = {p: base.payers[p].name or p for p in base.payers if not base.payers[p].self_}
    currency = base.contract.currency
    console.print(kpi_table(summary, monthly, stage_names, labels, currency, base.name))
    for table in yearly_tables(yearly_frame(monthly, stage_names), stage_names, currency):
        console.print(table)
    for amendment in sorted(base.amendments, key=lambda a: a.month):
        changes = ", ".join(f"{k} = {v}" for k, v in amendment.set_.items())
        console.print(
            f"Amendment from month {amendment.month}: {amendment.note or ''} ({changes})",
            style="dim",
        )
    console.print(f"Wrote {', '.join(str(p) for p in written)}")


def main() -> None:
    """Console-script entry point."""
    app()
