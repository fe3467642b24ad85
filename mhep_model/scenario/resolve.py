"""Cases, amendments and ``--set`` overrides (spec section 8) applied to a scenario document.

The result is, per case, the sequence of validated scenario *versions* in force from given
contract months on: version 0 is the case's own scenario (base, then ``--set``, then the
case's overrides), each later one adds the amendments of one month. Every version is
validated as a whole and must keep the base's stages, outcomes, payers and bands.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mhep_model.errors import Path, ScenarioError, UsageError, dotted
from mhep_model.scenario.limits import MAX_VERSIONS
from mhep_model.scenario.model import Scenario, bands_of
from mhep_model.scenario.validate import check_shares, validate_scenario
from mhep_model.scenario.yamlio import Document, parse_value

AMENDABLE = tuple(
    re.compile(p)
    for p in (
        r"referrals\.(monthly|scale)",
        r"stages\.[^.]+\.(rate(\.[^.]+)?|capacity_per_fte)",
        r"outcomes\.[^.]+\.(tariff|paid_by)(\.[^.]+)?",
        r"payers\.[^.]+\.(tariff_factor|cap)",
        r"provider\.block\.annual",
        r"provider\.outcome_payments\.(share_of_tariff|annual_cap|tariffs(\.[^.]+){0,2})",
        r"provider\.costs\.(staff_fte|cost_per_fte|fixed_annual)",
        r"spv\.management_fee_annual",
    )
)
NOT_SCALABLE = tuple(
    re.compile(p)
    for p in (
        r"outcomes\.[^.]+\.paid_by(\.[^.]+)?",
        r"payers\.[^.]+\.cap",
        r"provider\.outcome_payments\.annual_cap",
    )
)
AMENDABLE_HELP = (
    "referrals.monthly (a number), referrals.scale, stage rates and capacity_per_fte, "
    "outcome tariffs, paid_by shares, payer tariff_factor and cap, provider.block.annual, "
    "provider share_of_tariff/tariffs and annual_cap, provider.costs.* (not mobilisation), "
    "spv.management_fee_annual"
)
_STRUCTURAL = ("stages", "outcomes", "payers")


@dataclass(frozen=True)
class Version:
    """A scenario as in force from contract ``month`` on."""

    month: int
    scenario: Scenario
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    """One case of a run: its versions in month order, the first from month 1."""

    name: str
    versions: tuple[Version, ...]

    @property
    def scenario(self) -> Scenario:
        """The case's scenario before any amendment."""
        return self.versions[0].scenario


@dataclass(frozen=True)
class Resolved:
    """A scenario file with every case resolved and validated."""

    doc: Document
    base: Scenario
    cases: tuple[Case, ...]
    sets: tuple[tuple[str, Any], ...] = ()
    variant: str | None = None

    @property
    def file(self) -> str:
        """The scenario file's name as given."""
        return self.doc.file


def parse_set(text: str) -> tuple[str, Any]:
    """``PATH=VALUE`` from the command line; VALUE read as a YAML scalar or flow collection."""
    path, sep, value = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise UsageError(f"--set takes PATH=VALUE, e.g. referrals.scale=0.6; got '{text}'")
    try:
        parsed = parse_value(value)
    except ScenarioError as e:
        raise UsageError(f"--set {path}: cannot read the value '{value}': {e.message}") from None
    return path, parsed


@dataclass(frozen=True)
class Variant:
    """Overrides and extra amendments on a base scenario, written in a batch file."""

    name: str
    doc: Document
    """The batch file, for line numbers."""
    path: Path
    """Where the variant is written in ``doc``, e.g. ``("variants", "reset_2017")``."""
    sets: tuple[tuple[str, Any], ...] = ()
    amendments: tuple[Any, ...] = ()
    drop_base_amendments: bool = False


@dataclass(frozen=True)
class _Origin:
    """Where an overridden value was written: a file and either a line or a path in it."""

    file: str
    line: int | None = None
    doc: Document | None = None
    prefix: Path | None = None
    via: str | None = None
    rename: bool = False
    """Report errors under ``prefix`` (the path as written in that file)."""

    def line_for(self, rest: Path) -> int | None:
        if self.doc is not None and self.prefix is not None:
            return self.doc.line_of(self.prefix + rest)
        return self.line


