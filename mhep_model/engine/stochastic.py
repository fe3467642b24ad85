"""Stochastic paths (spec section 9): whole people drawn per path, then the same engine.

For a block of paths of one case, the draws are, in this order:

1. per path, a uniform quantile for every stage and band (rate uncertainty);
2. per path, the referral level multiplier ``L ~ Gamma`` (mean 1, CV ``level_cv``);
3. per path and month, a further multiplier ``M ~ Gamma`` (mean 1, CV ``monthly_cv``);
4. referrals ``~ Poisson(referrals * L * M)``;
5. per stage, in order: on a split stage the parent's people divided among the bands by a
   multinomial draw; each band's cohort ``~ Binomial(count, the path's rate)``; arrivals
   spread over the lag by a multinomial draw over its weights.

A path keeps its rate quantile through amendments: the same uniform goes through each Beta
in force. Every block of paths has its own generator, derived from the run's seed, the case
and the block number, so results never depend on how blocks are grouped or scheduled.
Everything from outcome counts on is :func:`mhep_model.engine.portfolio.run_portfolio`,
the code deterministic runs use; a contract on its own is a portfolio of one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from scipy.special import betaincinv

from mhep_model.engine.funnel import (
    apply_capacity,
    replace_recorded,
    with_opening,
    with_recorded,
)
from mhep_model.engine.funnel import referrals as expected_referrals
from mhep_model.engine.inputs import (
    FloatArray,
    Inputs,
    IntArray,
    StageInputs,
    take_rows,
)
from mhep_model.engine.portfolio import PortfolioInputs, path_metrics, run_portfolio

BLOCK = 8192
"""Paths per block: each block draws from its own generator."""
SLICE_CELLS = 2048 * 48
"""Most path-months the engine computes at once within a block (its arrays are about
2 KB a path-month), and the most path-month-lag cells a lag draw makes at once: memory
does not grow with the horizon. Draws split along paths give the same stream."""
MAX_POISSON_MEAN = 1e15
"""Largest referral mean drawn from [people/month]."""


@dataclass(frozen=True)
class Uncertainty:
    """Spec section 9 parameters, ``(R,)`` per case row; 0 CV or inf concentration = off."""

    level_cv: FloatArray
    monthly_cv: FloatArray
    concentration: FloatArray


def block_rng(seed: int, case_key: int, block: int) -> np.random.Generator:
    """The generator of one block of paths of one case."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(case_key, block)))


def _gamma(rng: np.random.Generator, cv: float, size: tuple[int, ...]) -> FloatArray | float:
    """Gamma multipliers with mean 1 and coefficient of variation ``cv`` (1 when cv is 0)."""
    if cv * cv <= 1e-12:  # no spread to speak of (and 1 / cv**2 would overflow)
        return 1.0
    shape = 1.0 / (cv * cv)
    out: FloatArray = rng.gamma(shape, 1.0 / shape, size=size)
    return out


def _path_rates(stage: StageInputs, quantile: FloatArray, concentration: float) -> FloatArray:
    """``(P, B, T)`` each path's rate in each cohort month: the path's quantile of
    ``Beta(rate * k, (1 - rate) * k)`` for the rate in force (the rate itself if k is inf)."""
    rate = stage.rate[0]  # (B, T): one case
    paths = quantile.shape[0]
    if not np.isfinite(concentration):
        return np.broadcast_to(rate, (paths, *rate.shape))
    out = np.empty((paths, *rate.shape))
    for b in range(rate.shape[0]):
        for value in np.unique(rate[b]):
            months = rate[b] == value
            if value <= 0.0 or value >= 1.0:
                drawn = np.full(paths, value)
            else:
                drawn = betaincinv(
                    value * concentration, (1 - value) * concentration, quantile[:, b]
                )
            out[:, b, months] = drawn[:, None]
    return out


