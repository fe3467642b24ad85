"""Portfolio files (spec section 12): one SPV and one investor over several contracts.

```yaml
name: MHEP 2016 - three contracts, one SPV
contracts: {staffordshire: ../staffordshire.yaml, haringey: ../haringey.yaml}
shared_payers: {sof: {cap: 990000}, cbo: {cap: 330000}}
spv: {management_fee_annual: 90000, min_cash: 20000}
investor: {commitment: 400000, equity_share: 0.25}
```

Each contract file is a scenario, resolved and validated on its own (its cases,
amendments and actuals apply to it); its errors name its file and line and the portfolio
that included it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from mhep_model.errors import ScenarioError, UsageError
from mhep_model.scenario.limits import MAX_CV, MAX_TEXT
from mhep_model.scenario.messages import validate_model
from mhep_model.scenario.model import Investor, Money, Spv, StrictModel
from mhep_model.scenario.paths import named_file
from mhep_model.scenario.resolve import Resolved, Variant, resolve
from mhep_model.scenario.yamlio import Document, Source, load_yaml

MAX_CONTRACTS = 200
"""Most contracts in one portfolio (spec section 12)."""
CONTRACT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SharedPayer(StrictModel):
    """One organisation paying across contracts: one cap binds the sum over them."""

    name: Annotated[str, Field(max_length=MAX_TEXT)] | None = None
    cap: Money | None = None


class PortfolioUncertainty(StrictModel):
    """A portfolio's own uncertainty (spec 9, stochastic runs only)."""

    common_level_cv: Annotated[float, Field(ge=0, le=MAX_CV)] = 0.0
    """One Gamma multiplier (mean 1, this CV) per path on every contract's referrals: a
    shock that hits every contract at once (COVID, the labour market)."""


class PortfolioFile(StrictModel):
    """A whole portfolio file, as validated."""

    name: Annotated[str, Field(max_length=MAX_TEXT)]
    contracts: Annotated[dict[str, str], Field(min_length=1, max_length=MAX_CONTRACTS)]
    shared_payers: dict[str, SharedPayer] = Field(default_factory=dict)
    spv: Spv = Spv()
    investor: Investor
    uncertainty: PortfolioUncertainty = PortfolioUncertainty()


@dataclass(frozen=True)
class Contract:
    """One contract of a portfolio: its name there and its resolved scenario."""

    name: str
    file: str
    resolved: Resolved


@dataclass(frozen=True)
class Portfolio:
    """A portfolio file with every contract resolved (the same cases in each)."""

    doc: Document
    spec: PortfolioFile
    contracts: tuple[Contract, ...]
    case_names: tuple[str, ...]
    sets: tuple[tuple[str, Any], ...] = ()

    @property
    def file(self) -> str:
        return self.doc.file

    @property
    def name(self) -> str:
        return self.spec.name


def is_portfolio(doc: Document) -> bool:
    """Whether a YAML document is a portfolio file (it has ``contracts``)."""
    return isinstance(doc.data, dict) and "contracts" in doc.data


def _located(e: ScenarioError, doc: Document) -> ScenarioError:
    return e.located(file=doc.file, line=doc.line_of(e.path))


