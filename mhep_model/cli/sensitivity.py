"""mhep-model sensitivity: which assumptions move a result (tornado, or Sobol indices)."""

import difflib
from pathlib import Path
from typing import Annotated, Any

import typer

from mhep_model.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_CANNOT_WRITE,
    CaseOption,
    ChartsOption,
    DaskOption,
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
    write_set,
)
from mhep_model.errors import MhepError, UsageError

CONTRACT_METRICS = {"tornado": ["provider_surplus", "investor_irr"], "sobol": ["provider_surplus"]}
PORTFOLIO_METRICS = {"tornado": ["investor_irr", "max_funding_gap"], "sobol": ["investor_irr"]}


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
            help="Summary column to rank by (repeatable). Default: provider_surplus and "
            "investor_irr (a portfolio: investor_irr and max_funding_gap; a contract's as "
            "<contract>.provider_surplus).",
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
    from mhep_model.scenario import load_yaml, parse_set
    from mhep_model.scenario.portfolio import is_portfolio
    from mhep_model.studies.cluster import Cluster, ClusterError
    from mhep_model.studies.sensitivity import parse_by, parse_range, tornado
    from mhep_model.studies.sobol import sobol

    out_dir = out if out is not None else Path("out") / f"sensitivity-{scenario.stem}"
    if method not in ("tornado", "sobol"):
        raise fail(f"--method is tornado or sobol, got {method!r}", EXIT_BAD_INPUT)
    if method == "tornado" and (scheduler or dask):
        raise fail(
            "--scheduler and --dask are for --method sobol (a tornado is one small batch)",
            EXIT_BAD_INPUT,
        )
    console = console_out()
    progress = ProgressBar(console, quiet, "blocks of samples")
    try:
        portfolio = is_portfolio(load_yaml(scenario))
        options: dict[str, Any] = {
            "ranges": [parse_range(r) for r in range_ or []],
            "vary": vary or [],
            "by": parse_by(by),
            "sets": [parse_set(s) for s in set_ or []],
            "cases": case or None,
            "with_amendments": with_amendments,
        }
        result: Any
        if method == "sobol":
            cluster = Cluster(scheduler) if scheduler else (Cluster() if dask else None)
            options |= {"samples": samples, "seed": seed, "cluster": cluster}
            result = sobol(scenario, progress=progress, **options)
        else:
            result = tornado(scenario, **options)
        chosen = metric or (PORTFOLIO_METRICS if portfolio else CONTRACT_METRICS)[method]
        check_metrics(chosen, result.metrics)
    except ClusterError as e:
        raise fail(str(e), EXIT_CANNOT_WRITE) from None
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    finally:
        progress.stop()
    if method == "sobol":
        tables = _write_sobol(result, chosen, out_dir, xlsx, charts)
    else:
        tables = _write_tornado(result, chosen, out_dir, xlsx, charts)
    if not with_amendments:
        for path, note in result.notes.items():
            if "anew" in note:
                err_console.print(
                    f"note: {path}: {note}; --with-amendments moves the amendment with the range",
                    highlight=False,
                    markup=False,
                )
    if quiet:
        return
    written, shown = tables
    for table in shown:
        print_wide(console, table)
    console.print(f"Wrote {', '.join(str(p) for p in written)}", markup=False)


def _write_tornado(
    result: Any, chosen: list[str], out_dir: Path, xlsx: bool, charts: bool
) -> tuple[list[Path], list[Any]]:
    from mhep_model.report.sensitivity import sensitivity_frame, tornado_chart, tornado_tables
    from mhep_model.report.writers import write_outputs

    frame = sensitivity_frame(result, chosen)
    info = result.info

    def write(folder: Path) -> list[Path]:
        written = write_outputs(folder, {"sensitivity.csv": frame}, result.manifest())
        if xlsx:
            from mhep_model.report.excel import Sheet, write_workbook

            kinds = {c: "text" for c in ("case", "metric", "path", "source", "amendments")}
            sheet = Sheet("Sensitivity", frame, kinds | {"rank": "int"})
            written.append(write_workbook(folder / "results.xlsx", [sheet], info.currency))
        if charts:
            written += [
                tornado_chart(frame, m, info.stages, info.currency, info.name, folder)
                for m in chosen
            ]
        return written

    return write_set(out_dir, write), tornado_tables(frame, info.stages, info.currency)


def _write_sobol(
    result: Any, chosen: list[str], out_dir: Path, xlsx: bool, charts: bool
) -> tuple[list[Path], list[Any]]:
    from mhep_model.report.sensitivity import sobol_chart, sobol_frame, sobol_tables
    from mhep_model.report.writers import write_outputs

    try:
        frame = sobol_frame(result, chosen)
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    info = result.info

    def write(folder: Path) -> list[Path]:
        written = write_outputs(folder, {"sobol.csv": frame}, result.manifest())
        if xlsx:
            from mhep_model.report.excel import Sheet, write_workbook

            kinds = {c: "text" for c in ("case", "metric", "path", "amendments")}
            sheet = Sheet("Sobol", frame, kinds | {"rank": "int", "samples": "int"})
            written.append(write_workbook(folder / "results.xlsx", [sheet], info.currency))
        if charts:
            written += [sobol_chart(frame, m, info.name, folder) for m in chosen]
        return written

    return write_set(out_dir, write), sobol_tables(frame)


def check_metrics(chosen: list[str], known: list[str]) -> None:
    """Refuse a metric that is not a summary column, naming the closest one."""
    for name in chosen:
        if name not in known:
            hint = next(iter(difflib.get_close_matches(name, known, n=1)), None)
            also = f"; did you mean {hint}?" if hint else ""
            raise UsageError(f"no metric named {name}{also}")
