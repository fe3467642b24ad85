"""Resolved cases to the engine's arrays: one row per case, one column per month.

A value that amendments can change is read from the version in force in each month (the
month it is read at is the array's own month: cohort month for rates, achievement month for
tariffs, shares and factors, payment month for block, costs and fees; spec section 11).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from mhep_model.engine.inputs import FloatArray, Inputs, IntArray, OutcomeInputs, StageInputs
from mhep_model.scenario import compile_terms as terms
from mhep_model.scenario.limits import check_work, lanes
from mhep_model.scenario.model import Scenario, bands_of
from mhep_model.scenario.resolve import Case, Resolved


def version_index(case: Case, months: int) -> IntArray:
    """``(T,)`` index of the version in force in each month."""
    starts = np.array([v.month for v in case.versions])
    m = np.arange(1, months + 1)
    return np.searchsorted(starts, m, side="right").astype(np.int64) - 1


Reading = float | list[float]


class _Versions:
    """The versions of every case, padded to the same count, and which is in force when."""

    def __init__(self, cases: Sequence[Case], months: int) -> None:
        widest = max(len(c.versions) for c in cases)
        self.scenarios = [
            [v.scenario for v in c.versions]
            + [c.versions[-1].scenario] * (widest - len(c.versions))
            for c in cases
        ]
        self.first = [c.versions[0].scenario for c in cases]
        starts = {tuple(v.month for v in c.versions) for c in cases}
        if len(starts) == 1:  # the usual batch: every case amended in the same months
            row = version_index(cases[0], months)
            self.index: IntArray = np.broadcast_to(row, (len(cases), months))
        else:
            self.index = np.stack([version_index(c, months) for c in cases])
        self.rows = np.arange(len(cases))[:, None]

    def per_month(self, read: Callable[[Scenario], Reading]) -> FloatArray:
        """``(R, T)`` or ``(R, T, X)``: what ``read`` gives for each version, in its months."""
        table = np.array([[read(sc) for sc in row] for row in self.scenarios], dtype=np.float64)
        picked: FloatArray = table[self.rows, self.index]
        return picked

    def per_row(self, read: Callable[[Scenario], float]) -> FloatArray:
        """``(R,)``: a value that amendments cannot change, from each case's scenario."""
        return np.array([read(sc) for sc in self.first], dtype=np.float64)


def _by_band(array: FloatArray) -> FloatArray:
    """``(R, T, X)`` to the engine's ``(R, X, T)``, laid out in that order: the engine's
    element-wise arithmetic runs several times faster on C-ordered arrays (issue 15)."""
    return np.ascontiguousarray(np.moveaxis(array, 1, 2))


def _band_values(value: float | dict[str, float], bands: tuple[str, ...]) -> list[float]:
    if isinstance(value, dict):
        return [value[b] for b in bands]
    return [value] * max(len(bands), 1)


