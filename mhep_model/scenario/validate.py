"""Validation: the format (pydantic, with messages from ``messages``), then the rules that
relate one part of a scenario to another.

Every error is a :class:`ScenarioError` whose path is the dotted path the user wrote; the
caller (``resolve``) fills in the file, the line and the case.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

from mhep_model.errors import Path, ScenarioError
from mhep_model.scenario.limits import MAX_HORIZON, MAX_START_YEAR, MIN_START_YEAR
from mhep_model.scenario.messages import validate_model
from mhep_model.scenario.model import Scenario, bands_of
from mhep_model.scenario.validate_terms import check_terms

SUM_TOL = 1e-9
"""Tolerance on shares and weights that must sum to 1."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
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
        # v3 columns
        "opening",
        "grants",
        "replaced",
        "rejected",
        "invoiced",
        "provider_arrears",
        "interest_capitalised",
        "performance_fee",
        "stopped",
    ]
)


def validate_scenario(data: Any) -> Scenario:
    """Validate plain data as a whole scenario; raises :class:`ScenarioError` (path only)."""
    if not isinstance(data, dict):
        raise ScenarioError("a scenario file must be a mapping of keys (name, contract, ...)")
    scenario = validate_model(Scenario, data)
    check_scenario(scenario)
    return scenario


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
    check_terms(sc, bands)
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


def check_shares(
    sc: Scenario, first: int, last: int, recorded_until: dict[str, int] | None = None
) -> None:
    """For every outcome and month in ``first..last``, the shares of the payers active that
    month sum to 1 or to 0 (nobody pays: unfunded, not an error); spec section 5.

    The sum only changes where a window starts or ends, so only those months are checked.
    """
    horizon = sc.contract.horizon
    for oname, outcome in sc.outcomes.items():
        # v2: only months in which the outcome's stage can have people
        stage = sc.stages.get(outcome.stage)
        can_last = horizon if stage is not None and stage.after_term else sc.contract.term_months
        # a recorded series has people in its months too (spec section 5)
        can_last = max(can_last, (recorded_until or {}).get(outcome.stage, 0))
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