def load_portfolio(
    doc: Document,
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
    case_sets: Sequence[tuple[str, Any]] = (),
    variants: Mapping[str, Variant] | None = None,
    edit: Callable[[str, Document], Document] | None = None,
) -> Portfolio:
    """Validate a portfolio file and resolve each contract; raises ScenarioError.

    ``sets`` with a path ``contracts.<name>.<path>`` override that contract's base (before
    its cases; ``contracts.*.<path>`` every contract's); any other path overrides the
    portfolio's own keys. ``case_sets`` (a sweep's or goal seek's values) do the same after
    each case's own overrides. ``variants`` add a batch variant's amendments to a contract;
    ``edit(name, doc)`` changes a contract's file as read (a study moving its amendments).
    """
    raw = dict(doc.data) if isinstance(doc.data, dict) else doc.data
    own_sets, contract_sets = _split_sets(sets, raw)
    own_late, contract_late = _split_sets(case_sets, raw)
    for path_text, value in [*own_sets, *own_late]:
        _assign_portfolio(raw, path_text, value, doc)
    try:
        spec = validate_model(PortfolioFile, raw)
    except ScenarioError as e:
        raise _located(e, doc) from None
    if spec.spv.pay_provider_when_able:
        raise _located(
            ScenarioError(
                "is not allowed on a portfolio's SPV (spec v3, section 11: holding back "
                "several providers' pay would need an order among them); model it on one "
                "contract run on its own",
                path=("spv", "pay_provider_when_able"),
            ),
            doc,
        )
    for name in spec.contracts:
        if not CONTRACT_NAME.match(name):
            raise ScenarioError(
                "contract names are identifiers (letters, digits and _, not first a digit), "
                f"got {name!r}",
                file=doc.file,
                line=doc.line_of(("contracts", name)),
                path=("contracts",),
            )
    unknown = [n for n in [*contract_sets, *contract_late] if n not in [*spec.contracts, "*"]]
    if unknown:
        raise UsageError(
            f"contracts.{unknown[0]}...: the portfolio {doc.file} has no contract "
            f"'{unknown[0]}'; its contracts are {', '.join(spec.contracts)}"
        )
    contracts = []
    for name, file in spec.contracts.items():
        mine = [*contract_sets.get("*", []), *contract_sets.get(name, [])]
        late = [*contract_late.get("*", []), *contract_late.get(name, [])]
        variant = (variants or {}).get(name)
        contracts.append(_load_contract(doc, name, file, mine, late, cases, variant, edit))
    case_names = _check_cases(doc, contracts)
    _check_shared_payers(doc, spec, contracts)
    currencies = {c.name: c.resolved.base.contract.currency for c in contracts}
    if len(set(currencies.values())) > 1:
        raise ScenarioError(
            "one SPV keeps one currency: the contracts use "
            + ", ".join(f"{n} {cur}" for n, cur in currencies.items()),
            file=doc.file,
            line=doc.line_of(("contracts",)),
            path=("contracts",),
        )
    return Portfolio(doc, spec, tuple(contracts), case_names, tuple(sets))


def _split_sets(
    sets: Sequence[tuple[str, Any]], raw: Any
) -> tuple[list[tuple[str, Any]], dict[str, list[tuple[str, Any]]]]:
    own: list[tuple[str, Any]] = []
    per_contract: dict[str, list[tuple[str, Any]]] = {}
    for path, value in sets:
        parts = path.split(".")
        if parts[0] == "contracts":
            if len(parts) < 3:
                raise UsageError(
                    f"{path}: name a contract (or * for every one) and a path in it, e.g. "
                    "contracts.staffordshire.referrals.scale=0.8"
                )
            per_contract.setdefault(parts[1], []).append((".".join(parts[2:]), value))
        else:
            own.append((path, value))
    return own, per_contract


def _assign_portfolio(raw: Any, path_text: str, value: Any, doc: Document) -> None:
    if not isinstance(raw, dict):
        return
    parts = path_text.split(".")
    if not all(parts):
        raise UsageError(f"--set {path_text}: not a dotted path such as investor.commitment")
    node = raw
    for key in parts[:-1]:
        child = node.get(key)
        if child is None:
            child = {}
        elif not isinstance(child, dict):
            raise ScenarioError(
                f"{key} is a single value, not a mapping: set it whole",
                file=doc.file,
                line=doc.line_of(tuple(parts)),
                path=tuple(parts),
            )
        node[key] = child = dict(child)
        node = child
    node[parts[-1]] = value


