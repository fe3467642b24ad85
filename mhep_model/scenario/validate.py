"""Validation: pydantic errors turned into one clear message, then the cross-references.

Every error is a :class:`ScenarioError` whose path is the dotted path the user wrote; the
caller (``resolve``) fills in the file, the line and the case.
"""

from __future__ import annotations

import difflib
import math
import re
import types
import typing
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from mhep_model.errors import Path, PathPart, ScenarioError
from mhep_model.scenario.limits import MAX_HORIZON, MAX_START_YEAR, MIN_START_YEAR
from mhep_model.scenario.model import Scenario, bands_of

M = TypeVar("M", bound=BaseModel)

SUM_TOL = 1e-9
"""Tolerance on shares and weights that must sum to 1."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FLOAT_TEXT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)$")
# Monthly CSV columns a stage name would collide with.
RESERVED_COLUMNS = frozenset(
    [
        "case",
        "month",
        "date",
        "year",
        "referral",
        "referrals",
        "income",
        "capped",
        "self_funded",
        "unfunded",
        "unsettled",
        "block",
        "provider_outcome_payments",
        "management_fee",
        "drawdown",
        "interest_paid",
        "principal_repaid",
        "equity_distribution",
        "loan_principal",
        "spv_cash",
        "funding_gap",
        "provider_revenue",
        "provider_costs",
        "provider_reserves",
        "investor_cashflow",
    ]
)


def validate_scenario(data: Any) -> Scenario:
    """Validate plain data as a whole scenario; raises :class:`ScenarioError` (path only)."""
    if not isinstance(data, dict):
        raise ScenarioError("a scenario file must be a mapping of keys (name, contract, ...)")
    scenario = validate_model(Scenario, data)
    check_scenario(scenario)
    return scenario


def validate_model(model: type[M], data: Any) -> M:
    """Validate ``data`` as ``model``, turning pydantic's errors into one ScenarioError."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise _first_error(e, data, model) from None


# --- pydantic errors -------------------------------------------------------------------


def _real_path(loc: Iterable[PathPart], data: Any) -> tuple[Path, Any, bool]:
    """Drop pydantic's union-branch tags from ``loc``; return the path, its input and whether
    the whole loc named real data (so the error comes from the branch that fits the input)."""
    path: list[PathPart] = []
    node = data
    exact = True
    for part in loc:
        in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
            path.append(part)
        elif isinstance(part, str) and ("[" in part or part in _BRANCH_TAGS):
            exact = False  # a union branch such as 'float' or 'dict[str,...]'
        else:
            path.append(part)  # a missing or unknown key
    return tuple(path), node, exact


_BRANCH_TAGS = {
    "float",
    "int",
    "str",
    "bool",
    "list",
    "dict",
    "none",
    "constrained-float",
    "constrained-int",
}
_TYPE_ERRORS = {
    "float_type",
    "int_type",
    "dict_type",
    "list_type",
    "string_type",
    "bool_type",
    "model_type",
    "model_attributes_type",
    "none_required",
    "int_from_float",
}


def _first_error(exc: ValidationError, data: Any, root: type[BaseModel]) -> ScenarioError:
    errors = exc.errors(include_url=False)
    # A typo'd key is reported as the unknown key (with the closest valid one), not as the
    # required key it was meant to be.
    errors.sort(key=lambda e: e["type"] == "missing")
    first_path, value, _ = _real_path(errors[0]["loc"], data)
    same = [e for e in errors if _real_path(e["loc"], data)[0][: len(first_path)] == first_path]
    # Within a union, an error about the value beats "wrong type" from the other branches.
    specific = [e for e in same if e["type"] not in _TYPE_ERRORS]
    if specific:
        err = specific[0]
        path, value, _ = _real_path(err["loc"], data)
        return ScenarioError(_message(err, value, path, root), path=path)
    if len(same) > 1:
        kinds = []
        for e in same:
            kind = _KIND.get(e["type"], "")
            if kind and kind not in kinds:
                kinds.append(kind)
        return ScenarioError(
            f"must be {' or '.join(kinds)}, got {_show(value)}{_hint(value)}", path=first_path
        )
    return ScenarioError(_message(errors[0], value, first_path, root), path=first_path)


_KIND = {
    "float_type": "a number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "string_type": "text",
    "bool_type": "true or false",
    "none_required": "empty",
}


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"text '{value}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value)) if not math.isnan(value) else "nan"
    return str(value)


def _hint(value: Any) -> str:
    if isinstance(value, str) and _FLOAT_TEXT.match(value.strip()):
        return (
            f" (YAML 1.1 reads {value} as text: write the number out, e.g. 100000, "
            "or with a dot and a signed exponent, e.g. 1.0e+5)"
        )
    return ""


