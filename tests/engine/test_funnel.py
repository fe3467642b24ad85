"""Referrals and stage flows (spec sections 3 and 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mhep_model.engine.funnel import convolve_lag
from tests.conftest import MINIMAL, run_text


def test_convolve_lag_spreads_each_cohort() -> None:
    cohort = np.array([[[10.0, 0.0, 0.0, 0.0, 20.0]]])
    lag = np.array([[0.5, 0.3, 0.2]])
    flow = convolve_lag(cohort, lag)
    assert np.allclose(flow, [[[5.0, 3.0, 2.0, 0.0, 10.0]]])  # what passes the end is not shown


def test_convolve_lag_per_row_weights() -> None:
    cohort = np.ones((2, 1, 4))
    lag = np.array([[1.0, 0.0], [0.0, 1.0]])
    flow = convolve_lag(cohort, lag)
    assert flow[0, 0].tolist() == [1, 1, 1, 1]
    assert flow[1, 0].tolist() == [0, 1, 1, 1]


def test_ramp_scale_and_term(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "referrals: {monthly: 10}", "referrals: {monthly: 12, ramp_up_months: 4, scale: 0.5}"
    )
    out = run_text(tmp_path, text)
    ref = out.results.referrals[0]
    assert np.allclose(ref[:6], [1.5, 3.0, 4.5, 6.0, 6.0, 6.0])
    assert np.all(ref[12:] == 0)  # no referrals after the term


def test_split_bands_rates_and_after_term(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "  job_start: {from: engagement, rate: 0.4, lag: [0.5, 0.5], split: {under_16: 0.5, over_16: 0.5}}",
        "  job_start: {from: engagement, rate: {under_16: 0.2, over_16: 0.6}, lag: 0, split: {under_16: 0.25, over_16: 0.75}}\n"
        "  sustain: {from: job_start, rate: 1.0, lag: 2, after_term: true}",
    )
    out = run_text(tmp_path, text)
    engagement, job_start, sustain = (f[0] for f in out.results.stages)
    assert np.allclose(engagement[0, 1:12], 5.0)  # referrals 10 x 0.5, a month later
    assert engagement[0, 12] == 0  # not after_term: nothing in month 13
    assert np.allclose(job_start[0, 1:12], 5 * 0.25 * 0.2)
    assert np.allclose(job_start[1, 1:12], 5 * 0.75 * 0.6)
    assert np.allclose(sustain[:, 13], job_start[:, 11])  # after_term: arrives in month 14
    assert out.results.summary["sustain"][0] == sustain.sum()