def _load_contract(
    doc: Document,
    name: str,
    file: str,
    sets: Sequence[tuple[str, Any]],
    case_sets: Sequence[tuple[str, Any]],
    cases: Sequence[str] | None,
    variant: Variant | None = None,
    edit: Callable[[str, Document], Document] | None = None,
) -> Contract:
    where = ("contracts", name)
    line = doc.line_of(where)
    try:
        path = named_file(doc.file, file)
    except ScenarioError as e:
        raise ScenarioError(e.message, file=doc.file, line=line, path=where) from None
    try:
        contract_doc = load_yaml(path)
    except ScenarioError as e:
        raise ScenarioError(
            f"contract '{name}': {e}", file=doc.file, line=line, path=where
        ) from None
    if is_portfolio(contract_doc):
        raise ScenarioError(
            f"{file} is a portfolio: a portfolio's contracts must be scenario files",
            file=doc.file,
            line=line,
            path=where,
        )
    if edit is not None:
        contract_doc = edit(name, contract_doc)
    try:
        resolved = resolve(
            contract_doc, sets=sets, cases=None, case_sets=case_sets, variant=variant
        )
    except ScenarioError as e:
        context = f"contract {name} of portfolio {doc.file}"
        raise (
            e.located(context=context)
            if e.context is None
            else ScenarioError(
                e.message, file=e.file, line=e.line, path=e.path, context=f"{e.context}, {context}"
            )
        ) from None
    if cases:
        missing = [c for c in cases if c not in [k.name for k in resolved.cases]]
        if missing:
            raise UsageError(
                f"{doc.file}: no case named {', '.join(repr(c) for c in missing)} in contract "
                f"'{name}'; its cases are {', '.join(c.name for c in resolved.cases)}"
            )
        resolved = resolve(
            contract_doc, sets=sets, cases=cases, case_sets=case_sets, variant=variant
        )
    if any(c.scenario.contract.stop is not None for c in resolved.cases):
        raise ScenarioError(
            "contract.stop is not allowed in a portfolio's contract (spec v3, section 11: one "
            "SPV over several contracts would need a stop rule for shared caps and an order "
            "among providers); run the contract on its own to model a stop",
            file=contract_doc.file,
            line=contract_doc.line_of(("contract", "stop")),
            path=("contract", "stop"),
            context=f"contract {name} of portfolio {doc.file}",
        )
    return Contract(name, str(path), resolved)


def _check_cases(doc: Document, contracts: list[Contract]) -> tuple[str, ...]:
    """Every contract has the same case names; the first contract's order is used."""
    first = [c.name for c in contracts[0].resolved.cases]
    for contract in contracts[1:]:
        names = [c.name for c in contract.resolved.cases]
        missing = [n for n in first if n not in names]
        extra = [n for n in names if n not in first]
        if missing or extra:
            what = (
                f"has no case {', '.join(missing)}"
                if missing
                else f"has a case {', '.join(extra)} that {contracts[0].name} does not"
            )
            raise ScenarioError(
                f"contract '{contract.name}' {what}: every contract of a portfolio needs the "
                "same cases (a contract without cases has the one case 'base')",
                file=doc.file,
                line=doc.line_of(("contracts", contract.name)),
                path=("contracts", contract.name),
            )
    return tuple(first)


def _check_shared_payers(doc: Document, spec: PortfolioFile, contracts: list[Contract]) -> None:
    for key in spec.shared_payers:
        path = ("shared_payers", key)
        line = doc.line_of(path)
        external = []
        for contract in contracts:
            for case in contract.resolved.cases:
                payer = case.scenario.payers.get(key)
                if payer is not None and payer.self_:
                    raise ScenarioError(
                        f"'{key}' is a self-funded payer in contract '{contract.name}': only "
                        "external payers can be shared",
                        file=doc.file,
                        line=line,
                        path=path,
                    )
            if key in contract.resolved.base.payers:
                external.append(contract.name)
        if not external:
            raise ScenarioError(
                f"no contract has a payer '{key}': a shared payer must be a payer of at least "
                "one contract",
                file=doc.file,
                line=line,
                path=path,
            )


def refuse_portfolio_actuals(actuals: Any, portfolio: Source) -> None:
    """Actuals name one contract's records; a portfolio's contracts carry their own."""
    if actuals is not None:
        name = load_yaml(portfolio).file
        raise UsageError(
            f"--actuals is for one contract: the contracts of {name} carry their own "
            "(actuals.file in each contract file)"
        )


def shared_name(pf: Portfolio, key: str) -> str:
    """A shared payer's display name: the portfolio's, else a contract's, else the key."""
    shared = pf.spec.shared_payers[key]
    if shared.name:
        return shared.name
    for c in pf.contracts:
        payer = c.resolved.base.payers.get(key)
        if payer is not None and payer.name:
            return payer.name
    return key
