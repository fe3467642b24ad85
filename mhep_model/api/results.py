"""What the Python API returns: the CSVs' tables as pandas DataFrames, and their writers.

Every result holds ``frames`` (file name to DataFrame, exactly what the CLI writes as CSV),
``manifest`` (``run.json``: tool version, files and their hashes, options, seed) and the
computed study it came from (``study``: engine arrays for those who want them). ``write``
puts the set into a folder as the CLI does; ``save`` replaces an output folder whole (see
README "Limits and safety"); ``to_excel`` writes the workbook alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas loads with the studies, not with `import mhep_model.api`
    import pandas as pd

Writer = Callable[[Path, bool, bool], list[Path]]
"""``(folder, xlsx, charts)`` to the extra files written (workbook ``results.xlsx``,
PNG charts)."""


@dataclass(frozen=True)
class Result:
    """A study's tables, its manifest and how to write them."""

    frames: dict[str, pd.DataFrame]
    """File name (``summary.csv``, ...) to its table, in the order the CLI writes them."""
    manifest: dict[str, Any]
    """``run.json``: what produced these outputs."""
    study: Any
    """The computed study (engine arrays and labels) the tables were made from."""
    extras: Writer | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # the tables as written: arithmetic residues (|x| < 1e-6, -0.0) are 0 (spec 11)
        from mhep_model.report.writers import without_residues

        for name, frame in self.frames.items():
            self.frames[name] = without_residues(frame)

    def write(self, folder: str | Path, *, xlsx: bool = False, charts: bool = False) -> list[Path]:
        """Write the CSVs and ``run.json`` (and the workbook, the charts) into ``folder``,
        which must exist; returns the paths written."""
        from mhep_model.report.writers import write_outputs

        folder = Path(folder)
        # "<variant>/summary.csv": each folder gets its tables and a run.json of its own
        groups: dict[str, dict[str, pd.DataFrame]] = {}
        for name, frame in self.frames.items():
            sub, _, file = name.rpartition("/")
            groups.setdefault(sub, {})[file] = frame
        written: list[Path] = []
        for sub, frames in groups.items():
            written += write_outputs(folder / sub if sub else folder, frames, self.manifest)
        if self.extras is not None and (xlsx or charts):
            written += self.extras(folder, xlsx, charts)
        return written

    def save(self, out: str | Path, *, xlsx: bool = False, charts: bool = False) -> list[Path]:
        """Write the outputs to the folder ``out``, replacing an earlier set whole (a
        killed run leaves the old set or the new one); returns the paths as placed."""
        from mhep_model.report.outset import output_set

        with output_set(Path(out)) as staged:
            return staged.final(self.write(staged.dir, xlsx=xlsx, charts=charts))

    def to_excel(self, path: str | Path) -> Path:
        """Write the workbook (``results.xlsx`` of ``--xlsx``) to ``path``."""
        import os
        import tempfile

        if self.extras is None:
            raise ValueError("this result has no workbook")
        target = Path(path)
        # made beside the target, then renamed over it: never a half-written workbook
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".xlsx-") as tmp:
            (made,) = self.extras(Path(tmp), True, False)
            os.replace(made, target)
        return target


@dataclass(frozen=True)
class RunResult(Result):
    """``mhep_model.run``: ``summary`` and ``monthly`` (a portfolio's own; its contracts'
    in ``contracts_summary`` and ``contracts_monthly``), ``variance`` with actuals."""

    @property
    def portfolio(self) -> bool:
        return "portfolio_summary.csv" in self.frames

    @property
    def summary(self) -> pd.DataFrame:
        """``summary.csv`` (a portfolio: ``portfolio_summary.csv``): a row per case."""
        return self.frames["portfolio_summary.csv" if self.portfolio else "summary.csv"]

    @property
    def monthly(self) -> pd.DataFrame:
        """``monthly.csv`` (a portfolio: ``portfolio_monthly.csv``): a row per case and month."""
        return self.frames["portfolio_monthly.csv" if self.portfolio else "monthly.csv"]

    @property
    def contracts_summary(self) -> pd.DataFrame | None:
        """A portfolio's ``contracts_summary.csv``; None for a contract."""
        return self.frames.get("contracts_summary.csv")

    @property
    def contracts_monthly(self) -> pd.DataFrame | None:
        """A portfolio's ``contracts_monthly.csv``; None for a contract."""
        return self.frames.get("contracts_monthly.csv")

    @property
    def variance(self) -> pd.DataFrame | None:
        """``variance.csv`` (recorded against projected, spec 13); None without actuals."""
        return self.frames.get("variance.csv")


