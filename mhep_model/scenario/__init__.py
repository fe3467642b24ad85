"""Scenario files: YAML to validated, frozen, typed config, and on to engine arrays.

The only layer that reads YAML. ``load(path, sets, cases)`` gives a :class:`Resolved`
scenario (every case, every amended version, validated); ``compile_inputs`` turns it into
the engine's arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mhep_model.scenario.compile import compile_inputs
from mhep_model.scenario.model import Scenario
from mhep_model.scenario.resolve import Case, Resolved, Version, parse_set, resolve
from mhep_model.scenario.yamlio import Document, Source, load_yaml, parse_yaml


def load(
    path: Source,
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
    actuals: str | Path | None = None,
) -> Resolved:
    """Read, validate and resolve a scenario file; raises ScenarioError or UsageError."""
    return resolve(load_yaml(path), sets=sets, cases=cases, actuals=actuals)


__all__ = [
    "Case",
    "Document",
    "Resolved",
    "Scenario",
    "Version",
    "compile_inputs",
    "load",
    "load_yaml",
    "parse_set",
    "parse_yaml",
    "resolve",
]
