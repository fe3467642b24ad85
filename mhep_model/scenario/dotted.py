"""Dotted paths into plain scenario data: ``stages.job_start.rate``."""

from __future__ import annotations

from typing import Any

from mhep_model.errors import Path, ScenarioError, dotted

STRUCTURAL = ("stages", "outcomes", "payers")
"""Sections whose keys cases, amendments and overrides may not add or remove."""


def split_path(text: str) -> Path:
    parts = tuple(text.strip().split("."))
    if not all(parts):
        raise ScenarioError(f"'{text}' is not a dotted path such as stages.job_start.rate")
    return parts


def assign(raw: dict[str, Any], path: Path, value: Any, *, structural: bool) -> None:
    """Set ``path`` in plain data, creating mappings a default left out.

    Copy-on-write: every mapping on the way down is copied before it is changed, so data
    shared with the document (or with other cases) is never modified; ``raw`` itself must be
    the caller's own (shallow) copy.
    """
    node: Any = raw
    for n, key in enumerate(path[:-1]):
        if structural and n == 1 and path[0] in STRUCTURAL and key not in node:
            kind = path[0][:-1]
            raise ScenarioError(
                f"there is no {kind} '{key}' in the base (cases, amendments and --set may not add "
                f"{path[0]})",
                path=path[:2],
            )
        child = node.get(key)
        if child is None:
            child = {}
        elif not isinstance(child, dict):
            raise ScenarioError(
                f"{dotted(path[: n + 1])} is a single value, not a mapping: set it whole",
                path=path,
            )
        node[key] = child = dict(child)
        node = child
    node[str(path[-1])] = value
