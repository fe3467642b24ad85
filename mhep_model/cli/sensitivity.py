"""mhep-model sensitivity: which assumptions move a result (tornado, or Sobol indices)."""

from pathlib import Path
from typing import Annotated

import typer

from mhep_model.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_CANNOT_WRITE,
    AllowOutsideOption,
    CaseOption,
    ChartsOption,
    DaskOption,
    ForceOption,
    ProgressBar,
    QuietOption,
    SchedulerOption,
    SetOption,
    XlsxOption,
    app,
    console_out,
    err_console,
    fail,
    print_wide,
    tune_allocator,
    visible,
    write_set,
)
from mhep_model.errors import MhepError


@app.command()
def sensitivity(
    scenario: Annotated[
        Path,
        typer.Argument(
            metavar="SCENARIO", help="Scenario or portfolio YAML file.", show_default=False
        ),
    ],
    case: CaseOption = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            help="Summary column to rank by (repeatable). Default: a tornado ranks "
            "provider_surplus and investor_irr, Sobol provider_surplus; a portfolio's "
            "tornado investor_irr and max_funding_gap, its Sobol investor_irr (a contract's "
            "metric as <contract>.provider_surplus).",
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
    with_amendments: Annotated[
        bool,
        typer.Option(
            "--with-amendments",
            metavar="",
            help="Move an amendment that sets a ranged input with it, in proportion (a "
            "re-set block stays the same share of the original). Default: the amendment's "
            "value holds from its month.",
        ),
    ] = False,
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
    force: ForceOption = False,
    allow_outside: AllowOutsideOption = None,
    method: Annotated[
        str, typer.Option("--method", help="tornado (one input at a time) or sobol (global).")
    ] = "tornado",
    samples: Annotated[
        int,
        typer.Option(
            "--samples", help="Sobol: base samples N, a power of two; N x (inputs + 2) runs."
        ),
    ] = 1024,
    seed: Annotated[int, typer.Option("--seed", help="Sobol: seed of the sampling.")] = 0,
    scheduler: SchedulerOption = None,
    dask: DaskOption = False,
) -> None:
    """Which assumptions matter: a tornado or Sobol indices. Tornado (default): each
    uncertain input at its low and its high value, the others at the case's own; inputs
    ranked by the swing of each metric; writes sensitivity.csv. --method sobol:
    first-order and total Sobol indices with 95% intervals over the ranges (uniform), by
    SALib; writes sobol.csv. Ranges default to the spread of the scenario's own cases (a
    portfolio: of each contract's)."""
    import mhep_model.api as api

    tune_allocator()
    from mhep_model.report.sensitivity import sobol_tables, tornado_tables
    from mhep_model.scenario import parse_set
    from mhep_model.studies.cluster import Cluster, ClusterError, require_dask
    from mhep_model.studies.sensitivity import parse_range

    out_dir = out if out is not None else Path("out") / f"sensitivity-{scenario.stem}"
    console = console_out()
    progress = ProgressBar(console, quiet, "blocks of samples")
    try:
        if scheduler or dask:
            require_dask()
        cluster = Cluster(scheduler) if scheduler else (Cluster() if dask else None)
        ranges = [parse_range(r) for r in range_ or []]
        done = api.sensitivity(
            scenario,
            method=method,
            metrics=metric,
            ranges={r.path: (r.lo, r.hi) for r in ranges},
            vary=vary or [],
            by=by,
            cases=case,
            overrides=[parse_set(s) for s in set_ or []],
            with_amendments=with_amendments,
            samples=samples,
            seed=seed,
            cluster=cluster,
            progress=progress,
        )
    except ClusterError as e:
        raise fail(str(e), EXIT_CANNOT_WRITE) from None
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    finally:
        progress.stop()
    written = write_set(out_dir, lambda folder: done.write(folder, xlsx=xlsx, charts=charts), force)
    for path, note in done.notes.items():
        err_console.print(
            f"note: {path}: {note}; --with-amendments moves the amendment with the range",
            highlight=False,
            markup=False,
        )
    if quiet:
        return
    info = done.study.info
    if method == "sobol":
        shown = sobol_tables(done.frame)
    else:
        shown = tornado_tables(done.frame, info.stages, info.currency)
    for table in shown:
        print_wide(console, table)
    console.print(f"Wrote {', '.join(visible(p) for p in written)}", markup=False)