@dataclass(frozen=True)
class CompareResult(Result):
    """``mhep_model.compare``: ``comparison`` (tidy: variant, case, metric, value, delta),
    ``summary`` (a row per variant and case). Each variant's own CSVs are in ``frames``
    under ``<variant>/summary.csv`` etc."""

    table: pd.DataFrame | None = None
    """The summary (set by :func:`mhep_model.compare`)."""

    @property
    def summary(self) -> pd.DataFrame:
        """A row per variant and case: ``variant, case``, then the metrics compared."""
        if self.table is None:
            raise ValueError("this comparison has no summary")
        return self.table

    @property
    def comparison(self) -> pd.DataFrame:
        return self.frames["comparison.csv"]


@dataclass(frozen=True)
class SweepResult(Result):
    """``mhep_model.sweep``: ``frame`` (``sweep.csv``: a column per swept input, then the
    summary columns), a row per grid point and case; ``metrics``, those tabulated and
    charted; ``notes``, amendments that override a swept input from some month."""

    metrics: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def frame(self) -> pd.DataFrame:
        return self.frames["sweep.csv"]


@dataclass(frozen=True)
class StressResult(Result):
    """``mhep_model.stress``: ``summary`` (``stress_summary.csv``: case, metric, statistic,
    value, seed) and, when asked for, ``paths`` (``paths.csv``)."""

    @property
    def summary(self) -> pd.DataFrame:
        return self.frames["stress_summary.csv"]

    @property
    def paths(self) -> pd.DataFrame | None:
        return self.frames.get("paths.csv")


@dataclass(frozen=True)
class SensitivityResult(Result):
    """``mhep_model.sensitivity``: ``frame`` (``sensitivity.csv`` of a tornado or
    ``sobol.csv``), the metrics ranked, and ``notes``: per ranged input, the amendments
    that set it anew from some month (the range holds only until then)."""

    metrics: tuple[str, ...] = ()
    notes: Mapping[str, str] = field(default_factory=dict)

    @property
    def frame(self) -> pd.DataFrame:
        return next(iter(self.frames.values()))


@dataclass(frozen=True)
class BacktestResult(Result):
    """``mhep_model.backtest``: ``quarters`` (``backtest.csv``: a row per calendar quarter,
    model against recorded income) and ``summary`` (``backtest_summary.csv``: totals, mean
    absolute errors of the model and of a flat line, first and last payment quarters,
    implied price per outcome)."""

    @property
    def quarters(self) -> pd.DataFrame:
        return self.frames["backtest.csv"]

    @property
    def summary(self) -> pd.DataFrame:
        return self.frames["backtest_summary.csv"]


@dataclass(frozen=True)
class SolveResult:
    """``mhep_model.solve``: ``frame`` (a row per case: the value found, whether it was
    found, the range searched and the metric at its ends) and ``notes`` (amendments that
    override the varied input)."""

    frame: pd.DataFrame
    notes: tuple[str, ...]
    study: Any


@dataclass(frozen=True)
class Explanation:
    """``mhep_model.explain``: the terms in plain English and the payment-flow diagram."""

    text: tuple[str, ...]
    """Markdown lines."""
    diagram: tuple[str, ...]
    """A Mermaid flowchart in a markdown code block (``flows.md``)."""
