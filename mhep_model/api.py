"""The library's entry points: scenario file in, results and tidy tables out."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mhep_model import __version__
from mhep_model.engine import Results, run
from mhep_model.engine.inputs import Inputs
from mhep_model.report.frames import RowInfo, monthly_frame, summary_frame
from mhep_model.scenario import Resolved, compile_inputs, load


@dataclass(frozen=True)
class RunOutput:
    """A deterministic run of every selected case of a scenario."""

    resolved: Resolved
    inputs: Inputs
    results: Results
    rows: tuple[RowInfo, ...]

    def summary(self) -> pd.DataFrame:
        """``summary.csv`` as a frame."""
        return summary_frame(self.results, self.rows)

    def monthly(self) -> pd.DataFrame:
        """``monthly.csv`` as a frame."""
        return monthly_frame(self.results, self.rows)

    def manifest(self) -> dict[str, Any]:
        """What produced these outputs: tool version, scenario file and its hash, options."""
        path = Path(self.resolved.file)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        return {
            "tool": "mhep-model",
            "tool_version": __version__,
            "command": "run",
            "scenario": str(path),
            "scenario_name": self.resolved.base.name,
            "scenario_sha256": digest,
            "cases": [r.case for r in self.rows],
            "set": {k: v for k, v in self.resolved.sets},
            "seed": None,
        }


def run_scenario(
    path: str | Path,
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
) -> RunOutput:
    """Load, validate and run every (selected) case of the scenario at ``path``."""
    resolved = load(path, sets=sets, cases=cases)
    inputs = compile_inputs(resolved)
    results = run(inputs)
    rows = tuple(RowInfo(c.name, c.scenario.contract.start) for c in resolved.cases)
    return RunOutput(resolved, inputs, results, rows)
