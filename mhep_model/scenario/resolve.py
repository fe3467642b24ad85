"""Cases, amendments and ``--set`` overrides (spec section 8) applied to a scenario document.

The result is, per case, the sequence of validated scenario *versions* in force from given
contract months on: version 0 is the case's own scenario (base, then ``--set``, then the
case's overrides), each later one adds the amendments of one month. Every version is
validated as a whole and must keep the base's stages, outcomes, payers and bands.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from mhep_model.errors import Path, ScenarioError, UsageError, excerpt
from mhep_model.scenario.actuals import ActualsTable, Recorded, read_actuals, recorded
from mhep_model.scenario.amend import check_amendment, scale_in_place
from mhep_model.scenario.dotted import STRUCTURAL, assign, split_path
from mhep_model.scenario.limits import MAX_VERSIONS
from mhep_model.scenario.locate import Locator, Origin
from mhep_model.scenario.model import Scenario, bands_of
from mhep_model.scenario.paths import named_file
from mhep_model.scenario.validate import check_shares, validate_scenario
from mhep_model.scenario.yamlio import Document, parse_value


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
    recorded: Recorded | None = None
    """The contract's recorded counts, shaped for this case (spec section 13)."""

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
    actuals: ActualsTable | None = None
    """The actuals file read for every case, if any."""

    @property
    def file(self) -> str:
        """The scenario file's name as given."""
        return self.doc.file

    def without_actuals(self) -> Resolved:
        """The same cases projected from the signing date (no recorded months)."""
        cases = tuple(dataclasses.replace(c, recorded=None) for c in self.cases)
        return dataclasses.replace(self, cases=cases, actuals=None)


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


def resolve(
    doc: Document,
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
    variant: Variant | None = None,
    case_sets: Sequence[tuple[str, Any]] = (),
    actuals: str | FsPath | None = None,
) -> Resolved:
    """Validate ``doc`` with its cases and amendments; raises :class:`ScenarioError`.

    ``sets`` (from the command line) apply to the base first, then a batch file's
    ``variant`` adds its own overrides and amendments; ``case_sets`` (a sweep's values)
    apply to every case after the case's own overrides. ``actuals`` (``--actuals``, relative
    to the current folder) replaces the scenario's own ``actuals.file`` (relative to it).
    """
    if not isinstance(doc.data, dict):
        raise ScenarioError(
            "a scenario file must be a mapping of keys (name, contract, ...)", file=doc.file, line=1
        )
    _refuse_foreign(doc)
    raw = dict(doc.data)  # _assign copies what it changes, so shallow copies suffice
    where = Locator(doc, f"variant {variant.name}" if variant is not None else None)
    for path_text, value in sets:
        path = split_path(path_text)
        if path[0] in ("cases", "amendments"):
            raise UsageError(f"--set {path_text}: --set cannot change {path[0]}")
        where.origins[path] = Origin(
            doc.file, line=doc.line_of(path), via=f"from --set {path_text}"
        )
        try:
            assign(raw, path, value, structural=True)
        except ScenarioError as e:
            raise where.error(e, None) from None
    if variant is not None:
        _apply_variant(raw, variant, where)
    try:
        base = validate_scenario(raw)
    except ScenarioError as e:
        raise where.error(e, None) from None
    table = _read_actuals(doc, base, actuals, where)
    try:
        # The base is checked before the cases, so that its mistakes are not put on a case.
        base_recorded = recorded(table, base, None) if table is not None else None
        check_shares(base, 1, base.contract.horizon, _recorded_months(base_recorded))
    except ScenarioError as e:
        raise where.error(e, None) from None

    amendments = sorted(enumerate(base.amendments), key=lambda ia: ia[1].month)
    for i, amendment in amendments:
        try:
            check_amendment(amendment, base, i)
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
            _resolve_case(name, case_map[name], raw, base, amendments, where, case_sets, table)
        )
    return Resolved(
        doc=doc,
        base=base,
        cases=tuple(resolved),
        actuals=table,
        sets=tuple(sets),
        variant=variant.name if variant is not None else None,
    )


def _apply_variant(raw: dict[str, Any], variant: Variant, where: Locator) -> None:
    """A batch file's overrides, then its amendments after (or instead of) the base's."""
    for key, value in variant.sets:
        path = split_path(key)
        where.origins[path] = Origin(
            variant.doc.file, doc=variant.doc, prefix=(*variant.path, "set", key)
        )
        if path[0] in ("cases", "amendments"):
            raise where.error(
                ScenarioError(f"a variant's set cannot change {path[0]}", path=path), None
            )
        try:
            assign(raw, path, value, structural=True)
        except ScenarioError as e:
            raise where.error(e, None) from None
    existing = raw.get("amendments")
    kept = [] if variant.drop_base_amendments or not isinstance(existing, list) else existing
    for j in range(len(variant.amendments)):
        where.origins[("amendments", len(kept) + j)] = Origin(
            variant.doc.file, doc=variant.doc, prefix=(*variant.path, "amendments", j), rename=True
        )
    if variant.amendments or variant.drop_base_amendments:
        raw["amendments"] = [*kept, *variant.amendments]


