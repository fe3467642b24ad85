"""What every command shares: the typer app, options, consoles, messages, exit codes and
the output-set writer. Library errors become one message on stderr and an exit status: 2
for bad input (nothing is written), 1 when the outputs cannot be written."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from mhep_model import __version__

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Financial scenario modeller for outcomes contracts (social impact bonds).",
    # click's plain help: typer's rich help imports markdown, pygments and rich's traceback
    # machinery (about 60 ms), more than the rest of start-up together (issue 15)
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def console_out() -> Console:
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
ActualsOption = Annotated[
    Path | None,
    typer.Option(
        "--actuals",
        metavar="FILE",
        help="Recorded monthly counts (CSV, spec section 13) replacing the scenario's own "
        "actuals.file; relative to the current folder.",
    ),
]


def _allow_outside(ctx: typer.Context, paths: list[Path] | None) -> list[Path] | None:
    # for this command only: set before it runs, undone when it ends
    from mhep_model.scenario.paths import reset_allowed, set_allowed

    token = set_allowed(tuple(paths or ()))
    ctx.call_on_close(lambda: reset_allowed(token))
    return paths


AllowOutsideOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--allow-outside",
        metavar="PATH",
        callback=_allow_outside,
        help="Let scenario files name files in this folder (or this file) although it lies "
        "outside their own folder: a portfolio's contracts, a batch's base, actuals.file "
        "(repeatable). Without it those must be inside the folder of the file naming them.",
    ),
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        metavar="",
        help="Replace --out even if it holds files mhep-model did not write.",
    ),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", metavar="", help="Print nothing on success.")
]
XlsxOption = Annotated[
    bool, typer.Option("--xlsx", metavar="", help="Also write results.xlsx (formatted, for Excel).")
]
ChartsOption = Annotated[bool, typer.Option("--charts", metavar="", help="Also write PNG charts.")]

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
            "--version",
            metavar="",
            callback=_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Financial scenario modeller for outcomes contracts (social impact bonds)."""


def visible(text: object) -> str:
    """Text with its control characters (ESC, BEL, ...) as visible escapes, for lines
    printed without markup (a file name is data: it never drives the terminal)."""
    import re

    return re.sub(
        "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]",
        lambda m: repr(m.group())[1:-1],
        str(text),
    )


def escape(text: str) -> str:
    """Text as rich shows it literally; control characters as visible escapes."""
    from rich.markup import escape

    return escape(visible(text))


def fail(message: str, code: int) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)
    return typer.Exit(code)


def write_set(
    out_dir: Path, write: Callable[[Path], list[Path]], force: bool = False
) -> list[Path]:
    """Run ``write(folder)`` into a staging folder, then swap it into ``out_dir`` whole;
    returns the paths written, as they are once in place. A folder holding files
    mhep-model did not write is refused (exit 2) unless ``force``; files of the previous
    set that this one does not have (a workbook of an earlier --xlsx run) are named."""
    from mhep_model.report.outset import ForeignFilesError, OutputError, output_set

    try:
        with output_set(out_dir, force=force) as staged:
            written = staged.final(write(staged.dir))
    except ForeignFilesError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from None
    except OutputError as e:
        raise fail(str(e), EXIT_CANNOT_WRITE) from None
    except OSError as e:
        raise fail(f"cannot write to {out_dir}: {e.strerror or e}", EXIT_CANNOT_WRITE) from None
    if staged.dropped:
        err_console.print(
            f"note: {', '.join(staged.dropped)} of the previous run in {out_dir} "
            f"{'is' if len(staged.dropped) == 1 else 'are'} gone: this run did not write "
            f"{'it' if len(staged.dropped) == 1 else 'them'} (an output folder holds one "
            "run's files)",
            markup=False,
            highlight=False,
        )
    return written


def writing(console: Console, quiet: bool, job: Callable[[], list[Path]]) -> list[Path]:
    """Run ``job`` (writing the outputs) with a spinner on a terminal, so that a large
    output set is never a silent wait; nothing with --quiet or off a terminal."""
    if quiet or not console.is_terminal:
        return job()
    with console.status("Writing outputs..."):
        return job()