def _fmt(x: Any) -> str:
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    if isinstance(x, int) and abs(x) >= 10_000:
        return f"{x:,}"
    return str(x)


def _message(err: Any, value: Any, path: Path, root: type[BaseModel]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(path[:-1], root)
        msg = f"unknown key '{path[-1]}'"
        close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
        if close:
            msg += f": did you mean '{close[0]}'?"
        elif allowed:
            msg += f" (allowed: {', '.join(allowed)})"
        return msg
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        lo, hi = _bounds(path, root)
        if lo is not None and hi is not None and hi <= 1:
            return f"must be between {_fmt(lo)} and {_fmt(hi)}, got {_show(value)}"
        if kind == "greater_than":
            return f"must be greater than {_fmt(ctx.get('gt'))}, got {_show(value)}"
        if kind == "greater_than_equal":
            return f"must be {_fmt(ctx.get('ge'))} or more, got {_show(value)}"
        if kind == "less_than":
            return f"must be less than {_fmt(ctx.get('lt'))}, got {_show(value)}"
        return (
            f"must be {_fmt(ctx.get('le'))} or less, got {_show(value)} (a limit that keeps "
            "every run bounded: see the README)"
        )
    if kind == "finite_number":
        return f"must be a finite number, got {_show(value)}"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}, got {_show(value)}"
    if kind == "string_pattern_mismatch":
        return f"must be a month written YYYY-MM (e.g. 2016-04), got {_show(value)}"
    if kind in ("too_short", "too_long") and path and path[-1] == "window":
        return f"must be a list of two months [first, last], got {_show(value)}"
    if kind == "too_long":
        return (
            f"holds {ctx.get('actual_length', 'too many')} entries; the most allowed is "
            f"{ctx.get('max_length')} (a limit that keeps every run bounded: see the README)"
        )
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} entries"
    if kind == "string_too_long":
        return f"is longer than the {ctx.get('max_length')} characters allowed"
    if kind in _KIND:
        return f"must be {_KIND[kind]}, got {_show(value)}{_hint(value)}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return f"{err['msg']}, got {_show(value)}"


def _field_at(path: Path, root: type[BaseModel]) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model class holding the last key of ``path`` and that field's info."""
    model: Any = root
    info: FieldInfo | None = None
    holder: type[BaseModel] | None = None
    for part in path:
        if isinstance(model, type) and issubclass(model, BaseModel):
            found = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
            if found is None:
                return None, None
            holder, info = model, found
            model = _unwrap(found.annotation)
        else:
            model = _unwrap(_container_item(model))
            info = None
    return holder, info


def _unwrap(tp: Any) -> Any:
    """The model class inside Optional/Annotated/union, or the container type itself."""
    for _ in range(5):
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            tp = models[0] if models else args[-1]
        else:
            return tp
    return tp


def _container_item(tp: Any) -> Any:
    args = typing.get_args(tp)
    return args[-1] if args else None


def _allowed_keys(path: Path, root: type[BaseModel]) -> list[str]:
    """Keys allowed in the mapping at ``path`` (empty when it is not a model)."""
    model: Any = root
    for part in path:
        if isinstance(model, type) and issubclass(model, BaseModel):
            found = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
            if found is None:
                return []
            model = _unwrap(found.annotation)
        else:
            model = _unwrap(_container_item(model))
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or n for n, f in model.model_fields.items()]
    return []


def _bounds(path: Path, root: type[BaseModel]) -> tuple[float | None, float | None]:
    """The ge/le bounds of the field at ``path`` (or of its mapping or list items)."""
    _, info = _field_at(path[: _field_depth(path, root)], root)
    if info is None:
        return None, None
    lo = hi = None
    metas: list[Any] = list(info.metadata)
    for arg in _flatten(info.annotation):
        metas.extend(getattr(arg, "__metadata__", ()))
    for meta in metas:
        for m in getattr(meta, "metadata", [meta]):
            lo = getattr(m, "ge", lo) if getattr(m, "ge", None) is not None else lo
            hi = getattr(m, "le", hi) if getattr(m, "le", None) is not None else hi
    return lo, hi


def _field_depth(path: Path, root: type[BaseModel]) -> int:
    """How many leading parts of ``path`` name model fields (the rest are mapping keys)."""
    model: Any = root
    depth = 0
    for part in path:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            inner = _unwrap(_container_item(model))
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                model = inner
                depth += 1
                continue
            break
        found = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if found is None:
            break
        depth += 1
        model = _unwrap(found.annotation)
    return depth


def _flatten(tp: Any) -> list[Any]:
    out = [tp]
    for arg in typing.get_args(tp):
        out.extend(_flatten(arg))
    return out


# --- cross-references ------------------------------------------------------------------


