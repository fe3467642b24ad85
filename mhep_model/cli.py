"""The ``mhep-model`` command: thin typer commands over the library.

Library errors become one message on stderr and an exit status: 2 for bad input (nothing
is written), 1 when the outputs cannot be written. numpy and pandas are imported inside
the commands so that ``mhep-model --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
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
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def _console() -> Console:
    """Standard output. Names in scenarios are data: never rich markup or emoji codes."""
    return Console(highlight=False, markup=False, emoji=False)


# Options several commands share.
CaseOption = Annotated[
    list[str] | None,
    typer.Option(
        "--case", metavar="NAME", help="Only this case (repeatable). Default: every case."
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=VALUE",
        help="Override a value of the base scenario before cases, e.g. "
        "--set referrals.scale=0.8 (repeatable; VALUE is YAML: 0.6, [1, 24]).",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")]
XlsxOption = Annotated[
    bool, typer.Option("--xlsx", help="Also write results.xlsx (formatted, for Excel).")
]
ChartsOption = Annotated[bool, typer.Option("--charts", help="Also write PNG charts.")]

EXIT_BAD_INPUT = 2
EXIT_CANNOT_WRITE = 1
EXIT_NOT_REACHED = 1  # solve: the target is not reached in the range


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


def _escape(text: str) -> str:
    """Text as rich shows it literally; control characters as visible escapes."""
    import re

    from rich.markup import escape

    shown = re.sub(
        "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]",
        lambda m: repr(m.group())[1:-1],
        text,
    )
    return escape(shown)


def _fail(message: str, code: int) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {_escape(message)}", markup=True, highlight=False)
    return typer.Exit(code)


def _write_set(out_dir: Path, write: Callable[[Path], list[Path]]) -> list[Path]:
    """Run ``write(folder)`` into a staging folder, then swap it into ``out_dir`` whole;
    returns the paths written, as they are once in place."""
    from mhep_model.report.outset import OutputError, output_set

    try:
        with output_set(out_dir) as staged:
            return staged.final(write(staged.dir))
    except OutputError as e:
        raise _fail(str(e), EXIT_CANNOT_WRITE) from None
    except OSError as e:
        raise _fail(f"cannot write to {out_dir}: {e.strerror or e}", EXIT_CANNOT_WRITE) from None


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
    from mhep_model.api import run_scenario
    from mhep_model.report import outputs
    from mhep_model.report.frames import yearly_frame
    from mhep_model.report.tables import kpi_table, payer_labels, yearly_tables
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

    def write(folder: Path) -> list[Path]:
        written = write_outputs(
            folder, {"monthly.csv": monthly, "summary.csv": summary}, result.manifest()
        )
        if xlsx:
            written.append(outputs.run_workbook(result, folder))
        if charts:
            written += outputs.run_pngs(result, folder)
        return written

    written = _write_set(out_dir, write)
    if quiet:
        return
    base = result.first.base
    console = _console()
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


def _print_wide(console: Console, table: Any) -> None:
    """Print a wide table; to a file or a pipe, as wide as it needs rather than 80 columns."""
    from rich.measure import Measurement

    if not console.is_terminal:
        wide = console.options.update_width(1000)
        console.width = max(console.width, Measurement.get(console, wide, table).maximum)
    console.print(table)


@app.command()
def compare(
    scenarios: Annotated[
        list[Path],
        typer.Argument(
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
) -> None:
    """Run scenarios (or a batch file's variants) side by side, case by case: a column per
    variant, its change against the first, and who gains and who loses. Writes
    comparison.csv (tidy: variant, case, metric, value, delta) and each variant's
    summary.csv and monthly.csv in a folder of its own."""
    from mhep_model.api import compare as run_compare
    from mhep_model.api import safe_label
    from mhep_model.report import outputs
    from mhep_model.report.compare import compare_table, comparison_frame, metrics, verdicts
    from mhep_model.report.tables import payer_labels
    from mhep_model.report.writers import write_outputs
    from mhep_model.scenario import parse_set

    try:
        sets = [parse_set(s) for s in set_ or []]
        result = run_compare(scenarios, sets=sets, cases=case or None)
    except MhepError as e:
        raise _fail(str(e), EXIT_BAD_INPUT) from None
    summary = result.summary()
    monthly = result.monthly()
    out_dir = out if out is not None else Path("out") / f"compare-{safe_label(scenarios[0].stem)}"
    comparison = comparison_frame(summary, result.labels[0])

    def write(folder: Path) -> list[Path]:
        written = write_outputs(folder, {"comparison.csv": comparison}, result.manifest())
        for label in result.labels:
            frames = {
                "summary.csv": summary[summary["variant"] == label].drop(columns="variant"),
                "monthly.csv": monthly[monthly["variant"] == label].drop(columns="variant"),
            }
            written += write_outputs(folder / label, frames, result.manifest())
        if xlsx:
            written.append(outputs.compare_workbook(result, comparison, folder))
        if charts:
            written += outputs.run_pngs(result, folder)
        return written

    written = _write_set(out_dir, write)
    if quiet:
        return
    base = result.runs[0].first.base
    console = _console()
    stage_names = [s.name for s in result.runs[0].inputs.stages]
    labels = payer_labels(base)
    measures = metrics(stage_names, labels)
    measures = [m for m in measures if m.column in summary.columns]
    currency = base.contract.currency
    for case_name in result.case_names:
        _print_wide(console, compare_table(summary, case_name, result.labels, measures, currency))
        for line in verdicts(summary, case_name, result.labels, labels, currency):
            console.print(line)
        console.print()
    console.print(f"Wrote {len(written)} files in {out_dir}/, comparison.csv first", markup=False)


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
) -> None:
    """Run a grid of input values in one vectorised batch and tabulate a metric over it;
    writes sweep.csv (a column per swept path, then every summary.csv column). At most
    100,000 rows (grid points x cases)."""
    from mhep_model.api import parse_param
    from mhep_model.api import sweep as run_sweep
    from mhep_model.report import outputs
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

    def write(folder: Path) -> list[Path]:
        written = write_outputs(folder, {"sweep.csv": frame}, result.manifest())
        if xlsx:
            written.append(outputs.sweep_workbook(result, frame, folder))
        if charts:
            written += outputs.sweep_pngs(result, frame, chosen, folder)
        return written

    written = _write_set(out_dir, write)
    if quiet:
        return
    base = result.run.first.base
    console = _console()
    stage_names = [s.name for s in result.run.inputs.stages]
    for table in sweep_tables(
        frame, result.frame_params, chosen, stage_names, base.contract.currency
    ):
        _print_wide(console, table)
    console.print(f"Wrote {', '.join(str(p) for p in written)}", markup=False)


@app.command()
def stress(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)],
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
) -> None:
    """Monte Carlo stress test (spec section 9): per case, the chance the provider becomes
    insolvent, the investor loses money, the SPV runs short or a payer cap binds; P5-P95 of
    the key results; the break-even referral scale. Writes stress_summary.csv, paths.csv
    and run.json."""
    import time

    from rich.progress import Progress

    from mhep_model.report import outputs
    from mhep_model.report.stress import percentile_table, risk_table
    from mhep_model.report.writers import write_outputs
    from mhep_model.scenario import parse_set
    from mhep_model.stress import stress as run_stress

    console = _console()
    started = time.perf_counter()
    bar: dict[str, Any] = {}

    def progress(done: int, total: int) -> None:
        # A bar on a terminal, for runs that take over a second; nothing with --quiet.
        if quiet or not console.is_terminal:
            return
        if "p" not in bar and time.perf_counter() - started > 1.0:
            bar["p"] = Progress(console=console, transient=True)
            bar["p"].start()
            bar["t"] = bar["p"].add_task("paths", total=total)
        if "p" in bar:
            bar["p"].update(bar["t"], completed=done)

    try:
        sets = [parse_set(s) for s in set_ or []]
        result = run_stress(
            scenario,
            cases=case or None,
            sets=sets,
            paths=paths,
            seed=seed,
            chunk_paths=chunk,
            progress=progress,
            keep_reserves=charts,
        )
    except MhepError as e:
        raise _fail(str(e), EXIT_BAD_INPUT) from None
    finally:
        if "p" in bar:
            bar["p"].stop()
    out_dir = out if out is not None else Path("out") / f"stress-{scenario.stem}"

    def write(folder: Path) -> list[Path]:
        written = write_outputs(
            folder,
            {"stress_summary.csv": result.stats_frame(), "paths.csv": result.paths_frame()},
            result.manifest(),
        )
        if xlsx:
            written.append(outputs.stress_workbook(result, folder))
        if charts:
            written += outputs.stress_pngs(result, folder)
        return written

    written = _write_set(out_dir, write)
    if quiet:
        return
    base = result.resolved.base
    stage_names = list(base.stages)
    _print_wide(console, risk_table(result))
    for case_name in result.case_names:
        _print_wide(
            console, percentile_table(result, case_name, stage_names, base.contract.currency)
        )
    console.print(f"Wrote {', '.join(str(p) for p in written)}", markup=False)


@app.command()
def solve(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)],
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
        bool, typer.Option("--quiet", "-q", help="Print only the value(s) found, one per case.")
    ] = False,
) -> None:
    """Goal seek: the value of an input at which a summary metric reaches a target, per
    case (the first crossing from the bottom of the range). Exit status 1 when the target
    cannot be reached in the range."""
    from mhep_model.report.stress import solution_table
    from mhep_model.scenario import parse_set
    from mhep_model.stress import parse_between, parse_target
    from mhep_model.stress import solve as run_solve

    try:
        sets = [parse_set(s) for s in set_ or []]
        goal = parse_target(target)
        span = parse_between(between) if between is not None else None
        solution = run_solve(scenario, vary, goal, cases=case or None, sets=sets, between=span)
    except MhepError as e:
        raise _fail(str(e), EXIT_BAD_INPUT) from None
    found = solution.roots.found
    if quiet:
        for value in solution.roots.value[found]:
            typer.echo(f"{value:.10g}")
    else:
        console = _console()
        _print_wide(console, solution_table(solution, solution.currency))
    if not found.all():
        missing = [c for c, f in zip(solution.cases, found, strict=True) if not f]
        err_console.print(
            f"{solution.metric} does not reach {solution.target:g} within the range for "
            f"{', '.join(missing)}: widen it with --between LO:HI",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(EXIT_NOT_REACHED)


@app.command()
def explain(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)],
    diagram: Annotated[
        bool, typer.Option("--diagram", help="Also write the flows as a Mermaid flowchart.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for flows.md. Default: out/<scenario file stem>/."),
    ] = None,
) -> None:
    """Say in plain English who pays whom, for which outcome, how much, in which months and
    under which caps; what the provider and the investor receive; and the amendments."""
    import json

    from rich.markdown import Markdown

    from mhep_model.report.explain import explain as explain_lines
    from mhep_model.report.explain import mermaid
    from mhep_model.report.writers import write_text
    from mhep_model.scenario import load

    try:
        resolved = load(scenario)
    except MhepError as e:
        raise _fail(str(e), EXIT_BAD_INPUT) from None
    console = _console()
    console.print(Markdown("\n".join(explain_lines(resolved))))
    if diagram:
        out_dir = out if out is not None else Path("out") / f"explain-{scenario.stem}"
        manifest = {
            "tool": "mhep-model",
            "tool_version": __version__,
            "command": "explain",
            "scenario": str(scenario),
        }

        def write(folder: Path) -> list[Path]:
            flows = write_text(folder / "flows.md", "\n".join(mermaid(resolved)) + "\n")
            return [flows, write_text(folder / "run.json", json.dumps(manifest, indent=2))]

        written = _write_set(out_dir, write)
        console.print(f"Wrote {written[0]}", markup=False)


@app.command()
def validate(
    scenarios: Annotated[
        list[Path],
        typer.Argument(help="Scenario or batch files to check.", show_default=False),
    ],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
) -> None:
    """Check scenario and batch files without running them: every case, every amended
    version. Exit status 0 when all are valid, 2 when any is not."""
    from mhep_model.scenario import load_yaml, resolve
    from mhep_model.scenario.batch import is_batch, load_batch

    failed = 0
    for path in scenarios:
        try:
            doc = load_yaml(path)
            if is_batch(doc):
                batch = load_batch(doc)
                what = f"batch of {len(batch.variants)} variants of {batch.base_file}"
            else:
                resolved = resolve(doc)
                n_amend = len(resolved.base.amendments)
                what = (
                    f"{len(resolved.cases)} cases, {n_amend} amendment{'s' if n_amend != 1 else ''}"
                )
        except MhepError as e:
            failed += 1
            err_console.print(f"[bold red]error:[/] {_escape(str(e))}")
            continue
        if not quiet:
            typer.echo(f"ok   {path} ({what})")
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the scenario format (from the models that validate it), for
    an editor's YAML support: see the README."""
    import json

    from mhep_model.scenario.model import scenario_json_schema

    typer.echo(json.dumps(scenario_json_schema(), indent=2))


@app.command()
def init(
    name: Annotated[str, typer.Argument(help="Name of the new scenario (file NAME.yaml).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a fully commented starter scenario, NAME.yaml, that runs as it is, and the JSON
    Schema beside it for editors."""
    import json
    from importlib.resources import files

    from mhep_model.report.writers import write_text
    from mhep_model.scenario.model import scenario_json_schema

    target = Path(name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")
    if target.exists() and not force:
        raise _fail(f"{target} exists: choose another name or use --force", EXIT_BAD_INPUT)
    title = target.stem.replace("_", " ").replace("-", " ").strip() or "New"
    text = files("mhep_model").joinpath("templates/starter.yaml").read_text(encoding="utf-8")
    try:
        write_text(target, text.replace("NAME", title))
        schema_path = target.parent / "mhep-scenario.schema.json"
        write_text(schema_path, json.dumps(scenario_json_schema(), indent=2) + "\n")
    except OSError as e:
        raise _fail(f"cannot write {target}: {e.strerror or e}", EXIT_CANNOT_WRITE) from None
    typer.echo(f"Wrote {target} and {schema_path}; try: mhep-model run {target}")


def main() -> None:
    """Console-script entry point."""
    app()
