"""Whether an amendment overrides an input that a sweep or ``solve`` varies: a varied
``provider.block.annual`` only holds until an amendment sets the block anew, so the
answer applies to the months before it (issue 13)."""

from __future__ import annotations

from collections.abc import Iterable

from mhep_model.scenario import Resolved


def amendments_overriding(resolved: Resolved, path: str) -> list[tuple[int, str, str]]:
    """(month, amended path, ``set`` or ``scale``) of every amendment that
    changes ``path`` or a part of it or a whole that holds it, by month."""
    found: set[tuple[int, str, str]] = set()
    for a in resolved.base.amendments:
        for how, keys in (("set", a.set_), ("scale", a.scale)):
            for p in keys:
                if p == path or path.startswith(p + ".") or p.startswith(path + "."):
                    found.add((a.month, p, how))
    return sorted(found)


def override_warnings(resolved: Resolved, paths: Iterable[str], what: str) -> list[str]:
    """One sentence per varied path that an amendment overrides; ``what`` names the
    result and its verb ("the swept values apply", "the value found applies")."""
    out = []
    for path in paths:
        hits = amendments_overriding(resolved, path)
        if not hits:
            continue
        month, amended, how = hits[0]
        change = "replaces" if how == "set" else "scales"
        out.append(
            f"note: an amendment {change} {path} from month {month} (it {how}s {amended}), "
            f"so {what} to months 1-{month - 1} only; --through-amendments holds it for "
            "the whole contract"
        )
    return out
