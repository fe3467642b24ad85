"""Inputs in words for ``explain``: "the provider's block (a year) becomes £0" rather than
``provider.block.annual becomes 0``; values in their unit (£, %, x, people); amendments as
rows (the workbook's Amendments sheet, the diagram's notes)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from mhep_model.report.frames import month_label
from mhep_model.report.tables import money
from mhep_model.scenario import Resolved

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~!{}()+.-])")


def md(text: object) -> str:
    """Text from a scenario as literal markdown: one line, every markup character escaped
    (names are data, never markup)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


_RULES: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(p), text, kind)
    for p, text, kind in [
        (r"referrals\.scale", "the referral volume (times the base)", "factor"),
        (r"referrals\.monthly", "referrals a month", "people"),
        (r"referrals\.workers", "the referring workers", "people"),
        (r"referrals\.per_worker_per_year", "referrals per worker a year", "people"),
        (r"referrals\.ramp_up_months", "the referral ramp-up (months)", "number"),
        (r"stages\.(\w+)\.rate(?:\.(\w+))?", "the {0} rate{1}", "share"),
        (r"stages\.(\w+)\.capacity_per_fte", "{0} capacity per staff member a month", "people"),
        (r"outcomes\.(\w+)\.tariff(?:\.(\w+))?", "the {0} tariff{1}", "money"),
        (r"outcomes\.(\w+)\.paid_by(?:\.(\w+))?", "who pays the {0} outcome{1}", "share"),
        (r"payers\.(\w+)\.cap", "{payer}'s cap", "money"),
        (r"payers\.(\w+)\.tariff_factor", "{payer}'s tariff factor", "factor"),
        (r"provider\.block\.annual", "the provider's block (a year)", "money"),
        (r"provider\.outcome_payments\.tariffs(?:\.(\w+))?", "the provider's tariffs{p0}", "money"),
        (
            r"provider\.outcome_payments\.share_of_tariff",
            "the provider's share of each tariff",
            "share",
        ),
        (
            r"provider\.outcome_payments\.annual_cap",
            "the cap on the provider's outcome payments (a year)",
            "money",
        ),
        (r"provider\.costs\.staff_fte", "the provider's staff (full-time equivalents)", "people"),
        (r"provider\.costs\.cost_per_fte", "the cost of a member of staff (a year)", "money"),
        (r"provider\.costs\.fixed_annual", "the provider's fixed costs (a year)", "money"),
        (r"provider\.costs\.mobilisation", "the provider's mobilisation cost", "money"),
        (r"provider\.opening_reserves", "the provider's opening reserves", "money"),
        (r"spv\.management_fee_annual", "the SPV's management fee (a year)", "money"),
        (r"spv\.min_cash", "the SPV's cash buffer", "money"),
        (r"investor\.commitment", "the investor's commitment", "money"),
        (r"investor\.equity_share", "the equity share of each drawdown", "share"),
        (r"investor\.loan_rate", "the loan's interest rate (a year)", "share"),
        (r"contract\.term_months", "the service term (months)", "number"),
        (r"contract\.tail_months", "the tail after the term (months)", "number"),
        # v3 terms
        (r"stages\.(\w+)\.opening(?:\.(\w+))?", "the {0} opening caseload{1}", "people"),
        (r"outcomes\.(\w+)\.evidence\.rejected", "the share of {0} invoices rejected", "share"),
        (
            r"outcomes\.(\w+)\.evidence\.lag_months",
            "the months the {0} evidence check adds",
            "number",
        ),
        (
            r"provider\.outcome_payments\.annual_cap_basis",
            "the provider's annual cap counted by year",
            "text",
        ),
        (r"contract\.stop\.on_cap", "the service stopping when the caps are reached", "text"),
        (
            r"contract\.stop\.on_provider_insolvency",
            "the service stopping when the provider is insolvent",
            "text",
        ),
        (
            r"contract\.stop\.notice_months",
            "the notice before the service stops (months)",
            "number",
        ),
        (r"spv\.pay_provider_when_able", "the SPV holding back the provider's pay", "text"),
        (r"spv\.performance_fee\.share", "the intermediary's performance fee", "share"),
        (
            r"spv\.performance_fee\.hurdle_multiple",
            "the performance fee's hurdle (times drawn)",
            "factor",
        ),
        (r"investor\.interest", "the loan's interest", "text"),
    ]
]


