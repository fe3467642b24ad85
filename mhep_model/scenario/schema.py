"""The JSON Schema of every YAML file the tool reads (scenario, portfolio, batch), from the
models that validate them, for editors and schema validators."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from mhep_model.scenario.batch import BatchFile
from mhep_model.scenario.model import Scenario
from mhep_model.scenario.portfolio import PortfolioFile

_KEYWORDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}
"""Bounds pydantic writes under its own names where a type is validated in steps (a whole
number first): JSON Schema validators know only the standard keywords."""


def standard_keywords(node: Any) -> Any:
    """``node`` with every bound under its JSON Schema keyword (``le`` -> ``maximum``,
    ``max_length`` -> ``maxItems`` or ``maxLength``), recursively."""
    if isinstance(node, list):
        return [standard_keywords(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: standard_keywords(v) for k, v in node.items()}
    for ours, theirs in _KEYWORDS.items():
        if ours in out and not isinstance(out[ours], dict):
            out.setdefault(theirs, out.pop(ours))
    for ours, kind in (("max_length", "max"), ("min_length", "min")):
        if ours in out and not isinstance(out[ours], dict):
            word = "Items" if out.get("type") == "array" else "Length"
            out.setdefault(f"{kind}{word}", out.pop(ours))
    return out


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of every file the tool reads as YAML, from the models that validate
    them: a scenario, a portfolio (``contracts``) or a batch (``base`` and ``variants``)."""
    models: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (m, "validation") for m in (Scenario, PortfolioFile, BatchFile)
    ]
    refs, defs = models_json_schema(models, by_alias=True)
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "mhep-model scenario, portfolio or batch file (docs/format.md, v3)",
        "anyOf": [refs[m] for m in models],
        **defs,
    }
    return dict(standard_keywords(schema))