class _Locator:
    """Finds the file and line an error's path was written on: an override's, else the
    scenario file's."""

    def __init__(self, doc: Document, prefix: str | None = None) -> None:
        self.doc = doc
        self.prefix = prefix  # "variant X", put before every context
        self.origins: dict[Path, _Origin] = {}

    def copy(self) -> _Locator:
        other = _Locator(self.doc, self.prefix)
        other.origins = dict(self.origins)
        return other

    def origin_at(self, path: Path) -> _Origin:
        """Where the value at ``path`` of the document being resolved was written."""
        for n in range(len(path), 0, -1):
            origin = self.origins.get(path[:n])
            if origin is not None:
                return _Origin(origin.file, line=origin.line_for(path[n:]))
        return _Origin(self.doc.file, line=self.doc.line_of(path))

    def _context(self, *parts: str | None) -> str | None:
        return ", ".join(p for p in (self.prefix, *parts) if p) or None

    def error(self, e: ScenarioError, context: str | None) -> ScenarioError:
        for n in range(len(e.path), 0, -1):
            origin = self.origins.get(e.path[:n])
            if origin is not None:
                if origin.rename and origin.prefix is not None:
                    e = ScenarioError(e.message, path=origin.prefix + e.path[n:])
                    located = e.located(
                        file=origin.file,
                        line=origin.line_for(e.path[len(origin.prefix) :]),
                        context=self._context(context, origin.via),
                    )
                    return located
                return e.located(
                    file=origin.file,
                    line=origin.line_for(e.path[n:]),
                    context=self._context(context, origin.via),
                )
        for path, origin in self.origins.items():  # an error about an ancestor of one
            if path[: len(e.path)] == e.path:
                return e.located(
                    file=origin.file,
                    line=origin.line_for(()),
                    context=self._context(context, origin.via),
                )
        return e.located(
            file=self.doc.file, line=self.doc.line_of(e.path), context=self._context(context)
        )


def resolve(
    doc: Document,
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
    variant: Variant | None = None,
    case_sets: Sequence[tuple[str, Any]] = (),
) -> Resolved:
    """Validate ``doc`` with its cases and amendments; raises :class:`ScenarioError`.

    ``sets`` (from the command line) apply to the base first, then a batch file's
    ``variant`` adds its own overrides and amendments; ``case_sets`` (a sweep's values)
    apply to every case after the case's own overrides.
    """
    if not isinstance(doc.data, dict):
        raise ScenarioError(
            "a scenario file must be a mapping of keys (name, contract, ...)", file=doc.file, line=1
        )
    raw = dict(doc.data)  # _assign copies what it changes, so shallow copies suffice
    where = _Locator(doc, f"variant {variant.name}" if variant is not None else None)
    for path_text, value in sets:
        path = _split(path_text)
        if path[0] in ("cases", "amendments"):
            raise UsageError(f"--set {path_text}: --set cannot change {path[0]}")
        where.origins[path] = _Origin(
            doc.file, line=doc.line_of(path), via=f"from --set {path_text}"
        )
        try:
            _assign(raw, path, value, structural=True)
        except ScenarioError as e:
            raise where.error(e, None) from None
    if variant is not None:
        _apply_variant(raw, variant, where)
    try:
        base = validate_scenario(raw)
        # The base is checked before the cases, so that its mistakes are not put on a case.
        check_shares(base, 1, base.contract.horizon)
    except ScenarioError as e:
        raise where.error(e, None) from None

    amendments = sorted(enumerate(base.amendments), key=lambda ia: ia[1].month)
    for i, amendment in amendments:
        try:
            _check_amendment(amendment, base, i)
        except ScenarioError as e:
            raise where.error(e, None) from None

    case_map = base.cases if base.cases is not None else {"base": {}}
    names = list(case_map)
    if cases:
        unknown = [c for c in cases if c not in case_map]
        if unknown:
            line = doc.line_of(("cases",)) or 1
            raise UsageError(
                f"{doc.file}:{line}: no case named {', '.join(repr(c) for c in unknown)}; "
                f"the cases are {', '.join(names)}"
            )
        names = [n for n in names if n in cases]

    n_versions = len(names) * (len({a.month for _, a in amendments} - {1}) + 1)
    if n_versions > MAX_VERSIONS:
        raise where.error(
            ScenarioError(
                f"{len(names)} cases with {len(amendments)} amendments make {n_versions:,} "
                f"amended versions to validate; the most allowed is {MAX_VERSIONS}: use fewer "
                "cases (or --case) or put changes of the same month in one amendment",
                path=("amendments",) if amendments else ("cases",),
            ),
            None,
        )
    raw.pop("cases", None)
    raw.pop("amendments", None)
    resolved = []
    for name in names:
        resolved.append(
            _resolve_case(name, case_map[name], raw, base, amendments, where, case_sets)
        )
    return Resolved(
        doc=doc,
        base=base,
        cases=tuple(resolved),
        sets=tuple(sets),
        variant=variant.name if variant is not None else None,
    )