def _words(key: str) -> str:
    return key.replace("_", " ")


def phrase(path: str, payers: dict[str, str] | None = None) -> tuple[str, str]:
    """``path`` in words, and the kind of its value (money, share, factor, people,
    number); a path without words of its own is spelled out ("provider › costs › x")."""
    for pattern, text, kind in _RULES:
        found = pattern.fullmatch(path)
        if found:
            groups = [_words(g) if g else "" for g in found.groups()] + ["", ""]
            parts = [groups[0], f" ({groups[1]})" if groups[1] else ""]
            payer = (payers or {}).get(found.group(1), found.group(1)) if found.groups() else ""
            p0 = f" ({groups[0]})" if groups[0] else ""
            return text.format(*parts, payer=payer, p0=p0), kind
    return " › ".join(_words(p) for p in path.split(".")), "number"


def amount(value: Any, kind: str, currency: str) -> str:
    """A value in its unit; a mapping (bands, payers) as "under 16: £1,450, ..."."""
    if isinstance(value, dict):
        return ", ".join(f"{_words(str(k))}: {amount(v, kind, currency)}" for k, v in value.items())
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if kind == "money":
        return money(float(value), currency) if currency else f"{value:,.6g}"
    if kind == "share":
        return f"{value:.0%}" if abs(value * 100 - round(value * 100)) < 1e-9 else f"{value:.1%}"
    if kind == "factor":
        return f"{value:g}x"
    return f"{value:,.6g}"


def described(path: str, value: Any, currency: str, payers: dict[str, str] | None = None) -> str:
    """ "the provider's block (a year) is £0" """
    text, kind = phrase(path, payers)
    return f"{text} {amount(value, kind, currency)}"


def value_text(v: Any, currency: str) -> str:
    """A value as set in YAML, numbers with separators (a mapping in braces)."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {value_text(x, currency)}" for k, x in v.items()) + "}"
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    return f"{v:,.6g}"


def amendments_by_month(resolved: Resolved) -> list[tuple[int, str, str, str]]:
    by_month: dict[int, list[tuple[str, str, str, str, Any]]] = {}
    for month, date, note, path, how, value in amendment_rows(resolved):
        by_month.setdefault(month, []).append((date, note, path, how, value))
    out = []
    for month, rows in by_month.items():
        notes = "; ".join(dict.fromkeys(n for _, n, _, _, _ in rows if n)) or "amendment"
        changes = ", ".join(_change(p, how, v, "") for _, _, p, how, v in rows)
        out.append((month, rows[0][0], notes, changes))
    return out


def _change(path: str, how: str, value: Any, currency: str) -> str:
    if how == "scale":
        return f"{path} x {value:g} (each case's own)"
    return f"{path} = {value_text(value, currency)}"


def amendment_rows(resolved: Resolved) -> Sequence[tuple[int, str, str, str, str, Any]]:
    """(month, date, note, path, ``set`` or ``scale``, value or factor) of every amendment,
    for the Amendments sheet."""
    sc = resolved.base
    rows: list[tuple[int, str, str, str, str, Any]] = []
    for a in sorted(sc.amendments, key=lambda a: a.month):
        date = month_label(sc.contract.start, np.array([a.month - 1]))[0]
        for path, value in a.set_.items():
            rows.append((a.month, date, a.note or "", path, "set", value))
        for path, factor in a.scale.items():
            rows.append((a.month, date, a.note or "", path, "scale", factor))
    return rows