def _keep_whole(table: Any) -> None:
    """Cells are never cut: every column's width is at least its longest word (numbers and
    dates are single words), so a narrow table wraps labels between words, never inside
    one, and never ends a number with an ellipsis."""
    from rich.table import Table
    from rich.text import Text

    if not isinstance(table, Table):
        return
    for column in table.columns:
        cells = [column.header, *column.cells]
        words = [
            len(word)
            for cell in cells
            for word in (cell.plain if isinstance(cell, Text) else str(cell)).split()
        ]
        column.min_width = max([column.min_width or 0, *words])
        column.overflow = "fold"


def show(console: Console, renderable: Any, *, full_width_off_terminal: bool = False) -> None:
    """Print a table, never cutting a cell: its labels wrap to fit the terminal; one too
    wide for the terminal is printed at its natural width (the terminal wraps its lines)
    after a note. ``full_width_off_terminal``: to a file or a pipe, as wide as it needs
    rather than 80 columns."""
    from rich.measure import Measurement

    _keep_whole(renderable)
    need = Measurement.get(console, console.options.update_width(1000), renderable)
    width = console.width
    if full_width_off_terminal and not console.is_terminal:
        console.width = max(width, need.maximum)
    elif need.minimum > width:
        if console.is_terminal:
            console.print(
                f"(this table needs {need.minimum} columns and the terminal has {width}: "
                "widen the terminal, or pipe the output to a file, to read it line by line)",
                markup=False,
                highlight=False,
            )
        console.width = need.maximum  # at its natural width: rich cuts nothing there
    console.print(renderable)
    console.width = width


def print_wide(console: Console, table: Any) -> None:
    """Print a wide table (:func:`show`); to a file or a pipe, as wide as it needs."""
    show(console, table, full_width_off_terminal=True)


ThroughOption = Annotated[
    bool,
    typer.Option(
        "--through-amendments",
        metavar="",
        help="Hold the varied value for the whole contract: amendments that change the same "
        "input are set aside for it (by default an amendment replaces it from its month).",
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="Run the blocks of work on this Dask scheduler (tcp://HOST:PORT); the same "
        "results as on one machine. Needs the dask extra.",
    ),
]
DaskOption = Annotated[
    bool, typer.Option("--dask", metavar="", help="Run the blocks on a local Dask cluster.")
]


class ProgressBar:
    """``bar(done, total)``: a bar with the time left on a terminal from the first report;
    off a terminal, one line with the time the rest should take once the first block is
    done; nothing with --quiet. ``stop()`` clears the bar."""

    def __init__(self, console: Console, quiet: bool, label: str) -> None:
        self.console, self.quiet, self.label = console, quiet, label
        self.bar: Any = None
        self.started, self.told = time.monotonic(), False

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if not self.console.is_terminal:
            if not self.told and 0 < done < total:
                took = time.monotonic() - self.started
                left = took / done * (total - done)
                self.console.print(
                    f"{self.label}: {done:,} of {total:,} done in {took:.1f} s; "
                    f"about {left:.0f} s left",
                    markup=False,
                    highlight=False,
                )
                self.told = True
            return
        if self.bar is None:
            from rich.progress import Progress

            self.bar = Progress(console=self.console, transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def preload(*modules: str) -> None:
    """Import ``modules`` on a background thread while this one computes (numpy releases
    the GIL), so that the writers' imports cost no wall time. Call it after the command's
    own imports: then the two threads never wait on each other's import locks."""
    import importlib
    import threading

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except ImportError:  # the main thread's own import will say what is wrong
                return

    threading.Thread(target=load, name="preload", daemon=True).start()


def tune_allocator() -> None:
    """A command that computes is a process of its own: it keeps freed array memory for
    reuse (:mod:`mhep_model.engine.heap`), as a library import does not. Called in the
    commands' bodies, so that ``--help`` imports no numpy."""
    from mhep_model.engine.heap import retain_freed_memory

    retain_freed_memory()
