"""The engine's v3 pieces on their own (spec v3): rows of inputs that carry grants and a stop,
the stop on caps at the cap itself, and a portfolio's grants."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from mhep_model.engine.inputs import Grants, Stop, repeat_row, take_rows
from mhep_model.engine.model import run_model
from mhep_model.engine.portfolio import cap_stop_month
from mhep_model.scenario import compile_inputs, load
from mhep_model.scenario.model_inputs import compile_model
from mhep_model.scenario.portfolio import load_portfolio
from mhep_model.scenario.yamlio import load_yaml
from tests.conftest import EXAMPLES

E09 = EXAMPLES / "e09_grants_opening_evidence" / "scenario.yaml"
E10 = EXAMPLES / "e10_service_stop" / "scenario.yaml"


def _arrays(obj: object) -> dict[str, np.ndarray]:
    out = {}
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if isinstance(value, np.ndarray):
            out[f.name] = value
    return out


def test_take_and_repeat_carry_grants_and_the_stop() -> None:
    """A sweep's or stress run's rows keep each case's grants and stop terms."""
    for path, part in ((E09, "grants"), (E10, "stop")):
        inp = compile_inputs(load(path))
        whole = getattr(inp, part)
        assert isinstance(whole, Grants | Stop)
        for row in range(inp.rows):
            for rows in (take_rows(inp, np.array([row, row])), repeat_row(inp, row, 2)):
                mine = getattr(rows, part)
                assert type(mine) is type(whole)
                for name, values in _arrays(whole).items():
                    got = _arrays(mine)[name]
                    assert got.shape[0] == 2, name
                    np.testing.assert_array_equal(got, np.repeat(values[row : row + 1], 2, 0))


def test_a_payer_at_its_cap_is_exhausted_and_one_below_it_is_not() -> None:
    """Exhausted when the dues so far reach the cap less 1e-6 (spec section 6): exactly at
    the cap, or within a float residue of it, counts; a penny short does not."""
    inp = compile_inputs(load(E10))
    one = take_rows(inp, np.array([0]))
    assert one.stop is not None
    rows = one.rows
    months = one.months
    payers = len(one.payer_names)
    cap = one.payer_cap[0, :, 0]  # council 24,000, fund 20,000
    for short, expect in ((0.0, 5.0), (5e-7, 5.0), (0.01, np.nan)):
        due = np.zeros((rows, payers, months))
        due[0, :, 4] = cap - short  # every payer's cap reached in month 5
        got = cap_stop_month(one, due)
        np.testing.assert_array_equal(got, [expect])
    # one payer with room left keeps the service going; its window's end stops it
    due = np.zeros((rows, payers, months))
    due[0, 0, 2] = cap[0]
    assert np.isnan(cap_stop_month(one, due)).all()
    ended = dataclasses.replace(one.stop, window_end=np.array([[np.inf, 9.0]]))
    got = cap_stop_month(dataclasses.replace(one, stop=ended), due)
    np.testing.assert_array_equal(got, [9.0])


def test_a_portfolios_grants_are_its_contracts_grants(tmp_path: Path) -> None:
    folder = tmp_path / "pf"
    shutil.copytree(EXAMPLES / "e06_portfolio", folder)
    north = folder / "north.yaml"
    north.write_text(
        north.read_text()
        + "grants:\n  - {paid_by: {sof: 1.0}, months: [4, 6], amount: 500}\n"
        + "  - {paid_by: {commissioner: 1.0}, months: [2, 3], amount: 100,"
        + " counts_against_cap: false, replaces_outcomes: false}\n"
    )
    pf = load_portfolio(load_yaml(folder / "portfolio.yaml"))
    done = run_model(compile_model(pf))
    assert done.grants is not None
    by_contract = sum(
        c.payments.grants.sum(axis=1) for c in done.contracts if c.payments.grants is not None
    )
    np.testing.assert_allclose(done.grants.sum(axis=1), by_contract)
    np.testing.assert_allclose(done.summary["grants"], by_contract)
    assert (done.summary["grants"] == 1700.0).all()  # 3 x 500 + 2 x 100, all settled
    # the grant outside the cap is paid in full whatever the commissioner's cap
    (north_flows,) = [c for c in done.contracts if c.name == "north"]
    assert (north_flows.payments.capped.sum(axis=(1, 2)) >= -1e-6).all()