def check_scenario(sc: Scenario) -> None:
    """Rules that relate parts of a scenario to each other (spec sections 2-7, 11)."""
    c = sc.contract
    year = int(c.start[:4])
    if not MIN_START_YEAR <= year <= MAX_START_YEAR:
        raise ScenarioError(
            f"must be a month in the years {MIN_START_YEAR}-{MAX_START_YEAR}, got {c.start}",
            path=("contract", "start"),
        )
    if sc.cases is not None and not sc.cases:
        raise ScenarioError(
            "names no case: give at least one (e.g. medium: {}) or leave 'cases' out",
            path=("cases",),
        )
    if c.horizon > MAX_HORIZON:
        raise ScenarioError(
            f"the horizon term_months + tail_months must be at most {MAX_HORIZON} months, "
            f"got {c.horizon}",
            path=("contract",),
        )
    _check_referrals(sc)
    bands = _check_stages(sc)
    if not sc.payers:
        raise ScenarioError("at least one payer is required", path=("payers",))
    for name, payer in sc.payers.items():
        path: Path = ("payers", name)
        if payer.self_ and payer.cap is not None:
            raise ScenarioError(
                "a self-funded payer takes no cap (the SPV funds its own share): remove 'cap'",
                path=(*path, "cap"),
            )
        if payer.window is not None and payer.window[0] > payer.window[1]:
            raise ScenarioError(
                f"the window's first month must not be after its last, got {payer.window}",
                path=(*path, "window"),
            )
    if not sc.outcomes:
        raise ScenarioError("at least one outcome is required", path=("outcomes",))
    for name, outcome in sc.outcomes.items():
        path = ("outcomes", name)
        if outcome.stage not in sc.stages:
            raise ScenarioError(
                f"unknown stage '{outcome.stage}'{_suggest(outcome.stage, sc.stages)}",
                path=(*path, "stage"),
            )
        _check_banded(outcome.tariff, bands[outcome.stage], outcome.stage, (*path, "tariff"))
        for payer_name in outcome.paid_by:
            if payer_name not in sc.payers:
                raise ScenarioError(
                    f"unknown payer '{payer_name}'{_suggest(payer_name, sc.payers)}",
                    path=(*path, "paid_by", payer_name),
                )
    _check_advance(sc)
    op = sc.provider.outcome_payments
    if op is not None:
        path = ("provider", "outcome_payments")
        if (op.share_of_tariff is None) == (op.tariffs is None):
            raise ScenarioError("give exactly one of share_of_tariff and tariffs", path=path)
        for oname, tariff in (op.tariffs or {}).items():
            if oname not in sc.outcomes:
                raise ScenarioError(
                    f"unknown outcome '{oname}'{_suggest(oname, sc.outcomes)}",
                    path=(*path, "tariffs", oname),
                )
            stage = sc.outcomes[oname].stage
            _check_banded(tariff, bands[stage], stage, (*path, "tariffs", oname))
    for i, amendment in enumerate(sc.amendments):
        if amendment.month > c.horizon:
            raise ScenarioError(
                f"must be within the horizon 1..{c.horizon}, got {amendment.month}",
                path=("amendments", i, "month"),
            )


def _check_advance(sc: Scenario) -> None:
    """Working capital lent by the SPV (spec section 6): paid in the term, repaid after it is
    lent, by the horizon."""
    adv = sc.provider.advance
    if adv is None:
        return
    path: Path = ("provider", "advance")
    n, h = sc.contract.term_months, sc.contract.horizon
    if adv.month > n:
        raise ScenarioError(
            f"must be a month of the term 1..{n}, got {adv.month}", path=(*path, "month")
        )
    if adv.repay_from < adv.month:
        raise ScenarioError(
            f"repayments must start in or after the month of the advance ({adv.month}), "
            f"got {adv.repay_from}",
            path=(*path, "repay_from"),
        )
    last = adv.repay_from + adv.repay_months - 1
    if last > h:
        raise ScenarioError(
            f"the last repayment would be in month {last}, after the horizon {h}: start "
            "earlier or repay over fewer months",
            path=(*path, "repay_months"),
        )


def _check_referrals(sc: Scenario) -> None:
    r = sc.referrals
    path: Path = ("referrals",)
    has_workers = r.workers is not None or r.per_worker_per_year is not None
    if (r.monthly is None) == (not has_workers):
        raise ScenarioError(
            "give exactly one of 'monthly' and 'workers' with 'per_worker_per_year'", path=path
        )
    if has_workers:
        for key in ("workers", "per_worker_per_year"):
            if getattr(r, key) is None:
                raise ScenarioError("is required with the workers form", path=(*path, key))
    if isinstance(r.monthly, list) and len(r.monthly) != sc.contract.term_months:
        raise ScenarioError(
            f"a list of monthly referrals needs exactly term_months = "
            f"{sc.contract.term_months} numbers, got {len(r.monthly)}",
            path=(*path, "monthly"),
        )


