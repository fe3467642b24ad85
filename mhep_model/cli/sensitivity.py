"""mhep-model sensitivity: which assumptions move a result (a tornado)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any

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
from mhep_model.errors import MhepError, UsageError


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
) -> None:
    """Which assumptions matter. Tornado (default): each uncertain input at its low and
    its high value, the others at the case's own; inputs ranked by the swing of each
    metric; writes sensitivity.csv. --method sobol: first-order and total Sobol indices
    with 95% intervals over the ranges (uniform), by SALib; writes sobol.csv. Ranges
    default to the spread of the scenario's own cases."""
    from mhep_model.report.sensitivity import sensitivity_frame, tornado_chart, tornado_tables
    from mhep_model.report.writers import write_outputs
    from mhep_model.scenario import load_yaml, parse_set
    from mhep_model.scenario.portfolio import is_portfolio
    from mhep_model.studies.sensitivity import parse_by, parse_range, tornado

    out_dir = out if out is not None else Path("out") / f"sensitivity-{scenario.stem}"
    if method not in ("tornado", "sobol"):
        raise fail(f"--method is tornado or sobol, got {method!r}", EXIT_BAD_INPUT)
    try:
        if is_portfolio(load_yaml(scenario)):
            raise UsageError(
                f"{scenario}: sensitivity takes one contract's scenario, not a portfolio "
                "(yet): run it on one of the portfolio's contract files"
            )
        sets = [parse_set(s) for s in set_ or []]
        ranges = [parse_range(r) for r in range_ or []]
        if method == "sobol":
            _sobol(
                scenario,
                case,
                metric,
                ranges,
                vary or [],
                parse_by(by),
                sets,
                (samples, seed),
                out_dir,
                (xlsx, quiet, charts),
            )
            return
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
    try:
        check_metrics(chosen, result.metrics)
    except UsageError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
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


def _sobol(
    scenario: Path,
    case: list[str] | None,
    metric: list[str] | None,
    ranges: list[Any],
    vary: list[str],
    by: float,
    sets: list[tuple[str, Any]],
    sampling: tuple[int, int],
    out_dir: Path,
    flags: tuple[bool, bool, bool],
) -> None:
    """``--method sobol``: raises MhepError for bad input, before anything is written."""
    from mhep_model.report.sensitivity import sobol_chart, sobol_frame, sobol_tables
    from mhep_model.report.writers import write_outputs
    from mhep_model.studies.sobol import sobol

    xlsx, quiet, charts = flags
    samples, seed = sampling
    result = sobol(
        scenario,
        ranges=ranges,
        vary=vary,
        by=by,
        sets=sets,
        cases=case or None,
        samples=samples,
        seed=seed,
    )
    chosen = metric or ["provider_surplus"]
    check_metrics(chosen, result.metrics)
    frame = sobol_frame(result, chosen)
    currency = result.run.first.base.contract.currency

    def write(folder: Path) -> list[Path]:
        written = write_outputs(folder, {"sobol.csv": frame}, result.manifest())
        if xlsx:
            from mhep_model.report.excel import Sheet, write_workbook

            kinds = {c: "text" for c in ("case", "metric", "path")}
            sheet = Sheet("Sobol", frame, kinds | {"rank": "int", "samples": "int"})
            written.append(write_workbook(folder / "results.xlsx", [sheet], currency))
        if charts:
            name = result.run.first.base.name
            written += [sobol_chart(frame, m, name, folder) for m in chosen]
        return written

    written = write_set(out_dir, write)
    if quiet:
        return
    console = console_out()
    for table in sobol_tables(frame):
        print_wide(console, table)
    console.print(f"Wrote {', '.join(str(p) for p in written)}", markup=False)


def check_metrics(chosen: list[str], known: list[str]) -> None:
    """Refuse a metric that is not a summary column, naming the closest one."""
    for name in chosen:
        if name not in known:
            hint = next(iter(difflib.get_close_matches(name, known, n=1)), None)
            also = f"; did you mean {hint}?" if hint else ""
            raise UsageError(f"no metric named {name}{also}")
