"""Resolved cases to the engine's arrays: one row per case, one column per month.

A value that amendments can change is read from the version in force in each month (the
month it is read at is the array's own month: cohort month for rates, achievement month for
tariffs, shares and factors, payment month for block, costs and fees; spec section 11).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from mhep_model.engine.inputs import FloatArray, Inputs, OutcomeInputs, StageInputs
from mhep_model.errors import ScenarioError
from mhep_model.scenario.model import Scenario, bands_of
from mhep_model.scenario.resolve import Case, Resolved
from mhep_model.scenario.validate import SUM_TOL


def _version_index(case: Case, months: int) -> np.ndarray:
    """``(T,)`` index of the version in force in each month."""
    starts = np.array([v.month for v in case.versions])
    m = np.arange(1, months + 1)
    return np.searchsorted(starts, m, side="right") - 1  # type: ignore[no-any-return]


def _per_month(
    cases: Sequence[Case], months: int, read: Callable[[Scenario], FloatArray | float]
) -> FloatArray:
    """``(R, T, ...)`` the value ``read`` gives for each version, in the months it is in force.

    ``read`` may return a scalar, a ``(..., )`` array, or a ``(T,)``-leading array already by
    month (referral lists).
    """
    rows = []
    for case in cases:
        idx = _version_index(case, months)
        values = np.stack([np.asarray(read(v.scenario), dtype=np.float64) for v in case.versions])
        if values.ndim >= 2 and values.shape[1] == months and getattr(read, "by_month", False):
            rows.append(values[idx, np.arange(months)])
        else:
            rows.append(values[idx])
    return np.stack(rows)


def _per_row(cases: Sequence[Case], read: Callable[[Scenario], float]) -> FloatArray:
    return np.array([read(c.scenario) for c in cases], dtype=np.float64)


def _band_values(value: float | dict[str, float], bands: tuple[str, ...]) -> list[float]:
    if isinstance(value, dict):
        return [value[b] for b in bands]
    return [value] * max(len(bands), 1)


def compile_inputs(resolved: Resolved) -> Inputs:
    """The engine's :class:`Inputs` for every case of ``resolved``; checks payer shares."""
    cases = resolved.cases
    base = resolved.base
    months = max(c.scenario.contract.horizon for c in cases)
    _check_shares(resolved, months)
    bands = bands_of(base)
    stage_names = list(base.stages)
    payer_names = tuple(base.payers)
    outcome_names = list(base.outcomes)

    def monthly_referrals(sc: Scenario) -> FloatArray:
        r = sc.referrals
        out = np.zeros(months)
        if isinstance(r.monthly, list):
            out[: len(r.monthly)] = r.monthly
        elif r.monthly is not None:
            out[:] = r.monthly
        else:
            out[:] = (r.workers or 0.0) * (r.per_worker_per_year or 0.0) / 12.0
        return out

    monthly_referrals.by_month = True  # type: ignore[attr-defined]

    stages = []
    for name in stage_names:
        stage = base.stages[name]
        b = bands[name]
        is_split = stage.split is not None
        lags = [_lag_weights(c.scenario.stages[name].lag) for c in cases]
        width = max(len(w) for w in lags)
        lag = np.zeros((len(cases), width))
        for i, w in enumerate(lags):
            lag[i, : len(w)] = w
        split = None
        if is_split:
            split = np.array(
                [[(c.scenario.stages[name].split or {})[band] for band in b] for c in cases]
            )
        rate = _per_month(cases, months, lambda sc, n=name, b=b: _band_values(sc.stages[n].rate, b))
        stages.append(
            StageInputs(
                name=name,
                parent=-1 if stage.from_ == "referral" else stage_names.index(stage.from_),
                bands=b,
                split=split,
                rate=np.moveaxis(rate, 1, 2) if rate.ndim == 3 else rate[:, None, :],
                lag=lag,
                after_term=np.array([c.scenario.stages[name].after_term for c in cases]),
            )
        )

    outcomes = []
    for name in outcome_names:
        b = bands[base.outcomes[name].stage]

        def tariff(sc: Scenario, n: str = name, b: tuple[str, ...] = b) -> list[float]:
            return _band_values(sc.outcomes[n].tariff, b)

        def shares(sc: Scenario, n: str = name) -> list[float]:
            return [sc.outcomes[n].paid_by.get(p, 0.0) for p in payer_names]

        def provider_tariff(sc: Scenario, n: str = name, b: tuple[str, ...] = b) -> list[float]:
            op = sc.provider.outcome_payments
            if op is None:
                return [0.0] * max(len(b), 1)
            if op.tariffs is not None:
                return _band_values(op.tariffs.get(n, 0.0), b)
            share = op.share_of_tariff or 0.0
            return [share * t for t in _band_values(sc.outcomes[n].tariff, b)]

        max_counts = [c.scenario.outcomes[name].max_count for c in cases]
        outcomes.append(
            OutcomeInputs(
                name=name,
                stage=stage_names.index(base.outcomes[name].stage),
                tariff=np.moveaxis(_per_month(cases, months, tariff), 1, 2),
                shares=np.moveaxis(_per_month(cases, months, shares), 1, 2),
                max_count=np.array([np.inf if x is None else x for x in max_counts]),
                provider_tariff=np.moveaxis(_per_month(cases, months, provider_tariff), 1, 2),
            )
        )

    m = np.arange(1, months + 1)
    windows = np.array(
        [
            [
                c.scenario.payers[p].window or [1, c.scenario.contract.horizon]
                for p in payer_names
            ]
            for c in cases
        ]
    )  # (R, P, 2)
    active = (m[None, None, :] >= windows[:, :, :1]) & (m[None, None, :] <= windows[:, :, 1:])

    def factors(sc: Scenario) -> list[float]:
        return [sc.payers[p].tariff_factor for p in payer_names]

    pay_month = np.stack([_pay_months(c.scenario, months) for c in cases])
    op_caps = [
        c.scenario.provider.outcome_payments.annual_cap
        if c.scenario.provider.outcome_payments is not None
        else None
        for c in cases
    ]

    def costs(key: str) -> FloatArray:
        return _per_month(cases, months, lambda sc: float(getattr(sc.provider.costs, key)))

    return Inputs(
        term=np.array([c.scenario.contract.term_months for c in cases], dtype=np.int64),
        horizon=np.array([c.scenario.contract.horizon for c in cases], dtype=np.int64),
        referrals_monthly=_per_month(cases, months, monthly_referrals),
        referrals_scale=_per_month(cases, months, lambda sc: sc.referrals.scale),
        ramp_up_months=np.array(
            [c.scenario.referrals.ramp_up_months for c in cases], dtype=np.int64
        ),
        stages=tuple(stages),
        outcomes=tuple(outcomes),
        payer_names=payer_names,
        payer_self=np.array([[c.scenario.payers[p].self_ for p in payer_names] for c in cases]),
        payer_active=active,
        payer_factor=np.moveaxis(_per_month(cases, months, factors), 1, 2),
        payer_cap=np.array(
            [
                [
                    np.inf if c.scenario.payers[p].cap is None else c.scenario.payers[p].cap
                    for p in payer_names
                ]
                for c in cases
            ],
            dtype=np.float64,
        ),
        pay_month=pay_month,
        provider_annual_cap=np.array([np.inf if x is None else x for x in op_caps]),
        block_annual=_per_month(cases, months, lambda sc: sc.provider.block.annual),
        staff_fte=costs("staff_fte"),
        cost_per_fte=costs("cost_per_fte"),
        fixed_annual=costs("fixed_annual"),
        mobilisation=_per_row(cases, lambda sc: sc.provider.costs.mobilisation),
        opening_reserves=_per_row(cases, lambda sc: sc.provider.opening_reserves),
        management_fee_annual=_per_month(cases, months, lambda sc: sc.spv.management_fee_annual),
        opening_cash=_per_row(cases, lambda sc: sc.spv.opening_cash),
        min_cash=_per_row(cases, lambda sc: sc.spv.min_cash),
        commitment=_per_row(cases, lambda sc: sc.investor.commitment),
        equity_share=_per_row(cases, lambda sc: sc.investor.equity_share),
        loan_rate=_per_row(cases, lambda sc: sc.investor.loan_rate),
        sweep=np.array([c.scenario.investor.repayment == "sweep" for c in cases]),
        sweep_from_month=np.array(
            [c.scenario.investor.sweep_from_month for c in cases], dtype=np.int64
        ),
    )


