"""Amendments (spec section 8): which paths may change from a month on, and scaling each
case's own value by a factor (v2)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from mhep_model.errors import Path, ScenarioError
from mhep_model.scenario.dotted import assign
from mhep_model.scenario.model import Scenario
from mhep_model.scenario.yamlio import Document

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


def check_amendment(amendment: Any, base: Scenario, i: int) -> None:
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


FIXED_TERMS = re.compile(
    r"grants(\..*)?|stages\.\w+\.opening(\..*)?|outcomes\.\w+\.evidence(\..*)?"
    r"|contract\.stop(\..*)?|provider\.outcome_payments\.annual_cap_basis"
    r"|spv\.(pay_provider_when_able|performance_fee(\..*)?)|investor\.interest"
)
"""v3 terms fixed for the whole contract (spec section 11): a case may set them, an
amendment may not."""


def _check_amendable(key: str, value: Any, base: Scenario, path: Path) -> None:
    if FIXED_TERMS.fullmatch(key):
        raise ScenarioError(
            f"'{key}' cannot be amended: it holds for the whole contract (spec v3, section "
            "11); a case may set it instead",
            path=path,
        )
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


def scale_in_place(raw: dict[str, Any], current: Scenario, path: Path, factor: float) -> None:
    """Multiply the value in force at ``path`` (a default of 0 or 1 included) by ``factor``."""
    found, value = _lookup(raw, path)
    if not found or value is None:
        found, value = _lookup(current.model_dump(by_alias=True), path)
    if not found or value is None:
        raise ScenarioError(
            "has no value to scale here (it is absent, which means none): set it instead",
            path=path,
        )
    assign(raw, path, _scaled(value, factor), structural=True)


def _overlaps(key: str, path: str) -> bool:
    return key == path or key.startswith(path + ".") or path.startswith(key + ".")


def _without(value: Any, rest: list[str]) -> Any:
    """``value`` (a mapping set whole) without the entry at the dotted ``rest``."""
    if not isinstance(value, dict) or not rest:
        return value
    out = dict(value)
    if rest[0] in out:
        if len(rest) == 1:
            del out[rest[0]]
        else:
            out[rest[0]] = _without(out[rest[0]], rest[1:])
    return out


def through_amendments(doc: Document, paths: Sequence[str]) -> Document:
    """``doc`` with every amendment's change to ``paths`` taken out, so that a value swept
    or solved for at those paths holds for the whole contract (``--through-amendments``).

    An amendment left with nothing to change is dropped, and the lines of the later ones
    renumbered, so that errors still name the line they were written on.
    """
    data = doc.data
    amendments = data.get("amendments") if isinstance(data, dict) else None
    if not isinstance(amendments, list):
        return doc
    kept: list[Any] = []
    index: dict[int, int] = {}
    for k, a in enumerate(amendments):
        if isinstance(a, dict):
            a = dict(a)
            for key in ("set", "scale"):
                part = a.get(key)
                if not isinstance(part, dict):
                    continue
                changed = {}
                for p, v in part.items():
                    hits = [q for q in paths if _overlaps(str(p), q)]
                    if any(q == p or str(p).startswith(q + ".") for q in hits):
                        continue  # the whole entry is the varied input, or inside it
                    for q in hits:  # a mapping set whole that holds the varied input
                        v = _without(v, q[len(str(p)) + 1 :].split("."))
                    changed[p] = v
                a[key] = changed
            if not a.get("set") and not a.get("scale"):
                continue
        index[k] = len(kept)
        kept.append(a)
    lines: dict[Path, int] = {}
    for path, line in doc.lines.items():
        if len(path) >= 2 and path[0] == "amendments" and isinstance(path[1], int):
            if path[1] not in index:
                continue
            path = ("amendments", index[path[1]], *path[2:])
        lines[path] = line
    return Document({**data, "amendments": kept}, doc.file, lines)


def _moved(value: Any, rest: list[str], old: float, new: float) -> tuple[bool, Any]:
    """``value`` (or the number at dotted ``rest`` inside it) moved as its base moves from
    ``old`` to ``new``: in proportion, or by the difference when the base is 0."""
    if rest:
        if not isinstance(value, dict) or rest[0] not in value:
            return False, value
        found, inner = _moved(value[rest[0]], rest[1:], old, new)
        return found, {**value, rest[0]: inner} if found else value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False, value
    return True, float(value) * new / old if old != 0 else float(value) + new - old


def move_amendments(doc: Document, path: str, old: float, new: float) -> tuple[Document, list[int]]:
    """``doc`` with every amendment that sets ``path`` (or a mapping holding it) moved
    together with the base value going from ``old`` to ``new`` (``--with-amendments``):
    times ``new / old``, or by ``new - old`` when ``old`` is 0. Scaled values need no
    moving: a factor already applies to the value in force. Also the months moved."""
    data = doc.data
    amendments = data.get("amendments") if isinstance(data, dict) else None
    if not isinstance(amendments, list):
        return doc, []
    out: list[Any] = []
    months: list[int] = []
    for a in amendments:
        part = a.get("set") if isinstance(a, dict) else None
        if isinstance(part, dict):
            changed = dict(part)
            for key, value in part.items():
                key = str(key)
                if key == path or path.startswith(key + "."):
                    rest = path[len(key) + 1 :].split(".") if key != path else []
                    found, changed[key] = _moved(value, rest, old, new)
                    if found:
                        months.append(a.get("month"))
            a = {**a, "set": changed}
        out.append(a)
    return Document({**data, "amendments": out}, doc.file, doc.lines), months
