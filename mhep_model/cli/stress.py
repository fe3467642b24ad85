"""mhep-model stress and solve: Monte Carlo risk of a bid, and goal seek."""

from pathlib import Path
from typing import Annotated

import typer

from mhep_model.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_CANNOT_WRITE,
    EXIT_NOT_REACHED,
    ActualsOption,
    AllowOutsideOption,
    CaseOption,
    ChartsOption,
    DaskOption,
    ForceOption,
    ProgressBar,
    QuietOption,
    SchedulerOption,
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
    visible,
    write_set,
    writing,
)
from mhep_model.errors import MhepError


@app.command()
def stress(
    scenario: Annotated[
        Path, typer.Argument(metavar="SCENARIO", help="Scenario YAML file.", show_default=False)
    ],
    case: CaseOption = None,
    paths: Annotated[int, typer.Option("--paths", help="Paths per case.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random draws (recorded).")] = 0,
    set_: SetOption = None,
    chunk: Annotated[
        int, typer.Option("--chunk", help="Paths per unit of work (results do not depend on it).")
    ] = 8192,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder. Default: out/stress-<scenario file stem>/."),
    ] = None,
    xlsx: XlsxOption = False,
    charts: ChartsOption = False,
    quiet: QuietOption = False,
    force: ForceOption = False,
    actuals: ActualsOption = None,
    allow_outside: AllowOutsideOption = None,
    paths_csv: Annotated[
        bool,
        typer.Option(
            "--paths-csv",
            metavar="",
            help="Also write paths.csv: every path's summary (large: about 370 bytes a path).",
        ),
    ] = False,
    scheduler: SchedulerOption = None,
    dask: DaskOption = False,
) -> None:
    """Monte Carlo stress test (spec section 9): per case, the chance the provider becomes
    insolvent, the investor loses money, the SPV runs short or a payer cap binds; P5-P95 of
    the key results; the break-even referral scale. Writes stress_summary.csv and run.json
    (and paths.csv with --paths-csv). A batch file's variants run over the same paths:
    stress_paired.csv compares each with the first, path by path."""
    import mhep_model.api as api

    tune_allocator()
    from mhep_model.scenario import parse_set
    from mhep_model.studies.cluster import Cluster, ClusterError, require_dask

    console = console_out()
    progress = ProgressBar(console, quiet, "paths")
    out_dir = out if out is not None else Path("out") / f"stress-{scenario.stem}"
    try:
        sets = [parse_set(s) for s in set_ or []]
        if scheduler or dask:
            require_dask()
        cluster = Cluster(scheduler) if scheduler else (Cluster() if dask else None)
        # the writers (pandas alone is about 0.3 s) load while the paths are drawn
        preload("mhep_model.report.outputs", "mhep_model.report.stress")
        done = api.stress(
            scenario,
            paths=paths,
            seed=seed,
            cases=case,
            overrides=sets,
            actuals=actuals,
            chunk=chunk,
            keep_paths=paths_csv,
            keep_monthly=charts,
            cluster=cluster,
            progress=progress,
        )
    except ClusterError as e:
        raise fail(str(e), EXIT_CANNOT_WRITE) from None
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    finally:
        progress.stop()

    def write(folder: Path) -> list[Path]:
        return done.write(folder, xlsx=xlsx, charts=charts)

    written = writing(console, quiet, lambda: write_set(out_dir, write, force))
    if quiet:
        return
    from mhep_model.report.stress import percentile_table, risk_table

    result = done.study
    if "stress_paired.csv" in done.frames:  # a batch: each variant against the first
        from mhep_model.report.stress_batch import paired_table, words_table

        print_wide(console, words_table(result))
        print_wide(console, paired_table(result))
        console.print(f"Wrote {', '.join(visible(p) for p in written)}", markup=False)
        return
    print_wide(console, risk_table(result))
    for case_name in result.case_names:
        print_wide(
            console, percentile_table(result, case_name, result.stage_names, result.currency)
        )
    console.print(f"Wrote {', '.join(visible(p) for p in written)}", markup=False)


@app.command()
def solve(
    scenario: Annotated[
        Path, typer.Argument(metavar="SCENARIO", help="Scenario YAML file.", show_default=False)
    ],
    vary: Annotated[
        str,
        typer.Option(
            "--vary",
            metavar="PATH",
            help="The numeric input to vary, e.g. provider.block.annual.",
            show_default=False,
        ),
    ],
    target: Annotated[
        str,
        typer.Option(
            "--target",
            metavar="METRIC=VALUE",
            help="The summary metric and the value it must reach, e.g. provider_min_reserves=0.",
            show_default=False,
        ),
    ],
    case: CaseOption = None,
    between: Annotated[
        str | None,
        typer.Option(
            "--between",
            metavar="LO:HI",
            help="Range to search. Default: 0..1 for a share, else 0 to 4x the current value.",
        ),
    ] = None,
    set_: SetOption = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", metavar="", help="Print only the value(s) found, one per case."
        ),
    ] = False,
    actuals: ActualsOption = None,
    allow_outside: AllowOutsideOption = None,
    through: ThroughOption = False,
) -> None:
    """Goal seek: the value of an input at which a summary metric reaches a target, per
    case (the first crossing from the bottom of the range). Exit status 1 when the target
    cannot be reached in the range."""
    import mhep_model.api as api

    tune_allocator()
    from mhep_model.report.stress import solution_table
    from mhep_model.scenario import parse_set
    from mhep_model.studies.solve import parse_between, parse_target

    try:
        sets = [parse_set(s) for s in set_ or []]
        goal = parse_target(target)
        span = parse_between(between) if between is not None else None
        solution = api.solve(
            scenario,
            vary,
            goal,
            between=span,
            cases=case,
            overrides=sets,
            actuals=actuals,
            through_amendments=through,
        ).study
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    found = solution.roots.found
    for note in solution.notes:
        err_console.print(note, highlight=False, markup=False)
    if quiet:
        for value in solution.roots.value[found]:
            typer.echo(f"{value:.10g}")
    else:
        console = console_out()
        print_wide(console, solution_table(solution, solution.currency))
    if not found.all():
        from mhep_model.report.stress import unreached

        for line in unreached(solution):
            err_console.print(line, highlight=False, markup=False)
        raise typer.Exit(EXIT_NOT_REACHED)
