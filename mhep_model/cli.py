"""The ``mhep-model`` command: thin typer commands over the library.

Library errors become one message on stderr and an exit status: 2 for bad input (nothing
is written), 1 when the outputs cannot be written. numpy and pandas are imported inside
the commands so that ``mhep-model --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
    base = result.first.base
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


def _print_wide(console: Console, table: Any) -> None:
    """Print a wide table; to a file or a pipe, as wide as it needs rather than 80 columns."""
    from rich.measure import Measurement

    if not console.is_terminal:
        wide = console.options.update_width(1000)
        console.width = max(console.width, Measurement.get(console, wide, table).maximum)
    console.print(table)


def _payer_labels(base: Any) -> dict[str, str]:
    return {p: base.payers[p].name or p for p in base.payers if not base.payers[p].self_}


@app.command()
def compare(
    scenarios: Annotated[
        list[Path],
        typer.Argument(
            help="Two or more scenario files, or one batch file (base + variants).",
            show_default=False,
        ),
    ],
    case: Annotated[
        list[str] | None,
        typer.Option("--case", help="Compare only this case (repeatable). Default: every case."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="PATH=VALUE", help="Override a value of every scenario (repeatable)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder. Default: out/compare-<first file stem>/."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Run scenarios (or a batch file's variants) side by side, case by case: a column per
    variant, its change against the first, and who gains and who loses. Writes
    comparison.csv (tidy: variant, case, metric, value, delta) and each variant's
    summary.csv and monthly.csv in a folder of its own."""
    from mhep_model.api import compare as run_compare
    from mhep_model.report.compare import compare_table, comparison_frame, metrics, verdicts
    from mhep_model.report.writers import write_outputs
    from mhep_model.scenario import parse_set

    try:
        sets = [parse_set(s) for s in set_ or []]
        result = run_compare(scenarios, sets=sets, cases=case or None)
    except MhepError as e:
        raise _fail(str(e), EXIT_BAD_INPUT) from None
    summary = result.summary()
    monthly = result.monthly()
    out_dir = out if out is not None else Path("out") / f"compare-{scenarios[0].stem}"
    try:
        written = write_outputs(
            out_dir,
            {"comparison.csv": comparison_frame(summary, result.labels[0])},
            result.manifest(),
        )
        for label in result.labels:
            frames = {
                "summary.csv": summary[summary["variant"] == label].drop(columns="variant"),
                "monthly.csv": monthly[monthly["variant"] == label].drop(columns="variant"),
            }
            written += write_outputs(out_dir / label, frames, result.manifest())
    except OSError as e:
        raise _fail(f"cannot write to {out_dir}: {e.strerror or e}", EXIT_CANNOT_WRITE) from None
    if quiet:
        return
    base = result.runs[0].first.base
    console = Console(highlight=False)
    stage_names = [s.name for s in result.runs[0].inputs.stages]
    labels = _payer_labels(base)
    measures = metrics(stage_names, labels)
    measures = [m for m in measures if m.column in summary.columns]
    currency = base.contract.currency
    for case_name in result.case_names:
        _print_wide(console, compare_table(summary, case_name, result.labels, measures, currency))
        for line in verdicts(summary, case_name, result.labels, labels, currency):
            console.print(line)
        console.print()
    console.print(f"Wrote {out_dir / 'comparison.csv'} and {len(written) - 2} files in {out_dir}/")


@app.command()
def sweep(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)],
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
    case: Annotated[
        list[str] | None,
        typer.Option("--case", help="Sweep only this case (repeatable). Default: every case."),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            help="Summary column to tabulate (repeatable). Default: provider_surplus.",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="PATH=VALUE", help="Override a value of the base first."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder. Default: out/sweep-<scenario file stem>/."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Run a grid of input values in one vectorised batch and tabulate a metric over it;
    writes sweep.csv (a column per swept path, then every summary.csv column). At most
    100,000 rows (grid points x cases)."""
    from mhep_model.api import parse_param
    from mhep_model.api import sweep as run_sweep
    from mhep_model.report.sweep import sweep_tables
    from mhep_model.report.writers import write_outputs
    from mhep_model.scenario import parse_set

    try:
        sets = [parse_set(s) for s in set_ or []]
        params = [parse_param(p) for p in param]
        result = run_sweep(scenario, params, sets=sets, cases=case or None)
    except MhepError as e:
        raise _fail(str(e), EXIT_BAD_INPUT) from None
    frame = result.frame()
    chosen = metric or ["provider_surplus"]
    unknown = [m for m in chosen if m not in frame.columns or m in ("case", *result.frame_params)]
    if unknown:
        columns = [c for c in frame.columns if c not in ("case", *result.frame_params)]
        raise _fail(
            f"no metric named {', '.join(unknown)}; choose from {', '.join(columns)}",
            EXIT_BAD_INPUT,
        )
    out_dir = out if out is not None else Path("out") / f"sweep-{scenario.stem}"
    try:
        written = write_outputs(out_dir, {"sweep.csv": frame}, result.manifest())
    except OSError as e:
        raise _fail(f"cannot write to {out_dir}: {e.strerror or e}", EXIT_CANNOT_WRITE) from None
    if quiet:
        return
    base = result.run.first.base
    console = Console(highlight=False)
    stage_names = [s.name for s in result.run.inputs.stages]
    for table in sweep_tables(
        frame, result.frame_params, chosen, stage_names, base.contract.currency
    ):
        _print_wide(console, table)
    console.print(f"Wrote {', '.join(str(p) for p in written)}")


def main() -> None:
    """Console-script entry point."""
    app()
