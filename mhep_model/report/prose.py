"""Inputs in words for ``explain``: "the provider's block (a year) becomes £0" rather than
``provider.block.annual becomes 0``; values in their unit (£, %, x, people)."""

from __future__ import annotations

import re
from typing import Any

from mhep_model.report.tables import money

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
