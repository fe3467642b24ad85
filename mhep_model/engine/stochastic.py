"""Stochastic paths (spec section 9): whole people drawn per path, then the same engine.

For a block of paths of one case, each path draws (every quantity from its own keyed
stream, :mod:`mhep_model.engine.streams`, so that the variants of a batch share them):

1. a uniform quantile for every stage and band (rate uncertainty, kind ``rate``);
2. the referral level multiplier ``L ~ Gamma`` (mean 1, CV ``level_cv``; kind ``level``)
   and, in a portfolio, the shared ``C`` (``common_level_cv``; kind ``common_level``, the
   same stream for every contract);
3. per month, a further multiplier ``M ~ Gamma`` (CV ``monthly_cv``; kind ``monthly``);
4. referrals ``~ Poisson(referrals * C * L * M)`` (kind ``referrals``);
5. per stage, in order: on a split stage the parent's people divided among the bands
   (kind ``split``); each band's cohort ``~ Binomial(count, the path's rate)`` (``cohort``);
   arrivals spread over the lag (``lag``), multinomials as successive binomials.

Every count is an inverse-CDF transform of its stream's uniform. A path keeps its rate
quantile through amendments: the same uniform goes through each Beta in force. Everything
from outcome counts on is :func:`mhep_model.engine.portfolio.run_portfolio`, the code
deterministic runs use; a contract on its own is a portfolio of one.
"""

from __future__ import annotations

import hashlib
import pickle
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
    StageInputs,
    take_rows,
)
from mhep_model.engine.portfolio import PortfolioInputs, path_metrics, run_portfolio
from mhep_model.engine.streams import (
    Streams,
    binomial_inv,
    case_key,
    gamma_inv,
    multinomial_inv,
    poisson_inv,
)

BLOCK = 8192
"""Paths per block (a unit of work: the draws do not depend on it)."""
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


def block_streams(seed: int, key: int, block: int, paths: int) -> Streams:
    """The streams of block ``block`` (its first ``paths`` paths) of one contract's case
    (``key``: :func:`mhep_model.studies.stress.stream_key`)."""
    return Streams(case_key(seed, key), block * BLOCK, paths)


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


