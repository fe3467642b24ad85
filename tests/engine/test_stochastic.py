"""Stochastic paths (spec section 9): whole people, means that match the deterministic model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mhep_model.engine import run
from mhep_model.engine.portfolio import PortfolioInputs
from mhep_model.engine.stochastic import block_streams, draw_flows
from mhep_model.scenario import compile_inputs, load
from mhep_model.studies.stress import case_uncertainty
from tests.conftest import MINIMAL, write

UNCERTAIN = MINIMAL + (
    "uncertainty:\n  referrals: {level_cv: 0.3, monthly_cv: 0.2}\n  rates: {concentration: 40}\n"
)
SPLIT_AND_LAGS = (
    UNCERTAIN.replace(
        "  job_start: {from: engagement, rate: 0.4, lag: [0.5, 0.5], split: {under_16: 0.5, over_16: 0.5}}",
        "  job_start: {from: engagement, rate: {under_16: 0.3, over_16: 0.5}, lag: [0.2, 0.5, 0.3], split: {under_16: 0.3, over_16: 0.7}}\n"
        "  sustain: {from: job_start, rate: 0.6, lag: 2, after_term: true}",
    )
    + "amendments:\n  - {month: 6, set: {stages.engagement.rate: 0.3}}\n"
)


def _draw(
    path: Path, paths: int, seed: int = 7
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    resolved = load(path)
    inp = compile_inputs(resolved)
    unc = case_uncertainty(resolved)
    referrals, flows, _ = draw_flows(inp, unc, 0, block_streams(seed, 1, 0, paths))
    deterministic = run(inp)
    return flows, deterministic.stages, referrals


def test_whole_people() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        flows, _, referrals = _draw(write(Path(tmp), SPLIT_AND_LAGS), 500)
    for a in [referrals, *flows]:
        assert np.array_equal(a, np.round(a)) and (a >= 0).all()


def test_mean_flows_match_deterministic_within_4_standard_errors(tmp_path: Path) -> None:
    paths = 20_000
    flows, expected, _ = _draw(write(tmp_path, SPLIT_AND_LAGS), paths)
    for drawn, det in zip(flows, expected, strict=True):
        for band in range(drawn.shape[1]):
            totals = drawn[:, band].sum(axis=1)  # per path, over months
            se = totals.std(ddof=1) / np.sqrt(paths)
            assert abs(totals.mean() - det[0, band].sum()) <= 4 * se + 1e-9
            # month by month too, where there are people
            monthly = drawn[:, band]
            se_m = monthly.std(axis=0, ddof=1) / np.sqrt(paths)
            ok = np.abs(monthly.mean(axis=0) - det[0, band]) <= 4 * se_m + 1e-9
            assert ok.mean() > 0.97  # 4 SE: a stray month in a few hundred is chance


def test_flows_stop_after_term_unless_after_term(tmp_path: Path) -> None:
    flows, _, referrals = _draw(write(tmp_path, SPLIT_AND_LAGS), 200)
    assert (referrals[:, 12:] == 0).all()
    assert (flows[0][:, :, 12:] == 0).all()  # engagement: not after_term
    assert flows[2][:, :, 12:].sum() > 0  # sustainment arrives in the tail


GOLDEN = Path(__file__).parent.parent / "data" / "stochastic_golden.json"
V3_EXAMPLES = ("e09_grants_opening_evidence", "e10_service_stop", "e11_spv_cash")
"""Each metric's sum and extremes over the paths of :func:`_golden_draws`, written by this
code (``MHEP_WRITE_GOLDEN=1 pytest tests/engine/test_stochastic.py``): the same seed must
give the same numbers, so any change to the draws or the arithmetic shows here."""


def _golden_draws(tmp_path: Path) -> dict[str, list[float]]:
    from mhep_model.engine.stochastic import block_summary
    from mhep_model.scenario.model_inputs import compile_model, in_case_order
    from mhep_model.scenario.portfolio import load_portfolio
    from mhep_model.scenario.yamlio import load_yaml

    out: dict[str, list[float]] = {}
    staffordshire = Path(__file__).parent.parent.parent / "scenarios" / "staffordshire.yaml"
    examples = Path(__file__).parent.parent / "data" / "examples"
    # v3 terms, and no uncertainty section (level and monthly CVs of 0, fixed rates)
    v3 = [(e[:3], examples / e / "scenario.yaml") for e in V3_EXAMPLES]
    for name, path in (("split", write(tmp_path, SPLIT_AND_LAGS)), ("staff", staffordshire), *v3):
        resolved = load(path)
        inp = compile_inputs(resolved)
        unc = case_uncertainty(resolved)
        for row in range(inp.rows):
            by_month = {"reserves": "provider_reserves", "cash": "spv_cash"}
            streams = [block_streams(11, row + 1, 0, 300)]
            got = block_summary(PortfolioInputs.of_contract(inp), [unc], row, streams, by_month)
            _digest(out, f"{name}/{row}", got)
    # a portfolio: each contract's people from its own generator, one SPV per path
    pf = load_portfolio(load_yaml(examples / "e06_portfolio" / "portfolio.yaml"))
    pin = compile_model(pf)
    uncs = [case_uncertainty(in_case_order(c.resolved, pf.case_names)) for c in pf.contracts]
    for row in range(pin.rows):
        streams = [block_streams(11, k + 1, row, 200) for k in range(len(pin.names))]
        _digest(out, f"e06/{row}", block_summary(pin, uncs, row, streams, {"cash": "spv_cash"}))
    return out


def _digest(out: dict[str, list[float]], key: str, got: dict[str, np.ndarray]) -> None:
    """Each metric's sum, extremes and blanks over the paths of a block."""
    for metric, values in sorted(got.items()):
        v = values.astype(np.float64)
        out[f"{key}/{metric}"] = [
            float(np.nansum(v)),
            float(np.nanmin(v, initial=np.inf)),
            float(np.nanmax(v, initial=-np.inf)),
            float(np.isnan(v).sum()),
        ]


