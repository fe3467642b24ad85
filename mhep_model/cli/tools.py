"""mhep-model explain, validate, schema and init."""

from pathlib import Path
from typing import Annotated

import typer

from mhep_model import __version__
from mhep_model.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_CANNOT_WRITE,
    AllowOutsideOption,
    app,
    console_out,
    err_console,
    escape,
    fail,
    visible,
    write_set,
)
from mhep_model.errors import MhepError, ScenarioError


@app.command()
def explain(
    scenario: Annotated[
        Path, typer.Argument(metavar="SCENARIO", help="Scenario YAML file.", show_default=False)
    ],
    diagram: Annotated[
        bool,
        typer.Option("--diagram", metavar="", help="Also write the flows as a Mermaid flowchart."),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for flows.md. Default: out/<scenario file stem>/."),
    ] = None,
    allow_outside: AllowOutsideOption = None,
) -> None:
    """Say in plain English who pays whom, for which outcome, how much, in which months and
    under which caps; what the provider and the investor receive; and the amendments."""
    import json

    from rich.markdown import Markdown

    import mhep_model.api as api
    from mhep_model.report.writers import write_text

    try:
        explained = api.explain(scenario)
    except MhepError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    text, diagram_lines = explained.text, explained.diagram
    console = console_out()
    console.print(Markdown("\n".join(text)))
    if diagram:
        out_dir = out if out is not None else Path("out") / f"explain-{scenario.stem}"
        manifest = {
            "tool": "mhep-model",
            "tool_version": __version__,
            "command": "explain",
            "scenario": str(scenario),
        }

        def write(folder: Path) -> list[Path]:
            flows = write_text(folder / "flows.md", "\n".join(diagram_lines) + "\n")
            return [flows, write_text(folder / "run.json", json.dumps(manifest, indent=2))]

        written = write_set(out_dir, write)
        console.print(f"Wrote {visible(written[0])}", markup=False)


@app.command()
def validate(
    scenarios: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="Scenario, portfolio or batch files to check.",
            show_default=False,
        ),
    ],
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", metavar="", help="Print only errors.")
    ] = False,
    allow_outside: AllowOutsideOption = None,
) -> None:
    """Check scenario and batch files without running them: every case, every amended
    version. Exit status 0 when all are valid, 2 when any is not."""
    import mhep_model.api as api

    failed = 0
    for path in scenarios:
        try:
            what = api.validate(path)
        except MhepError as e:
            failed += 1
            for one in e.all() if isinstance(e, ScenarioError) else [e]:
                err_console.print(f"[bold red]error:[/] {escape(str(one))}")
            continue
        if not quiet:
            typer.echo(f"ok   {visible(path)} ({what})")
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario, portfolio and batch files (from the models that
    validate them), for an editor's YAML support: see the README."""
    import json

    from mhep_model.scenario.schema import scenario_json_schema

    typer.echo(json.dumps(scenario_json_schema(), indent=2))


@app.command()
def init(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Name of the new scenario (file NAME.yaml).")
    ],
    force: Annotated[
        bool, typer.Option("--force", metavar="", help="Overwrite an existing file.")
    ] = False,
) -> None:
    """Write a fully commented starter scenario, NAME.yaml, that runs as it is, and the JSON
    Schema beside it for editors."""
    import json
    from importlib.resources import files

    from mhep_model.report.writers import write_text
    from mhep_model.scenario.schema import scenario_json_schema

    target = Path(name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")
    if target.exists() and not force:
        raise fail(f"{target} exists: choose another name or use --force", EXIT_BAD_INPUT)
    title = target.stem.replace("_", " ").replace("-", " ").strip() or "New"
    text = files("mhep_model").joinpath("templates/starter.yaml").read_text(encoding="utf-8")
    try:
        write_text(target, text.replace("NAME", title))
        schema_path = target.parent / "mhep-scenario.schema.json"
        write_text(schema_path, json.dumps(scenario_json_schema(), indent=2) + "\n")
    except OSError as e:
        raise fail(f"cannot write {target}: {e.strerror or e}", EXIT_CANNOT_WRITE) from None
    typer.echo(
        f"Wrote {visible(target)} and {visible(schema_path)}; try: mhep-model run {visible(target)}"
    )