def test_the_spv_holds_back_only_what_its_cash_cannot_pay() -> None:
    """Spec 7 step 3a: arrears only where cash is below zero (beyond a float residue), and
    never more than the provider's pay; the fee is met first."""
    from mhep_model.engine.spv import Waterfall, waterfall

    rows, months = 3, 4
    pay = np.full((rows, months), 100.0)
    income = np.array([[100.0 + 5e-7] * months, [40.0] * months, [0.0] * months])
    w = Waterfall(
        management_fee=np.array([[0.0] * months, [10.0] * months, [10.0] * months]),
        horizon=np.full(rows, months),
        opening_cash=np.array([0.0, 10.0, 10.0]),
        min_cash=np.zeros(rows),
        commitment=np.zeros(rows),
        equity_share=np.zeros(rows),
        loan_rate=np.zeros(rows),
        sweep=np.zeros(rows, dtype=bool),
        sweep_from_month=np.ones(rows, dtype=np.int64),
        upfront=np.zeros(rows),
        pay_when_able=np.ones(rows, dtype=bool),
    )
    cash = waterfall(w, income, pay, pay)
    arrears = cash.provider_arrears
    assert arrears is not None
    # row 0: cash never below zero (5e-7 more each month): nothing held back
    assert (arrears[0] == 0.0).all() and not np.signbit(arrears[0]).any()
    # row 1: 40 in, 100 due and the fee of 10: 60 short in month 1 (after the opening 10)
    np.testing.assert_allclose(arrears[1], [60.0, 130.0, 200.0, 270.0])
    # row 2: nothing in: arrears grow by the provider's pay, at most what it is owed
    assert (arrears[2] <= np.cumsum(pay[2]) + 1e-9).all()
    assert (np.diff(arrears[2]) > 0).all()
    assert (cash.funding_gap >= 0).all()


def test_a_stop_on_caps_runs_the_model_once_and_gives_the_same_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 25: the stop ran the whole model twice (2.1x the engine time); the caps'
    trigger now reads only the dues, and the stopped run reuses them. The results are
    those of running the stopped rows from scratch, bit for bit."""
    from dataclasses import replace

    import numpy as np

    from mhep_model.engine import portfolio
    from mhep_model.engine.funnel import referrals, stage_flows, stop_flows
    from mhep_model.engine.model import contract_results, run
    from mhep_model.engine.portfolio import PortfolioInputs, run_portfolio
    from mhep_model.scenario import compile_inputs, load
    from tests.conftest import ROOT

    inp = compile_inputs(load(ROOT / "scenarios" / "lcf" / "tower_hamlets_ld.yaml"))
    assert inp.stop is not None
    calls = []
    real = portfolio._run_once
    monkeypatch.setattr(portfolio, "_run_once", lambda *a, **k: calls.append(1) or real(*a, **k))
    fast = run(inp)
    assert len(calls) == 1
    month = fast.summary["service_stopped_month"]
    assert np.isfinite(month).sum() >= 2  # cases that stop within their horizon
    end = np.where(np.isnan(month), inp.horizon + 1, np.nan_to_num(month) + inp.stop.notice + 1)
    stopped = replace(inp, service_end=np.minimum(end, inp.horizon + 1).astype(np.int64))
    people = referrals(stopped)
    flows = stop_flows(stopped, people, *stage_flows(stopped, people))
    monkeypatch.setattr(portfolio, "_run_once", real)
    waterfall = portfolio._stopped_waterfall(PortfolioInputs.of_contract(stopped), stopped)
    pin = replace(PortfolioInputs.of_contract(replace(stopped, stop=None)), waterfall=waterfall)
    slow = contract_results(run_portfolio(pin, [flows]))
    for name, values in slow.summary.items():
        if not name.startswith("service_stop"):  # the reference does not stop by itself
            assert np.array_equal(fast.summary[name], values, equal_nan=True), name
