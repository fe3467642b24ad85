"""The v3 terms of resolved cases to the engine's arrays (spec sections 1 and 4-7): opening
caseloads, evidence checks, grants, the stop, the provider's cap by year achieved and the
SPV's cash terms. None where no case uses a term, so that v2 runs compute as before."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mhep_model.engine.inputs import FloatArray, Grants, IntArray, Stop
from mhep_model.scenario.model import Scenario, uses_v3


def opening(firsts: Sequence[Scenario], name: str, bands: tuple[str, ...]) -> FloatArray | None:
    """``(R, B)`` a stage's opening caseload in each case [people]; None when none has."""
    values = [sc.stages[name].opening for sc in firsts]
    if all(v is None for v in values):
        return None
    width = max(len(bands), 1)
    out = np.zeros((len(firsts), width))
    for i, v in enumerate(values):
        if isinstance(v, dict):
            out[i] = [v[b] for b in bands]
        elif v is not None:
            out[i] = v
    return out


def evidence(firsts: Sequence[Scenario], name: str) -> tuple[FloatArray | None, IntArray | None]:
    """``(R,)`` an outcome's rejected share and evidence lag; None when no case checks."""
    checks = [sc.outcomes[name].evidence for sc in firsts]
    if all(e is None for e in checks):
        return None, None
    rejected = np.array([e.rejected if e is not None else 0.0 for e in checks])
    lag = np.array([e.lag_months if e is not None else 0 for e in checks], dtype=np.int64)
    return rejected, lag


def grants(firsts: Sequence[Scenario], payers: tuple[str, ...], months: int) -> Grants | None:
    """Each payer's grants by covered month ``(R, P, T)`` (spec section 5)."""
    if not any(sc.grants for sc in firsts):
        return None
    shape = (len(firsts), len(payers), months)
    in_cap, outside = np.zeros(shape), np.zeros(shape)
    replaces = np.zeros(shape, dtype=bool)
    for i, sc in enumerate(firsts):
        for grant in sc.grants:
            a, b = grant.months
            amount = np.asarray(grant.amount, dtype=np.float64)  # a number or one per month
            covered = slice(a - 1, b)
            for key, share in grant.paid_by.items():
                p = payers.index(key)
                target = in_cap if grant.counts_against_cap else outside
                target[i, p, covered] += amount * share
                if grant.replaces_outcomes and share > 0:
                    replaces[i, p, covered] = True
    return Grants(in_cap=in_cap, outside_cap=outside, replaces=replaces)


def stop(firsts: Sequence[Scenario], payers: tuple[str, ...]) -> Stop | None:
    """When each case's service stops (spec sections 1 and 6); None when none can."""
    stops = [sc.contract.stop for sc in firsts]
    if all(s is None for s in stops):
        return None
    window_end = np.array(
        [[_window_end(sc, p) for p in payers] for sc in firsts], dtype=np.float64
    ).reshape(len(firsts), len(payers))
    return Stop(
        on_cap=np.array([s is not None and s.on_cap for s in stops]),
        on_insolvency=np.array([s is not None and s.on_provider_insolvency for s in stops]),
        notice=np.array([s.notice_months if s is not None else 0 for s in stops], dtype=np.int64),
        window_end=window_end,
    )


def _window_end(sc: Scenario, payer: str) -> float:
    """The last month of an explicit window (a payer without one never ends: spec 11)."""
    window = sc.payers[payer].window
    return np.inf if window is None else float(window[1])


def cash_terms(firsts: Sequence[Scenario]) -> dict[str, Any]:
    """The provider's cap basis and the SPV's v3 terms, ``(R,)`` each (None: unused)."""

    def flags(read: Any) -> np.ndarray | None:
        values = np.array([read(sc) for sc in firsts])
        return values if values.any() else None

    def basis(sc: Scenario) -> bool:
        op = sc.provider.outcome_payments
        return op is not None and op.annual_cap_basis == "achieved"

    fees = [sc.spv.performance_fee for sc in firsts]
    has_fee = any(f is not None for f in fees)
    return {
        "cap_by_achievement": flags(basis),
        "pay_when_able": flags(lambda sc: sc.spv.pay_provider_when_able),
        "compound": flags(lambda sc: sc.investor.interest == "compound"),
        "performance_fee_share": (
            np.array([f.share if f is not None else 0.0 for f in fees]) if has_fee else None
        ),
        "hurdle_multiple": (
            np.array([f.hurdle_multiple if f is not None else 1.0 for f in fees])
            if has_fee
            else None
        ),
        "uses_v3": any(uses_v3(sc) for sc in firsts),
    }