def _check_stages(sc: Scenario) -> dict[str, tuple[str, ...]]:
    if not sc.stages:
        raise ScenarioError("at least one stage is required", path=("stages",))
    seen: list[str] = []
    for name, stage in sc.stages.items():
        path: Path = ("stages", name)
        if not _NAME.match(name) or name in RESERVED_COLUMNS:
            raise ScenarioError(
                "stage names must be letters, digits and _ and not an output column name",
                path=path,
            )
        if stage.from_ != "referral" and stage.from_ not in seen:
            where = "a stage defined above this one" if stage.from_ in sc.stages else "a stage"
            raise ScenarioError(
                f"must be 'referral' or {where}, got '{stage.from_}'"
                f"{_suggest(stage.from_, [*seen, 'referral'])}",
                path=(*path, "from"),
            )
        seen.append(name)
    bands = bands_of(sc)
    for name, stage in sc.stages.items():
        path = ("stages", name)
        if stage.split is not None:
            if stage.from_ != "referral" and bands[stage.from_]:
                raise ScenarioError(
                    f"stage '{stage.from_}' above is already split into bands: at most one "
                    "split on any path from referral",
                    path=(*path, "split"),
                )
            if not stage.split:
                raise ScenarioError("a split needs at least one band", path=(*path, "split"))
            for band in stage.split:
                if not _NAME.match(band):
                    raise ScenarioError(
                        "band names must be letters, digits and _", path=(*path, "split", band)
                    )
            total = sum(stage.split.values())
            if abs(total - 1) > SUM_TOL:
                raise ScenarioError(
                    f"split shares must sum to 1, got {total:.10g}", path=(*path, "split")
                )
        _check_banded(stage.rate, bands[name], name, (*path, "rate"))
        if stage.capacity_per_fte is not None and bands[name]:
            raise ScenarioError(
                f"stage '{name}' is banded ({', '.join(bands[name])}): capacity_per_fte is only "
                "for an unbanded stage (put it on the stage above the split)",
                path=(*path, "capacity_per_fte"),
            )
        if isinstance(stage.lag, list):
            if not stage.lag:
                raise ScenarioError(
                    "a list of lag weights needs at least one weight", path=(*path, "lag")
                )
            total = sum(stage.lag)
            if abs(total - 1) > SUM_TOL:
                raise ScenarioError(
                    f"lag weights must sum to 1, got {total:.10g}", path=(*path, "lag")
                )
    return bands


def _check_banded(value: object, bands: tuple[str, ...], stage: str, path: Path) -> None:
    if not isinstance(value, dict):
        return
    if not bands:
        raise ScenarioError(
            f"stage '{stage}' has no bands (no split above it): give a single number", path=path
        )
    if set(value) != set(bands):
        missing = [b for b in bands if b not in value]
        extra = [b for b in value if b not in bands]
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unknown {', '.join(extra)}")
        raise ScenarioError(
            f"must name exactly the bands of stage '{stage}' ({', '.join(bands)}): "
            + "; ".join(parts),
            path=path,
        )


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f": did you mean '{close[0]}'?" if close else ""


def check_shares(sc: Scenario, first: int, last: int) -> None:
    """For every outcome and month in ``first..last``, the shares of the payers active that
    month sum to 1 or to 0 (nobody pays: unfunded, not an error); spec section 5.

    The sum only changes where a window starts or ends, so only those months are checked.
    """
    horizon = sc.contract.horizon
    for oname, outcome in sc.outcomes.items():
        # v2: only months in which the outcome's stage can have people
        stage = sc.stages.get(outcome.stage)
        can_last = horizon if stage is not None and stage.after_term else sc.contract.term_months
        stop = min(last, can_last)
        windows = {p: sc.payers[p].window or [1, horizon] for p in outcome.paid_by}
        edges = {first} | {a for a, _ in windows.values()} | {b + 1 for _, b in windows.values()}
        for month in sorted(m for m in edges if first <= m <= stop):
            active = [p for p, (a, b) in windows.items() if a <= month <= b]
            total = sum(outcome.paid_by[p] for p in active)
            if abs(total - 1) > SUM_TOL and abs(total) > SUM_TOL:
                raise ScenarioError(
                    f"the shares of the payers active in month {month} ({', '.join(active)}) "
                    f"sum to {total:.10g}: they must sum to 1 (or to 0 when nobody pays that "
                    "month)",
                    path=("outcomes", oname, "paid_by"),
                )


def field_bounds(path: Path) -> tuple[float | None, float | None]:
    """The ``ge``/``le`` bounds the scenario format puts on the value at a dotted ``path``."""
    lo, hi = _bounds(path, Scenario)
    return (None if lo is None else float(lo)), (None if hi is None else float(hi))