def _apply_variant(raw: dict[str, Any], variant: Variant, where: _Locator) -> None:
    """A batch file's overrides, then its amendments after (or instead of) the base's."""
    for key, value in variant.sets:
        path = _split(key)
        where.origins[path] = _Origin(
            variant.doc.file, doc=variant.doc, prefix=(*variant.path, "set", key)
        )
        if path[0] in ("cases", "amendments"):
            raise where.error(
                ScenarioError(f"a variant's set cannot change {path[0]}", path=path), None
            )
        try:
            _assign(raw, path, value, structural=True)
        except ScenarioError as e:
            raise where.error(e, None) from None
    existing = raw.get("amendments")
    kept = [] if variant.drop_base_amendments or not isinstance(existing, list) else existing
    for j in range(len(variant.amendments)):
        where.origins[("amendments", len(kept) + j)] = _Origin(
            variant.doc.file, doc=variant.doc, prefix=(*variant.path, "amendments", j), rename=True
        )
    if variant.amendments or variant.drop_base_amendments:
        raw["amendments"] = [*kept, *variant.amendments]


def _check_amendment(amendment: Any, base: Scenario, i: int) -> None:
    """What an amendment may change (spec section 8), before any case applies it."""
    for key, value in amendment.set_.items():
        _check_amendable(key, value, base, ("amendments", i, "set", key))
    for key in amendment.scale:
        path: Path = ("amendments", i, "scale", key)
        _check_amendable(key, None, base, path)
        if any(p.fullmatch(key) for p in NOT_SCALABLE):
            raise ScenarioError(
                f"'{key}' can be set but not scaled (paid_by shares and caps are set)", path=path
            )
        for other in amendment.set_:
            if other == key or other.startswith(f"{key}.") or key.startswith(f"{other}."):
                raise ScenarioError(
                    f"'{key}' is scaled and '{other}' is set by the same amendment: "
                    "one change per value",
                    path=path,
                )


def _check_amendable(key: str, value: Any, base: Scenario, path: Path) -> None:
    if not any(p.fullmatch(key) for p in AMENDABLE):
        raise ScenarioError(f"'{key}' cannot be amended; amendable: {AMENDABLE_HELP}", path=path)
    if key == "referrals.monthly" and base.referrals.workers is not None:
        raise ScenarioError(
            "referrals are given by workers: amend referrals.scale instead", path=path
        )
    if key == "referrals.monthly" and isinstance(value, list):
        raise ScenarioError("must be a single number", path=path)
    parts = key.split(".")
    if parts[0] == "payers" and parts[-1] == "cap":
        payer = base.payers.get(parts[1])
        if payer is not None and payer.self_:
            raise ScenarioError(
                f"payer '{parts[1]}' is self-funded: it takes no cap to amend", path=path
            )


def _scaled(value: Any, factor: float) -> Any:
    """``value`` times ``factor``: a number, or every number in a mapping or list."""
    if isinstance(value, dict):
        return {k: _scaled(v, factor) for k, v in value.items()}
    if isinstance(value, list):
        return [_scaled(v, factor) for v in value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"holds {value!r}, not a number that can be scaled")
    return float(value) * factor


def _lookup(data: Any, path: Path) -> tuple[bool, Any]:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return False, None
        data = data[key]
    return True, data


def _scale_in_place(raw: dict[str, Any], current: Scenario, path: Path, factor: float) -> None:
    """Multiply the value in force at ``path`` (a default of 0 or 1 included) by ``factor``."""
    found, value = _lookup(raw, path)
    if not found or value is None:
        found, value = _lookup(current.model_dump(by_alias=True), path)
    if not found or value is None:
        raise ScenarioError(
            "has no value to scale here (it is absent, which means none): set it instead",
            path=path,
        )
    _assign(raw, path, _scaled(value, factor), structural=True)