def _lag_weights(lag: int | list[float]) -> list[float]:
    if isinstance(lag, int):
        return [0.0] * lag + [1.0]
    return list(lag)


def _pay_months(sc: Scenario, months: int) -> np.ndarray:
    """``(T,)`` payment month of outcomes achieved in each month (may pass H)."""
    m = np.arange(1, months + 1)
    period_end = m if sc.settlement.frequency == "monthly" else 3 * (-(-m // 3))
    return (period_end + sc.settlement.lag_months).astype(np.int64)  # type: ignore[no-any-return]


def _check_shares(resolved: Resolved, months: int) -> None:
    """Payer shares active in each month sum to 1 or 0 (spec section 5), per version."""
    for case in resolved.cases:
        starts = [v.month for v in case.versions]
        horizon = case.scenario.contract.horizon
        for k, version in enumerate(case.versions):
            sc = version.scenario
            first = starts[k]
            last = (starts[k + 1] - 1) if k + 1 < len(starts) else horizon
            m = np.arange(first, last + 1)
            for oname, outcome in sc.outcomes.items():
                total = np.zeros(m.size)
                for pname, share in outcome.paid_by.items():
                    window = sc.payers[pname].window or [1, horizon]
                    total += np.where((m >= window[0]) & (m <= window[1]), share, 0.0)
                bad = (np.abs(total - 1) > SUM_TOL) & (np.abs(total) > SUM_TOL)
                if bad.any():
                    i = int(bad.argmax())
                    active = [
                        p
                        for p in outcome.paid_by
                        if (sc.payers[p].window or [1, horizon])[0] <= m[i]
                        <= (sc.payers[p].window or [1, horizon])[1]
                    ]
                    context = []
                    if resolved.base.cases is not None:
                        context.append(f"case {case.name}")
                    if version.month > 1:
                        context.append(f"amendment in month {version.month}")
                    raise ScenarioError(
                        f"the shares of the payers active in month {int(m[i])} "
                        f"({', '.join(active)}) sum to {total[i]:.10g}: they must sum to 1 "
                        "(or to 0 when nobody pays that month)",
                        file=resolved.file,
                        line=resolved.doc.line_of(("outcomes", oname, "paid_by")),
                        path=("outcomes", oname, "paid_by"),
                        context=", ".join(context) or None,
                    )