def _spread_over_lag(rng: np.random.Generator, cohort: IntArray, weights: FloatArray) -> FloatArray:
    """Arrivals ``(P, B, T)``: each month's cohort divided over the lag by a multinomial draw."""
    nonzero = np.flatnonzero(weights > 0)
    months = cohort.shape[-1]
    if nonzero.size == 1:  # a whole-number lag: everyone arrives k months later
        k = int(nonzero[0])
        out = np.zeros(cohort.shape)
        if k < months:
            out[..., k:] = cohort[..., : months - k]
        return out
    last = int(nonzero[-1])
    pvals = weights[: last + 1] / weights[: last + 1].sum()
    out = np.zeros(cohort.shape)
    # in runs of paths, so that the (paths, B, T, K+1) draw stays small at any horizon;
    # the generator yields the same numbers as one draw of every path
    per_path = int(np.prod(cohort.shape[1:], dtype=np.int64)) * (last + 1)
    step = max(1, SLICE_CELLS // max(per_path, 1))
    for start in range(0, cohort.shape[0], step):
        part = slice(start, start + step)
        split = rng.multinomial(cohort[part], pvals)  # (p, B, T, K+1)
        for j in range(min(last + 1, months)):
            out[part, ..., j:] += split[..., : months - j, j]
    return out


def draw_flows(
    inp: Inputs, unc: Uncertainty, row: int, paths: int, rng: np.random.Generator
) -> tuple[FloatArray, list[FloatArray], FloatArray]:
    """Whole-people referrals ``(P, T)``, stage flows ``(P, B, T)`` and people over staff
    capacity ``(P, T)`` for ``paths`` paths of case row ``row`` of ``inp``."""
    one = take_rows(inp, np.array([row]))
    months = one.months
    level_cv = float(unc.level_cv[row])
    monthly_cv = float(unc.monthly_cv[row])
    concentration = float(unc.concentration[row])
    n_bands = [max(len(s.bands), 1) for s in one.stages]
    quantiles = rng.random((paths, sum(n_bands))) if np.isfinite(concentration) else None

    mean = expected_referrals(one)[0]  # (T,)
    level = _gamma(rng, level_cv, (paths, 1))
    monthly = _gamma(rng, monthly_cv, (paths, months))
    # numpy's Poisson takes means up to about 9e18; far beyond any contract's volume, a
    # heavy-tailed multiplier could pass it, so means are held below.
    lam = np.broadcast_to(np.minimum(mean * level * monthly, MAX_POISSON_MEAN), (paths, months))
    # every month is drawn (so the stream does not depend on the records), then the
    # recorded months replace the draws: they are known, not drawn (spec section 13)
    referral_flow = with_recorded(one.recorded_referrals, rng.poisson(lam).astype(np.float64))

    in_term = one.in_term()[0]
    in_horizon = one.in_horizon()[0]
    flows: list[FloatArray] = []
    over_capacity = np.zeros((paths, months))
    offset = 0
    for s, stage in enumerate(one.stages):
        parent = referral_flow[:, None, :] if stage.parent < 0 else flows[stage.parent]
        # v3: the parent's opening caseload is there, not drawn; its cohorts are drawn
        parent_n = with_opening(one, stage, parent).astype(np.int64)
        if stage.split is not None:
            shares = stage.split[0] / stage.split[0].sum()
            by_band = rng.multinomial(parent_n.sum(axis=1), shares)  # (P, T, B)
            parent_n = np.moveaxis(by_band, -1, 1)
        q = (
            quantiles[:, offset : offset + n_bands[s]]
            if quantiles is not None
            else np.zeros((paths, n_bands[s]))
        )
        offset += n_bands[s]
        rate = _path_rates(stage, q, concentration)
        cohort = rng.binomial(parent_n, np.clip(rate, 0.0, 1.0))
        arrivals = _spread_over_lag(rng, cohort, stage.lag[0])
        allowed = in_horizon & (in_term | bool(stage.after_term[0]))
        # ``one`` holds the case once: its (1, T) capacity broadcasts over the paths
        flow, over = apply_capacity(one, stage, np.where(allowed, arrivals, 0.0), whole=True)
        flow, over = replace_recorded(stage, flow, over)
        over_capacity += over
        flows.append(flow)
    return referral_flow, flows, over_capacity


def block_summary(
    pin: PortfolioInputs,
    unc: Sequence[Uncertainty],
    row: int,
    paths: int,
    rngs: Sequence[np.random.Generator],
    by_month: Mapping[str, str] = MappingProxyType({}),
) -> dict[str, FloatArray]:
    """Draw ``paths`` paths of case row ``row``, each contract's people from its own
    generator of ``rngs`` with its ``unc``; each path's metrics ``(paths,)``
    (:func:`~mhep_model.engine.portfolio.path_metrics`) and, under the keys of ``by_month``,
    the monthly series it names (``spv_cash``; a contract on its own also
    ``provider_reserves``) ``(paths, H)`` as float32. The engine runs over runs of paths of
    at most :data:`SLICE_CELLS` path-months, so a block's memory does not grow with the
    horizon; rows never interact, so the results do not depend on the runs."""
    drawn = [
        draw_flows(inp, u, row, paths, rng)
        for inp, u, rng in zip(pin.contracts, unc, rngs, strict=True)
    ]
    horizon = int(pin.waterfall.horizon[row])
    step = max(1, SLICE_CELLS // max(pin.months, 1))
    parts: list[dict[str, FloatArray]] = []
    for start in range(0, paths, step):
        n = min(start + step, paths) - start
        mine = [
            (r[start : start + n], [f[start : start + n] for f in s], o[start : start + n])
            for r, s, o in drawn
        ]
        results = run_portfolio(pin.repeat(row, n), mine)
        part = path_metrics(results)
        for key, name in by_month.items():
            monthly = (
                results.spv.cash if name == "spv_cash" else results.contracts[0].provider.reserves
            )
            part[key] = monthly[:, :horizon].astype(np.float32)
        del results  # the next run's arrays replace these, not join them
        parts.append(part)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
