"""Pydantic's validation errors turned into one clear message with the dotted path the
user wrote (``must be between 0 and 1, got 1.3``; ``unknown key 'rat': did you mean
'rate'?``), and the bounds the format puts on a value."""

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

from mhep_model.errors import Path, PathPart, ScenarioError, excerpt
from mhep_model.scenario.model import Scenario

M = TypeVar("M", bound=BaseModel)
_FLOAT_TEXT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)$")


def validate_model(model: type[M], data: Any) -> M:
    """Validate ``data`` as ``model``, turning pydantic's errors into one ScenarioError."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        found = _all_errors(e, data, model)
        raise ScenarioError(found[0].message, path=found[0].path, others=found[1:]) from None


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


def _all_errors(exc: ValidationError, data: Any, root: type[BaseModel]) -> list[ScenarioError]:
    """One error per place in the file that is wrong, in the file's order of checks."""
    errors = exc.errors(include_url=False)
    # A typo'd key is reported as the unknown key (with the closest valid one), not as the
    # required key it was meant to be.
    errors.sort(key=lambda e: e["type"] == "missing")
    typo_parents = {
        _real_path(e["loc"], data)[0][:-1] for e in errors if e["type"] == "extra_forbidden"
    }
    out: list[ScenarioError] = []
    seen: list[Path] = []
    for e in errors:
        path = _real_path(e["loc"], data)[0]
        if any(path[: len(s)] == s for s in seen):
            continue
        if e["type"] == "missing" and path[:-1] in typo_parents and out:
            continue  # the typo's message names the key it was meant to be
        seen.append(path)
        out.append(_error_at(errors, e, data, root))
    return out


def _error_at(errors: list[Any], first: Any, data: Any, root: type[BaseModel]) -> ScenarioError:
    """The clearest message for the errors at ``first``'s place (union branches merged)."""
    first_path, value, _ = _real_path(first["loc"], data)
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
    return ScenarioError(_message(first, value, first_path, root), path=first_path)


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
        msg = f"unknown key '{excerpt(path[-1])}'"
        close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
        if close:
            msg += f": did you mean '{close[0]}'?"
        elif allowed:
            msg += f" (allowed: {', '.join(allowed)})"
        return msg
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        lo, hi = _bounds(path, root)
        # the bound the value broke (a field that is one of two forms, e.g. a lag as months
        # or as weights, has the bounds of each: name the one broken)
        broken = next((ctx[k] for k in ("le", "lt", "ge", "gt") if k in ctx), None)
        if lo is not None and hi is not None and hi <= 1 and broken in (lo, hi):
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
            f"holds {len(value) if hasattr(value, '__len__') else 'too many'} entries; the most "
            f"allowed is {ctx.get('max_length')} (a limit that keeps every run bounded: see the "
            "README)"
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


def field_bounds(path: Path) -> tuple[float | None, float | None]:
    """The ``ge``/``le`` bounds the scenario format puts on the value at a dotted ``path``."""
    lo, hi = _bounds(path, Scenario)
    return (None if lo is None else float(lo)), (None if hi is None else float(hi))
