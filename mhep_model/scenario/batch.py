"""Batch files: a base scenario and named variants of it (overrides and extra amendments).

```yaml
base: staffordshire.yaml        # relative to this file
variants:
  as_signed: {base_amendments: drop}
  reset_2017: {set: {provider.block.annual: 82500}, amendments: [...]}
```

Every variant is resolved and validated like a scenario; its errors name the batch file,
the variant, the line and the dotted path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from pydantic import Field

from mhep_model.errors import ScenarioError, excerpt
from mhep_model.scenario.limits import MAX_VARIANTS
from mhep_model.scenario.messages import validate_model
from mhep_model.scenario.model import StrictModel
from mhep_model.scenario.paths import named_file
from mhep_model.scenario.portfolio import Portfolio, is_portfolio, load_portfolio
from mhep_model.scenario.resolve import Resolved, Variant, resolve, same_structure
from mhep_model.scenario.yamlio import Document, load_yaml

VARIANT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
"""Variant names become folder names under ``--out``."""


class BatchVariant(StrictModel):
    """One variant: overrides on the base, then amendments after the base's."""

    name: str | None = None
    set_: dict[str, Any] = Field(default_factory=dict, alias="set")
    amendments: list[dict[str, Any]] = Field(default_factory=list)
    base_amendments: Literal["keep", "drop"] = "keep"


class BatchFile(StrictModel):
    """A batch of variants of one base scenario."""

    name: str | None = None
    base: str
    variants: Annotated[dict[str, BatchVariant], Field(min_length=1, max_length=MAX_VARIANTS)]


@dataclass(frozen=True)
class Batch:
    """A loaded batch: every variant resolved (all its cases)."""

    file: str
    name: str | None
    base_file: str
    variants: tuple[Resolved, ...]
    portfolios: tuple[tuple[str, Portfolio], ...] = ()
    """When the base is a portfolio: each variant's name and portfolio."""
    titles: dict[str, str] = field(default_factory=dict)
    """Each variant's display name (its ``name:``), by variant key, where one is given."""


def is_batch(doc: Document) -> bool:
    """Whether a YAML document is a batch file (it has ``base`` and ``variants``)."""
    return isinstance(doc.data, dict) and "variants" in doc.data and "base" in doc.data


def load_batch(
    doc: Document,
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
    actuals: str | FsPath | None = None,
) -> Batch:
    """Resolve every variant of the batch file ``doc``; raises ScenarioError."""
    try:
        batch = validate_model(BatchFile, doc.data)
    except ScenarioError as e:
        context = f"variant {e.path[1]}" if len(e.path) > 1 and e.path[0] == "variants" else None
        raise e.located(file=doc.file, line=doc.line_of(e.path), context=context) from None
    seen: dict[str, str] = {}
    for name in batch.variants:
        if not VARIANT_NAME.match(name):
            raise ScenarioError(
                "variant names are folder names under --out: letters, digits, _ and - "
                f"(at most 64, starting with a letter or _), got {name!r}",
                file=doc.file,
                line=doc.line_of(("variants", name)),
                path=("variants",),
            )
        if name.lower() in seen:
            raise ScenarioError(
                f"variants '{seen[name.lower()]}' and '{name}' differ only in case: their "
                "folders would be one on some systems; rename one",
                file=doc.file,
                line=doc.line_of(("variants", name)),
                path=("variants", name),
            )
        seen[name.lower()] = name
    try:
        base_path = named_file(doc.file, batch.base)
    except ScenarioError as e:
        raise ScenarioError(
            e.message, file=doc.file, line=doc.line_of(("base",)), path=("base",)
        ) from None
    try:
        base_doc = load_yaml(base_path)
    except ScenarioError as e:
        raise ScenarioError(
            f"the base scenario {excerpt(batch.base)}: {e}",
            file=doc.file,
            line=doc.line_of(("base",)),
            path=("base",),
        ) from None
    if is_batch(base_doc):
        raise ScenarioError(
            f"{batch.base} is a batch file: a batch's base must be a scenario or portfolio file",
            file=doc.file,
            line=doc.line_of(("base",)),
            path=("base",),
        )
    if is_portfolio(base_doc):
        portfolios = tuple(
            (name, _portfolio_variant(doc, base_doc, name, v, sets, cases))
            for name, v in batch.variants.items()
        )
        titles = {k: v.name for k, v in batch.variants.items() if v.name}
        return Batch(doc.file, batch.name, str(base_path), (), portfolios, titles)
    resolved = []
    first = None
    for name, v in batch.variants.items():
        variant = Variant(
            name=name,
            doc=doc,
            path=("variants", name),
            sets=tuple(v.set_.items()),
            amendments=tuple(v.amendments),
            drop_base_amendments=v.base_amendments == "drop",
        )
        r = resolve(base_doc, sets=sets, cases=cases, variant=variant, actuals=actuals)
        if first is None:
            first = r
        else:
            try:
                same_structure(r.base, first.base)
            except ScenarioError as e:
                raise e.located(
                    file=doc.file, line=doc.line_of(("variants", name)), context=f"variant {name}"
                ) from None
        resolved.append(r)
    return Batch(
        file=doc.file,
        name=batch.name,
        base_file=str(base_path),
        variants=tuple(resolved),
        titles={k: v.name for k, v in batch.variants.items() if v.name},
    )


def _portfolio_variant(
    doc: Document,
    base_doc: Document,
    name: str,
    v: BatchVariant,
    sets: Sequence[tuple[str, Any]],
    cases: Sequence[str] | None,
) -> Portfolio:
    """A variant of a portfolio: ``set`` on ``contracts.<name>.<path>`` or the portfolio's own
    keys; each amendment names its ``contract``."""
    where = ("variants", name)
    if v.base_amendments == "drop":
        raise ScenarioError(
            "base_amendments: drop is for a scenario base; drop a contract's amendments in "
            "its own file or a copy of it",
            file=doc.file,
            line=doc.line_of((*where, "base_amendments")),
            path=(*where, "base_amendments"),
        )
    by_contract: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for j, amendment in enumerate(v.amendments):
        contract = amendment.get("contract")
        if not isinstance(contract, str):
            raise ScenarioError(
                "an amendment of a portfolio variant names its contract, e.g. "
                "{contract: staffordshire, month: 18, set: {...}}",
                file=doc.file,
                line=doc.line_of((*where, "amendments", j)),
                path=(*where, "amendments", j),
            )
        body = {k: x for k, x in amendment.items() if k != "contract"}
        by_contract.setdefault(contract, []).append((j, body))
    variants = {}
    for contract, items in by_contract.items():
        variants[contract] = Variant(
            name=name,
            doc=doc,
            path=where,
            amendments=tuple(body for _, body in items),
        )
    try:
        return load_portfolio(
            base_doc, sets=[*sets, *v.set_.items()], cases=cases, variants=variants
        )
    except ScenarioError as e:
        raise e.located(context=f"variant {name}") if e.context is None else e from None