def _resolve_case(
    name: str,
    overrides: dict[str, Any],
    raw_base: dict[str, Any],
    base: Scenario,
    amendments: list[tuple[int, Any]],
    base_where: Locator,
    case_sets: Sequence[tuple[str, Any]] = (),
    table: ActualsTable | None = None,
) -> Case:
    context = f"case {name}" if base.cases is not None else None
    where = base_where.copy()
    raw = dict(raw_base)
    for key, value in overrides.items():
        path = split_path(key)
        where.origins[path] = base_where.origin_at(("cases", name, key))
        if path[0] in ("cases", "amendments"):
            raise where.error(ScenarioError(f"a case cannot change {path[0]}", path=path), context)
        try:
            assign(raw, path, value, structural=True)
        except ScenarioError as e:
            raise where.error(e, context) from None
    for key, value in case_sets:
        path = split_path(key)
        where.origins[path] = Origin(
            base_where.doc.file, line=base_where.doc.line_of(path), via=f"from --param {key}"
        )
        if path[0] in ("cases", "amendments"):
            raise UsageError(f"--param {key}: cannot change {path[0]}")
        try:
            assign(raw, path, value, structural=True)
        except ScenarioError as e:
            raise where.error(e, context) from None
    scenario = _validate_version(raw, base, where, context)
    # each case's own start, horizon and split shares (spec section 11)
    mine = recorded(table, scenario, name if base.cases is not None else None) if table else None
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
            path = split_path(key)
            where.origins[path] = base_where.origin_at(("amendments", i, "set", key))
            try:
                assign(raw, path, value, structural=True)
            except ScenarioError as e:
                raise where.error(e, ctx) from None
        for key, factor in amendment.scale.items():
            path = split_path(key)
            where.origins[path] = base_where.origin_at(("amendments", i, "scale", key))
            try:
                scale_in_place(raw, versions[-1].scenario, path, factor)
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
            check_shares(version.scenario, version.month, last, _recorded_months(mine))
        except ScenarioError as e:
            locator, where_ctx = checks[k]
            raise locator.error(e, where_ctx) from None
    return Case(name=name, versions=tuple(versions), recorded=mine)


def _validate_version(
    raw: dict[str, Any], base: Scenario, where: Locator, context: str | None
) -> Scenario:
    try:
        scenario = validate_scenario(raw)
        same_structure(scenario, base)
    except ScenarioError as e:
        raise where.error(e, context) from None
    return scenario


def same_structure(sc: Scenario, base: Scenario) -> None:
    for section in STRUCTURAL:
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


def _refuse_foreign(doc: Document) -> None:
    """A mapping none of whose keys a scenario has is some other file (a portfolio may
    name any file inside its folder): say so once, quoting none of it, rather than one
    "unknown key" per line."""
    known = {f.alias or name for name, f in Scenario.model_fields.items()}
    assert isinstance(doc.data, dict)
    if doc.data and not any(key in known for key in doc.data):
        raise ScenarioError(
            f"is not a scenario file: none of its {len(doc.data)} top-level keys is one a "
            "scenario has (name, contract, referrals, stages, payers, outcomes, ...)",
            file=doc.file,
            line=1,
        )


def _read_actuals(
    doc: Document, base: Scenario, override: str | FsPath | None, where: Locator
) -> ActualsTable | None:
    """The actuals file of ``--actuals`` (relative to the current folder), else the
    scenario's ``actuals.file`` (relative to the scenario file)."""
    if override is not None:
        return read_actuals(FsPath(override), str(override))
    if base.actuals is None:
        return None
    try:
        path = named_file(doc.file, base.actuals.file)
    except ScenarioError as e:
        raise where.error(ScenarioError(e.message, path=("actuals", "file")), None) from None
    try:
        return read_actuals(path, str(path))
    except ScenarioError as e:
        if e.message.startswith("cannot read file") or e.message.startswith("is not a file"):
            shown = excerpt(base.actuals.file)
            raise where.error(
                ScenarioError(f"{shown}: {e.message}", path=("actuals", "file")), None
            ) from None
        raise


def _recorded_months(rec: Recorded | None) -> dict[str, int]:
    """Stage -> last recorded month (those months can have people, spec section 5)."""
    return {} if rec is None else {stage: rec.k for stage in rec.stages}