def _spread_over_lag(
    streams: Streams, stage: int, cohort: FloatArray, weights: FloatArray
) -> FloatArray:
    """Arrivals ``(P, B, T)``: each band's and month's cohort divided over the lag by
    successive binomials (kind ``lag``, keyed by stage, band and cohort month)."""
    nonzero = np.flatnonzero(weights > 0)
    months = cohort.shape[-1]
    out = np.zeros(cohort.shape)
    if nonzero.size == 1:  # a whole-number lag: everyone arrives k months later
        k = int(nonzero[0])
        if k < months:
            out[..., k:] = cohort[..., : months - k]
        return out
    last = int(nonzero[-1])
    # in runs of paths, so that the (paths, T, K+1) division stays small at any horizon;
    # the streams give each path the same uniforms whatever the run
    step = max(1, SLICE_CELLS // max(months * (last + 1), 1))
    for start in range(0, cohort.shape[0], step):
        n = min(step, cohort.shape[0] - start)
        part, rows = streams.paths_from(start, n), slice(start, start + n)
        for b in range(cohort.shape[1]):
            split = multinomial_inv(part, "lag", stage, b, cohort[rows, b, :], weights[: last + 1])
            for j in range(min(last + 1, months)):
                out[rows, b, j:] += split[:, : months - j, j]
    return out


def draw_flows(
    inp: Inputs,
    unc: Uncertainty,
    row: int,
    streams: Streams,
    common: FloatArray | float = 1.0,
) -> tuple[FloatArray, list[FloatArray], FloatArray]:
    """Whole-people referrals ``(P, T)``, stage flows ``(P, B, T)`` and people over staff
    capacity ``(P, T)`` for the block's paths of case row ``row`` of ``inp``; ``common``
    the portfolio's shared level multiplier per path ``(P,)`` (1: none)."""
    one = take_rows(inp, np.array([row]))
    months = one.months
    paths = streams.paths
    concentration = float(unc.concentration[row])
    mean = expected_referrals(one)[0]  # (T,)
    level = gamma_inv(streams.uniforms("level"), float(unc.level_cv[row]))
    monthly_cv = float(unc.monthly_cv[row])
    monthly = gamma_inv(streams.by_month("monthly", months), monthly_cv) if monthly_cv > 0 else 1.0
    scale = np.asarray(level * np.asarray(common, dtype=float))[:, None]
    lam = np.broadcast_to(np.minimum(mean * scale * monthly, MAX_POISSON_MEAN), (paths, months))
    # every month is drawn (its own stream), then the recorded months replace the draws:
    # they are known, not drawn (spec section 13)
    drawn = poisson_inv(streams.by_month("referrals", months), np.ascontiguousarray(lam))
    referral_flow = with_recorded(one.recorded_referrals, drawn)

    in_term = one.in_term()[0]
    in_horizon = one.in_horizon()[0]
    flows: list[FloatArray] = []
    over_capacity = np.zeros((paths, months))
    for s, stage in enumerate(one.stages):
        parent = referral_flow[:, None, :] if stage.parent < 0 else flows[stage.parent]
        # v3: the parent's opening caseload is there, not drawn; its cohorts are drawn
        parent_n = with_opening(one, stage, parent).astype(np.float64)
        if stage.split is not None:
            shares = stage.split[0] / stage.split[0].sum()
            by_band = multinomial_inv(streams, "split", s, 0, parent_n.sum(axis=1), shares)
            parent_n = np.moveaxis(by_band, -1, 1)
        n_bands = parent_n.shape[1]
        if np.isfinite(concentration):
            q = np.stack([streams.uniforms("rate", s, b) for b in range(n_bands)], axis=1)
        else:
            q = np.zeros((paths, n_bands))
        rate = np.clip(_path_rates(stage, q, concentration), 0.0, 1.0)
        cohort = np.empty(parent_n.shape)
        for b in range(n_bands):
            u = streams.by_month("cohort", months, s, b)
            cohort[:, b, :] = binomial_inv(
                u, parent_n[:, b, :], np.ascontiguousarray(np.broadcast_to(rate[:, b, :], u.shape))
            )
        arrivals = _spread_over_lag(streams, s, cohort, stage.lag[0])
        allowed = in_horizon & (in_term | bool(stage.after_term[0]))
        # ``one`` holds the case once: its (1, T) capacity broadcasts over the paths
        flow, over = apply_capacity(one, stage, np.where(allowed, arrivals, 0.0), whole=True)
        flow, over = replace_recorded(stage, flow, over)
        over_capacity += over
        flows.append(flow)
    return referral_flow, flows, over_capacity


Drawn = tuple[FloatArray, list[FloatArray], FloatArray]
"""A contract's drawn referrals ``(P, T)``, stage flows ``(P, B, T)`` and people over staff
capacity ``(P, T)`` (:func:`draw_flows`)."""


def funnel_key(inp: Inputs, unc: Uncertainty, row: int, common_cv: float) -> bytes:
    """A digest of everything :func:`draw_flows` reads for case row ``row`` (the volumes,
    the stages, staff capacity, the term and horizon, the records and the uncertainty):
    two rows with the same key draw the same people from the same streams, so a batch's
    variants that differ only in money terms share their draws."""
    one = take_rows(inp, np.array([row]))
    parts: list[bytes] = [
        repr((one.months, float(unc.level_cv[row]), float(unc.monthly_cv[row]))).encode(),
        repr((float(unc.concentration[row]), common_cv)).encode(),
        expected_referrals(one).tobytes(),
        one.in_term().tobytes(),
        one.in_horizon().tobytes(),
        np.asarray(one.staff_fte).tobytes(),
        b"" if one.recorded_referrals is None else one.recorded_referrals.tobytes(),
        pickle.dumps(one.stages, protocol=5),
    ]
    return hashlib.sha256(b"\0".join(parts)).digest()


def block_summary(
    pin: PortfolioInputs,
    unc: Sequence[Uncertainty],
    row: int,
    streams: Sequence[Streams],
    by_month: Mapping[str, str] = MappingProxyType({}),
    common: FloatArray | float = 1.0,
) -> dict[str, FloatArray]:
    """Draw the block's paths of case row ``row``, each contract's people from its own
    ``streams`` with its ``unc`` (and the portfolio's shared level ``common`` per path),
    and compute them (:func:`summarise_block`)."""
    drawn = [
        draw_flows(inp, u, row, s, common)
        for inp, u, s in zip(pin.contracts, unc, streams, strict=True)
    ]
    return summarise_block(pin, row, drawn, by_month)


def summarise_block(
    pin: PortfolioInputs,
    row: int,
    drawn: Sequence[Drawn],
    by_month: Mapping[str, str] = MappingProxyType({}),
) -> dict[str, FloatArray]:
    """Each path's metrics ``(paths,)`` of case row ``row`` from each contract's
    ``drawn`` people (:func:`~mhep_model.engine.portfolio.path_metrics`) and, under the
    keys of ``by_month``, the monthly series it names (``spv_cash``; a contract on its own
    also ``provider_reserves``) ``(paths, H)`` as float32. The engine runs over runs of
    paths of at most :data:`SLICE_CELLS` path-months, so a block's memory does not grow
    with the horizon; rows never interact, so the results do not depend on the runs."""
    paths = drawn[0][0].shape[0]
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