def test_the_same_seed_gives_the_same_numbers(tmp_path: Path) -> None:
    import json
    import os

    got = _golden_draws(tmp_path)
    if os.environ.get("MHEP_WRITE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert got.keys() == expected.keys()
    for key, values in expected.items():
        assert got[key] == values, key


def test_a_block_in_runs_of_paths_equals_one_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mhep_model.engine import stochastic

    resolved = load(write(tmp_path, SPLIT_AND_LAGS))
    inp = compile_inputs(resolved)
    unc = case_uncertainty(resolved)
    by_month = {"reserves": "provider_reserves"}
    pin = PortfolioInputs.of_contract(inp)
    whole = stochastic.block_summary(pin, [unc], 0, [block_streams(3, 1, 0, 50)], by_month)
    monkeypatch.setattr(stochastic, "SLICE_CELLS", 7 * inp.months)  # runs of 7 paths
    runs = stochastic.block_summary(pin, [unc], 0, [block_streams(3, 1, 0, 50)], by_month)
    assert whole.keys() == runs.keys()
    for key, values in whole.items():
        np.testing.assert_array_equal(values, runs[key], err_msg=key)
    assert whole["reserves"].shape == (50, int(inp.horizon[0]))


def test_whole_people_when_staff_capacity_binds(tmp_path: Path) -> None:
    """Capacity per FTE caps a stage's people each month: the drawn flows and the people
    over capacity stay whole numbers."""
    text = UNCERTAIN.replace(
        "engagement: {from: referral, rate: 0.5, lag: 1}",
        "engagement: {from: referral, rate: 0.9, lag: 1, capacity_per_fte: 3.5}",
    )
    resolved = load(write(tmp_path, text))
    inp = compile_inputs(resolved)
    _, flows, over = draw_flows(inp, case_uncertainty(resolved), 0, block_streams(5, 1, 0, 400))
    assert over.sum() > 0  # capacity binds in some months
    for a in [*flows, over]:
        assert np.array_equal(a, np.round(a)) and (a >= 0).all()
