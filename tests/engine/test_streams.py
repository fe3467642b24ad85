"""Keyed streams and draws by inversion (spec section 9: common random numbers)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mhep_model.engine.stochastic import block_streams, draw_flows
from mhep_model.engine.streams import (
    Streams,
    binomial_inv,
    case_key,
    gamma_inv,
    multinomial_inv,
    poisson_inv,
)
from mhep_model.scenario import compile_inputs, load
from mhep_model.studies.stress import case_uncertainty
from tests.conftest import write
from tests.engine.test_stochastic import SPLIT_AND_LAGS


def _flows(tmp_path: Path, text: str, first_block: int = 0, paths: int = 300, seed: int = 4):
    resolved = load(write(tmp_path, text))
    inp = compile_inputs(resolved)
    streams = block_streams(seed, 1, first_block, paths)
    return draw_flows(inp, case_uncertainty(resolved), 0, streams)


@settings(max_examples=60, deadline=None)
@given(
    u=st.floats(1e-9, 1.0, exclude_max=True),
    mean=st.floats(0.0, 600.0),
    n=st.integers(0, 400),
    p=st.floats(0.0, 1.0),
)
def test_inversion_gives_the_quantile(u: float, mean: float, n: int, p: float) -> None:
    # the least k with P(X <= k) >= u; where P(X <= k) is u to rounding, either side
    uu = np.array([u])
    got = poisson_inv(uu, np.array([mean]))[0]
    want = stats.poisson.ppf(u, mean) if mean > 0 else 0.0
    assert got == want or abs(stats.poisson.cdf(min(got, want), mean) - u) < 1e-9
    got = binomial_inv(uu, np.array([float(n)]), np.array([p]))[0]
    with warnings.catch_warnings():  # scipy's own ppf cannot always bracket u near 1
        warnings.simplefilter("ignore", RuntimeWarning)
        want = n if p >= 1.0 else stats.binom.ppf(u, n, p)
    if np.isfinite(want):
        assert got == want or abs(stats.binom.cdf(min(got, want), n, p) - u) < 1e-9
    # the least k with P(X <= k) >= u (to rounding), whatever scipy's ppf says
    assert stats.binom.cdf(got, n, p) >= u - 1e-9
    assert got == 0 or stats.binom.cdf(got - 1, n, p) < u + 1e-9


def test_counts_are_monotone_in_the_mean_at_one_uniform() -> None:
    u = np.random.default_rng(0).random(20_000)
    low, high = poisson_inv(u, np.full(u.shape, 20.0)), poisson_inv(u, np.full(u.shape, 22.0))
    assert (high >= low).all() and (high - low).mean() == pytest.approx(2.0, abs=0.2)
    b1 = binomial_inv(u, np.full(u.shape, 30.0), np.full(u.shape, 0.3))
    b2 = binomial_inv(u, np.full(u.shape, 30.0), np.full(u.shape, 0.35))
    assert (b2 >= b1).all()


def test_gamma_multipliers_have_mean_one_and_the_cv() -> None:
    g = gamma_inv(np.random.default_rng(1).random(200_000), 0.25)
    assert g.mean() == pytest.approx(1.0, abs=0.005) and g.std() == pytest.approx(0.25, abs=0.005)
    assert (np.diff(gamma_inv(np.linspace(0.0001, 0.9999, 1001), 0.3)) > 0).all()


def test_a_multinomial_divides_every_person() -> None:
    streams = Streams(case_key(0, 1), 0, 500)
    n = np.random.default_rng(2).integers(0, 40, (500, 12)).astype(float)
    parts = multinomial_inv(streams, "lag", 0, 0, n, np.array([0.2, 0.0, 0.5, 0.3]))
    assert np.array_equal(parts.sum(axis=-1), n)
    assert (parts[..., 1] == 0).all()
    assert parts[..., 2].sum() / n.sum() == pytest.approx(0.5, abs=0.02)


def test_a_path_s_draws_do_not_depend_on_how_many_paths_run(tmp_path: Path) -> None:
    small = _flows(tmp_path, SPLIT_AND_LAGS, paths=100)
    large = _flows(tmp_path, SPLIT_AND_LAGS, paths=1000)
    np.testing.assert_array_equal(small[0], large[0][:100])
    for a, b in zip(small[1], large[1], strict=True):
        np.testing.assert_array_equal(a, b[:100])


def test_a_stream_is_indexed_by_the_path_number_across_blocks() -> None:
    key = case_key(3, 9)
    whole = Streams(key, 0, 10_000).uniforms("cohort", 2, 1, 5)
    part = Streams(key, 8191, 5).uniforms("cohort", 2, 1, 5)
    np.testing.assert_array_equal(part, whole[8191:8196])
    other = Streams(key, 0, 10_000).uniforms("cohort", 2, 1, 6)
    assert not np.array_equal(other, whole)


def test_adding_a_stage_leaves_the_other_draws_alone(tmp_path: Path) -> None:
    base = _flows(tmp_path, SPLIT_AND_LAGS)
    more = SPLIT_AND_LAGS.replace(
        "  sustain: {from: job_start, rate: 0.6, lag: 2, after_term: true}",
        "  sustain: {from: job_start, rate: 0.6, lag: 2, after_term: true}\n"
        "  later: {from: sustain, rate: 0.5, lag: [0.5, 0.5], after_term: true}",
    )
    extra = _flows(tmp_path, more)
    np.testing.assert_array_equal(base[0], extra[0])
    for a, b in zip(base[1], extra[1], strict=False):
        np.testing.assert_array_equal(a, b)
    assert len(extra[1]) == len(base[1]) + 1


def test_more_referrals_path_by_path_and_a_small_paired_spread(tmp_path: Path) -> None:
    base = _flows(tmp_path, SPLIT_AND_LAGS, paths=2000)
    up = _flows(
        tmp_path,
        SPLIT_AND_LAGS.replace("referrals: {monthly: 10}", "referrals: {monthly: 10.5}"),
        paths=2000,
    )
    assert (up[0] >= base[0]).all()
    totals = [f[2].sum(axis=(1, 2)) for f in (base[1], up[1])]  # sustainments per path
    paired = np.var(totals[1] - totals[0])
    assert paired < 0.2 * (np.var(totals[0]) + np.var(totals[1]))


def test_stream_words_do_not_collide_within_the_limits() -> None:
    from mhep_model.scenario.limits import MAX_BANDS, MAX_HORIZON, MAX_LAG_WEIGHTS, MAX_STAGES

    # the largest of each field stays inside its bits
    assert MAX_HORIZON < 2**20 and MAX_LAG_WEIGHTS < 2**12
    assert MAX_BANDS < 2**8 and MAX_STAGES < 2**16
    s = Streams(case_key(1, 2), 0, 4)
    edge = s.uniforms("lag", MAX_STAGES - 1, MAX_BANDS - 1, MAX_HORIZON - 1, MAX_LAG_WEIGHTS - 1)
    other = s.uniforms("lag", MAX_STAGES - 1, MAX_BANDS - 1, MAX_HORIZON - 1, MAX_LAG_WEIGHTS - 2)
    assert not np.array_equal(edge, other)