def compile_inputs(resolved: Resolved | Sequence[Resolved], months: int = 0) -> Inputs:
    """The engine's :class:`Inputs`: one row per case of each resolved scenario, in order.

    Several scenarios (the variants of a batch, the points of a sweep) become rows of one
    batch; they must share stages, bands, outcomes and payers. ``months``: at least this
    many months (a batch the rows will join, padded as it is).
    """
    group = [resolved] if isinstance(resolved, Resolved) else list(resolved)
    cases = [case for r in group for case in r.cases]
    base = group[0].base
    months = max(months, *(c.scenario.contract.horizon for c in cases))
    check_work(len(cases), months, scenario_lanes(base), group[0].file)
    versions = _Versions(cases, months)
    firsts = versions.first  # each case's scenario before amendments
    bands = bands_of(base)
    stage_names = list(base.stages)
    payer_names = tuple(base.payers)
    outcome_names = list(base.outcomes)

    stages = []
    for name in stage_names:
        stage = base.stages[name]
        b = bands[name]
        is_split = stage.split is not None
        lags = [_lag_weights(sc.stages[name].lag) for sc in firsts]
        width = max(len(w) for w in lags)
        lag = np.zeros((len(cases), width))
        for i, w in enumerate(lags):
            lag[i, : len(w)] = w
        split = None
        if is_split:
            split = np.array([[(sc.stages[name].split or {})[band] for band in b] for sc in firsts])
        rate = versions.per_month(_stage_rate(name, b))
        stages.append(
            StageInputs(
                name=name,
                parent=-1 if stage.from_ == "referral" else stage_names.index(stage.from_),
                bands=b,
                split=split,
                rate=_by_band(rate),
                lag=lag,
                after_term=np.array([sc.stages[name].after_term for sc in firsts]),
                capacity=versions.per_month(_capacity(name)),
                recorded=_recorded_stage(cases, name, max(len(b), 1), months),
                opening=terms.opening(firsts, name, b),
            )
        )

    outcomes = []
    for name in outcome_names:
        b = bands[base.outcomes[name].stage]

        max_counts = [sc.outcomes[name].max_count for sc in firsts]
        rejected, evidence_lag = terms.evidence(firsts, name)
        outcomes.append(
            OutcomeInputs(
                name=name,
                stage=stage_names.index(base.outcomes[name].stage),
                tariff=_by_band(versions.per_month(_tariff(name, b))),
                shares=_by_band(versions.per_month(_shares(name, payer_names))),
                max_count=np.array([np.inf if x is None else x for x in max_counts]),
                provider_tariff=_by_band(versions.per_month(_provider_tariff(name, b))),
                rejected=rejected,
                evidence_lag=evidence_lag,
            )
        )

    m = np.arange(1, months + 1)
    windows = np.array(
        [[sc.payers[p].window or [1, sc.contract.horizon] for p in payer_names] for sc in firsts]
    )  # (R, P, 2)
    active = (m[None, None, :] >= windows[:, :, :1]) & (m[None, None, :] <= windows[:, :, 1:])

    def factors(sc: Scenario) -> Reading:
        return [sc.payers[p].tariff_factor for p in payer_names]

    pay_month = np.stack([_pay_months(sc, months) for sc in firsts])

    def payer_caps(sc: Scenario) -> Reading:
        return [none_inf(sc.payers[p].cap) for p in payer_names]

    def annual_cap(sc: Scenario) -> float:
        op = sc.provider.outcome_payments
        return none_inf(op.annual_cap if op is not None else None)

    advance, advance_repaid = _advances(firsts, months)

    def costs(key: str) -> FloatArray:
        return versions.per_month(lambda sc: float(getattr(sc.provider.costs, key)))

    return Inputs(
        term=np.array([sc.contract.term_months for sc in firsts], dtype=np.int64),
        horizon=np.array([sc.contract.horizon for sc in firsts], dtype=np.int64),
        referrals_monthly=_referrals_monthly(cases, months),
        referrals_scale=versions.per_month(lambda sc: sc.referrals.scale),
        ramp_up_months=np.array([sc.referrals.ramp_up_months for sc in firsts], dtype=np.int64),
        stages=tuple(stages),
        outcomes=tuple(outcomes),
        payer_names=payer_names,
        payer_self=np.array([[sc.payers[p].self_ for p in payer_names] for sc in firsts]),
        payer_active=active,
        payer_factor=_by_band(versions.per_month(factors)),
        payer_cap=_by_band(versions.per_month(payer_caps)),
        pay_month=pay_month,
        provider_annual_cap=versions.per_month(annual_cap),
        back_to_back=np.array(
            [
                sc.provider.outcome_payments is not None
                and sc.provider.outcome_payments.back_to_back
                for sc in firsts
            ]
        ),
        advance=advance,
        advance_repaid=advance_repaid,
        block_annual=versions.per_month(lambda sc: sc.provider.block.annual),
        staff_fte=costs("staff_fte"),
        cost_per_fte=costs("cost_per_fte"),
        fixed_annual=costs("fixed_annual"),
        mobilisation=versions.per_row(lambda sc: sc.provider.costs.mobilisation),
        opening_reserves=versions.per_row(lambda sc: sc.provider.opening_reserves),
        management_fee_annual=versions.per_month(lambda sc: sc.spv.management_fee_annual),
        opening_cash=versions.per_row(lambda sc: sc.spv.opening_cash),
        min_cash=versions.per_row(lambda sc: sc.spv.min_cash),
        commitment=versions.per_row(lambda sc: sc.investor.commitment),
        equity_share=versions.per_row(lambda sc: sc.investor.equity_share),
        loan_rate=versions.per_row(lambda sc: sc.investor.loan_rate),
        sweep=np.array([sc.investor.repayment == "sweep" for sc in firsts]),
        sweep_from_month=np.array([sc.investor.sweep_from_month for sc in firsts], dtype=np.int64),
        upfront=versions.per_row(lambda sc: sc.investor.upfront),
        recorded_referrals=_recorded_referrals(cases, months),
        grants=terms.grants(firsts, payer_names, months),
        stop=terms.stop(firsts, payer_names),
        **terms.cash_terms(firsts),
    )