def _resolve_case(
    name: str,
    overrides: dict[str, Any],
    raw_base: dict[str, Any],
    base: Scenario,
    amendments: list[tuple[int, Any]],
    base_where: _Locator,
    case_sets: Sequence[tuple[str, Any]] = (),
) -> Case:
    context = f"case {name}" if base.cases is not None else None
    where = base_where.copy()
    raw = dict(raw_base)
    for key, value in overrides.items():
        path = _split(key)
        where.origins[path] = base_where.origin_at(("cases", name, key))
        if path[0] in ("cases", "amendments"):
            raise where.error(ScenarioError(f"a case cannot change {path[0]}", path=path), context)
        try:
            _assign(raw, path, value, structural=True)
        except ScenarioError as e:
            raise where.error(e, context) from None
    for key, value in case_sets:
        path = _split(key)
        where.origins[path] = _Origin(
            base_where.doc.file, line=base_where.doc.line_of(path), via=f"from --param {key}"
        )
        if path[0] in ("cases", "amendments"):
            raise UsageError(f"--param {key}: cannot change {path[0]}")
        try:
            _assign(raw, path, value, structural=True)
        except ScenarioError as e:
            raise where.error(e, context) from None
    scenario = _validate_version(raw, base, where, context)
    versions = [Version(1, scenario)]
    checks = [(where.copy(), context)]  # to locate share errors once month ranges are known
    horizon = scenario.contract.horizon
    for pos, (i, amendment) in enumerate(amendments):
        ctx = ", ".join(c for c in (context, f"amendment in month {amendment.month}") if c)
        if amendment.month > horizon:
            raise base_where.error(
                ScenarioError(
                    f"must be within this case's horizon 1..{horizon}, got {amendment.month}",
                    path=("amendments", i, "month"),
                ),
                context,
            )
        for key, value in amendment.set_.items():
            path = _split(key)
            where.origins[path] = base_where.origin_at(("amendments", i, "set", key))
            try:
                _assign(raw, path, value, structural=True)
            except ScenarioError as e:
                raise where.error(e, ctx) from None
        for key, factor in amendment.scale.items():
            path = _split(key)
            where.origins[path] = base_where.origin_at(("amendments", i, "scale", key))
            try:
                _scale_in_place(raw, versions[-1].scenario, path, factor)
            except ScenarioError as e:
                raise where.error(e, ctx) from None
        last_of_month = (
            pos + 1 == len(amendments) or amendments[pos + 1][1].month != amendment.month
        )
        if not last_of_month:
            continue
        notes = tuple(a.note for _, a in amendments if a.month == amendment.month and a.note)
        version = Version(amendment.month, _validate_version(raw, base, where, ctx), notes)
        if versions[-1].month == version.month:  # an amendment in month 1
            versions[-1] = version
            checks[-1] = (where.copy(), ctx)
        else:
            versions.append(version)
            checks.append((where.copy(), ctx))
    for k, version in enumerate(versions):
        last = versions[k + 1].month - 1 if k + 1 < len(versions) else horizon
        try:
            check_shares(version.scenario, version.month, last)
        except ScenarioError as e:
            locator, where_ctx = checks[k]
            raise locator.error(e, where_ctx) from None
    return Case(name=name, versions=tuple(versions))


def _validate_version(
    raw: dict[str, Any], base: Scenario, where: _Locator, context: str | None
) -> Scenario:
    try:
        scenario = validate_scenario(raw)
        same_structure(scenario, base)
    except ScenarioError as e:
        raise where.error(e, context) from None
    return scenario


def same_structure(sc: Scenario, base: Scenario) -> None:
    for section in _STRUCTURAL:
        mine, theirs = list(getattr(sc, section)), list(getattr(base, section))
        if mine != theirs:
            added = [k for k in mine if k not in theirs]
            removed = [k for k in theirs if k not in mine]
            what = (
                "; ".join(
                    p
                    for p in (
                        f"adds {', '.join(added)}" if added else "",
                        f"removes {', '.join(removed)}" if removed else "",
                    )
                    if p
                )
                or "reorders them"
            )
            raise ScenarioError(
                "cases, amendments and --set may not add, remove or reorder "
                f"{section}: this {what}",
                path=(section,),
            )
    mine_bands, base_bands = bands_of(sc), bands_of(base)
    for stage, bands in base_bands.items():
        if mine_bands[stage] != bands:
            raise ScenarioError(
                "cases, amendments and --set may not change the bands of a stage: base has "
                f"({', '.join(bands) or 'none'}), "
                f"this has ({', '.join(mine_bands[stage]) or 'none'})",
                path=("stages", stage),
            )


def _split(text: str) -> Path:
    parts = tuple(text.strip().split("."))
    if not all(parts):
        raise ScenarioError(f"'{text}' is not a dotted path such as stages.job_start.rate")
    return parts


def _assign(raw: dict[str, Any], path: Path, value: Any, *, structural: bool) -> None:
    """Set ``path`` in plain data, creating mappings a default left out.

    Copy-on-write: every mapping on the way down is copied before it is changed, so data
    shared with the document (or with other cases) is never modified; ``raw`` itself must be
    the caller's own (shallow) copy.
    """
    node: Any = raw
    for n, key in enumerate(path[:-1]):
        if structural and n == 1 and path[0] in _STRUCTURAL and key not in node:
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
