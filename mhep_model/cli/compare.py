"""mhep-model compare and sweep: variants side by side, and grids of input values."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    ThroughOption,
    XlsxOption,
    app,
    console_out,
    err_console,
    fail,
    preload,
    print_wide,
    show,
    tune_allocator,
    visible,
    write_set,
)
from mhep_model.errors import MhepError

if TYPE_CHECKING:
    pass


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
    force: ForceOption = False,
    actuals: ActualsOption = None,
    allow_outside: AllowOutsideOption = None,
) -> None:
    """Run scenarios (or a batch file's variants) side by side, case by case: a column per
    variant, its change against the first, and who gains and who loses. Writes
    comparison.csv (tidy: variant, case, metric, value, delta) and each variant's
    summary.csv and monthly.csv in a folder of its own."""
    import mhep_model.api as api

    tune_allocator()
    from mhep_model.report.printout import compare_printout
    from mhep_model.scenario import parse_set
    from mhep_model.studies.compare import safe_label

    out_dir = out if out is not None else Path("out") / f"compare-{safe_label(scenarios[0].stem)}"
    try:
        sets = [parse_set(s) for s in set_ or []]
        done = api.compare(scenarios, cases=case, overrides=sets, actuals=actuals)
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    written = write_set(out_dir, lambda folder: done.write(folder, xlsx=xlsx, charts=charts), force)
    if quiet:
        return
    console = console_out()
    for renderable, wide in compare_printout(done.study, done.summary):
        if wide:
            print_wide(console, renderable)
        else:
            show(console, renderable)
    console.print(
        f"Wrote {len(written)} files in {visible(out_dir)}/, comparison.csv first", markup=False
    )


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
    force: ForceOption = False,
    actuals: ActualsOption = None,
    allow_outside: AllowOutsideOption = None,
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
    written = write_set(out_dir, lambda folder: done.write(folder, xlsx=xlsx, charts=charts), force)
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
    console.print(f"Wrote {', '.join(visible(p) for p in written)}", markup=False)