def _referrals_monthly(cases: Sequence[Case], months: int) -> FloatArray:
    """``(R, T)`` referral volume of the version in force in each referral month.

    An amended number replaces a list's values from its month on (spec section 11).
    """
    rows = []
    for case in cases:
        by_version = np.zeros((len(case.versions), months))
        for k, version in enumerate(case.versions):
            r = version.scenario.referrals
            if isinstance(r.monthly, list):
                by_version[k, : len(r.monthly)] = r.monthly
            elif r.monthly is not None:
                by_version[k] = r.monthly
            else:
                by_version[k] = (r.workers or 0.0) * (r.per_worker_per_year or 0.0) / 12.0
        rows.append(by_version[version_index(case, months), np.arange(months)])
    return np.stack(rows)


def none_inf(value: float | None) -> float:
    """A cap or limit: ``inf`` where none is given."""
    return np.inf if value is None else float(value)


def _capacity(name: str) -> Callable[[Scenario], Reading]:
    return lambda sc: none_inf(sc.stages[name].capacity_per_fte)


def _advances(firsts: Sequence[Scenario], months: int) -> tuple[FloatArray, FloatArray]:
    """``(R, T)`` working capital lent to the provider, and its repayments (spec 6)."""
    lent = np.zeros((len(firsts), months))
    repaid = np.zeros((len(firsts), months))
    for i, sc in enumerate(firsts):
        adv = sc.provider.advance
        if adv is None or adv.amount == 0:
            continue
        lent[i, adv.month - 1] = adv.amount
        first = adv.repay_from - 1
        repaid[i, first : first + adv.repay_months] = adv.amount / adv.repay_months
    return lent, repaid


def _stage_rate(name: str, bands: tuple[str, ...]) -> Callable[[Scenario], Reading]:
    return lambda sc: _band_values(sc.stages[name].rate, bands)


def _tariff(name: str, bands: tuple[str, ...]) -> Callable[[Scenario], Reading]:
    return lambda sc: _band_values(sc.outcomes[name].tariff, bands)


def _shares(name: str, payers: tuple[str, ...]) -> Callable[[Scenario], Reading]:
    return lambda sc: [sc.outcomes[name].paid_by.get(p, 0.0) for p in payers]


def _provider_tariff(name: str, bands: tuple[str, ...]) -> Callable[[Scenario], Reading]:
    """Explicit provider tariffs (0 for outcomes not listed), else a share of the tariff."""

    def read(sc: Scenario) -> Reading:
        op = sc.provider.outcome_payments
        if op is None:
            return [0.0] * max(len(bands), 1)
        if op.tariffs is not None:
            return _band_values(op.tariffs.get(name, 0.0), bands)
        share = op.share_of_tariff or 0.0
        return [share * t for t in _band_values(sc.outcomes[name].tariff, bands)]

    return read


def _lag_weights(lag: int | list[float]) -> list[float]:
    if isinstance(lag, int):
        return [0.0] * lag + [1.0]
    return list(lag)


def _pay_months(sc: Scenario, months: int) -> IntArray:
    """``(T,)`` payment month of outcomes achieved in each month (may pass H)."""
    m = np.arange(1, months + 1)
    period_end = m if sc.settlement.frequency == "monthly" else 3 * (-(-m // 3))
    return (period_end + sc.settlement.lag_months).astype(np.int64)


def scenario_lanes(sc: Scenario) -> int:
    """The engine's arrays per row and month for this structure (a work-budget unit)."""
    n_bands = sum(max(len(b), 1) for b in bands_of(sc).values())
    return lanes(n_bands, len(sc.payers), len(sc.outcomes))


def _recorded_referrals(cases: Sequence[Case], months: int) -> FloatArray | None:
    """``(R, T)`` recorded referrals, NaN where not recorded; None when no row has any."""
    if not any(c.recorded is not None and c.recorded.referrals is not None for c in cases):
        return None
    out = np.full((len(cases), months), np.nan)
    for i, case in enumerate(cases):
        rec = case.recorded
        if rec is not None and rec.referrals is not None:
            out[i, : rec.k] = rec.referrals
    return out


def _recorded_stage(
    cases: Sequence[Case], name: str, n_bands: int, months: int
) -> FloatArray | None:
    """``(R, B, T)`` a stage's recorded flows, NaN where not recorded; None when none."""
    if not any(c.recorded is not None and name in c.recorded.stages for c in cases):
        return None
    out = np.full((len(cases), n_bands, months), np.nan)
    for i, case in enumerate(cases):
        rec = case.recorded
        if rec is not None and name in rec.stages:
            out[i, :, : rec.k] = rec.stages[name]
    return out
