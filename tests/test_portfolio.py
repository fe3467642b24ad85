"""Portfolios (issue 10, spec section 12): the command line, bad input, money identities
and the stress test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from mhep_model.cli import app
from mhep_model.engine import run
from mhep_model.engine.model import deterministic_flows
from mhep_model.engine.portfolio import run_portfolio
from mhep_model.scenario import Document, compile_inputs, resolve
from mhep_model.scenario.model_inputs import compile_portfolio
from mhep_model.scenario.portfolio import load_portfolio
from mhep_model.scenario.yamlio import load_yaml
from mhep_model.studies.run import run_scenario as run_portfolio_file
from mhep_model.studies.stress import stress
from tests.conftest import (
    EXAMPLES,
    MINIMAL,
    minimal_data,
    same_bytes_on_dask,
    unreachable_scheduler_refused,
)

runner = CliRunner()
E06 = EXAMPLES / "e06_portfolio"


@pytest.fixture
def e06(tmp_path: Path) -> Path:
    """A copy of example 6 to edit."""
    folder = tmp_path / "e06"
    shutil.copytree(E06, folder)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_run_prints_the_portfolio_and_a_line_per_contract(e06: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["run", str(e06 / "portfolio.yaml"), "--out", str(out), "--xlsx", "--charts"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Providers below zero reserves │ 2 of 3 │ 2 of 3 │ 0 of 3" in text
    assert "Contracts, case medium" in text and "west" in text
    names = {p.name for p in out.iterdir()}
    assert {
        "portfolio_summary.csv",
        "portfolio_monthly.csv",
        "contracts_summary.csv",
        "contracts_monthly.csv",
        "run.json",
        "results.xlsx",
    } <= names
    assert len([n for n in names if n.endswith(".png")]) == 6
    sheets = load_workbook(out / "results.xlsx").sheetnames
    assert sheets[:4] == ["Cover", "Inputs", "Amendments", "Timeline"]
    assert sheets[-3:] == ["Outputs", "As run", "Checks"]
    # a Calc sheet per contract and case, an SPV sheet per case (issue 24: a live model)
    assert {"north medium", "east medium", "west medium", "SPV medium"} <= set(sheets)
    manifest = json.loads((out / "run.json").read_text())
    assert set(manifest["contracts"]) == {"north", "east", "west"}


def test_set_on_a_contract_and_on_the_portfolio(e06: Path) -> None:
    base = run_portfolio_file(e06 / "portfolio.yaml", cases=["medium"]).model_results.summary
    more = run_portfolio_file(
        e06 / "portfolio.yaml",
        sets=[("shared_payers.sof.cap", 30000), ("contracts.north.referrals.scale", 2)],
        cases=["medium"],
    ).model_results
    assert more.summary["paid_sof"][0] == pytest.approx(30000)
    assert base["paid_sof"][0] == pytest.approx(17000)
    north = more.contracts[0].summary
    assert north["referrals"][0] == pytest.approx(2 * 10 * 12)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("portfolio.yaml", "north: north.yaml", "north: missing.yaml"),
            "portfolio.yaml:18 contracts.north: contract 'north': ",
        ),
        (
            ("portfolio.yaml", "north: north.yaml", "north: portfolio.yaml"),
            "portfolio.yaml:18 contracts.north: portfolio.yaml is a portfolio",
        ),
        (
            ("east.yaml", "  high: {referrals.scale: 1.5}\n", ""),
            "portfolio.yaml:19 contracts.east: contract 'east' has no case high",
        ),
        (
            ("portfolio.yaml", "  cbo: {}", "  cbo: {}\n  nobody: {}"),
            "portfolio.yaml:24 shared_payers.nobody: no contract has a payer 'nobody'",
        ),
        (
            (
                "west.yaml",
                "  spv: {name: SPV, self: true}",
                "  spv: {name: SPV, self: true}\n  sof2: {self: true}",
            ),
            "portfolio.yaml:24 shared_payers.sof2: 'sof2' is a self-funded payer in contract 'west'",
        ),
        (
            ("portfolio.yaml", "sof: {cap: 17000}", "sof: {cap: -1}"),
            "portfolio.yaml:22 shared_payers.sof.cap: must be 0 or more, got -1",
        ),
        (
            ("portfolio.yaml", "  west: west.yaml", "  west: west.yaml\n  west: north.yaml"),
            "portfolio.yaml:21 contracts.west: duplicate key 'west'",
        ),
        (
            ("north.yaml", "rate: 0.6, lag: 0}", "rate: 1.6, lag: 0}"),
            "north.yaml:7 stages.engagement.rate (contract north of portfolio",
        ),
        (
            ("east.yaml", "start: 2020-04,", "start: 2020-04, currency: EUR,"),
            "portfolio.yaml:17 contracts: one SPV keeps one currency",
        ),
    ],
)
def test_bad_portfolios(
    e06: Path, tmp_path: Path, change: tuple[str, str, str], expected: str
) -> None:
    assert expected  # every case names the message it expects
    file, old, new = change
    _edit(e06 / file, old, new)
    if file == "west.yaml" and "sof2" in new:  # a shared payer that is self in one contract
        _edit(
            e06 / "west.yaml",
            "paid_by: {spv: 0.3, sof: 0.7, cbo: 0.7}",
            "paid_by: {spv: 0.3, sof: 0.7, cbo: 0.7, sof2: 0}",
        )
        _edit(e06 / "portfolio.yaml", "  cbo: {}", "  cbo: {}\n  sof2: {}")
    for command in (["validate"], ["run", "--out", str(tmp_path / "out")]):
        result = runner.invoke(app, [command[0], str(e06 / "portfolio.yaml"), *command[1:]])
        assert result.exit_code == 2, result.output
        assert expected in " ".join(result.output.split()), result.output
    assert not (tmp_path / "out").exists()


def test_too_many_contracts(e06: Path) -> None:
    lines = "".join(f"  c{i}: north.yaml\n" for i in range(201))
    (e06 / "big.yaml").write_text(f"name: big\ncontracts:\n{lines}investor: {{commitment: 1}}\n")
    result = runner.invoke(app, ["validate", str(e06 / "big.yaml")])
    assert result.exit_code == 2
    assert "big.yaml:2 contracts: holds 201 entries; the most allowed is 200" in result.output


def test_actuals_of_a_contract_not_yet_a_portfolio_key(e06: Path) -> None:
    _edit(e06 / "portfolio.yaml", "name: Example 6", "actuals: {file: x.csv}\nname: Example 6")
    result = runner.invoke(app, ["validate", str(e06 / "portfolio.yaml")])
    assert result.exit_code == 2
    assert "unknown key 'actuals'" in result.output


# --- identities -----------------------------------------------------------------------

TERMS = """\
name: P
contracts: {a: a.yaml, b: b.yaml}
shared_payers: {council: {cap: CAP}}
spv: {management_fee_annual: 6000, min_cash: 500}
investor: {commitment: 80000, equity_share: 0.3}
"""


def _contract(tmp_path: Path, name: str, start: str, scale: float) -> None:
    text = MINIMAL.replace("start: 2020-01", f"start: {start}").replace(
        "referrals: {monthly: 10}", f"referrals: {{monthly: 10, scale: {scale}}}"
    )
    (tmp_path / f"{name}.yaml").write_text(text)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.sampled_from(["2020-01", "2020-04", "2021-02"]),
    scale=st.floats(0.2, 3.0),
    cap=st.integers(0, 60000),
)
def test_portfolio_money_identities(tmp_path: Path, start: str, scale: float, cap: int) -> None:
    _contract(tmp_path, "a", "2020-01", 1.0)
    _contract(tmp_path, "b", start, scale)
    (tmp_path / "p.yaml").write_text(TERMS.replace("CAP", str(cap)))
    res = run_portfolio_file(tmp_path / "p.yaml").model_results
    incomes = sum(c.summary["income"] for c in res.contracts)
    assert np.allclose(res.summary["income"], incomes)
    # the shared payer never pays more than its one cap across contracts
    paid = sum(c.summary["paid_council"] for c in res.contracts)
    assert np.all(paid <= cap + 1e-6)
    assert np.allclose(res.paid_shared[:, 0].sum(axis=1), paid)
    # SPV cash from its flows
    flows = (
        res.income
        - res.block
        - res.provider_outcome_payments
        - res.advance
        + res.advance_repaid
        - res.spv.management_fee
        + res.spv.drawdown
        - res.spv.interest_paid
        - res.spv.principal_repaid
        - res.spv.equity_distribution
    )
    live = np.arange(res.income.shape[1])[None, :] < res.inputs.waterfall.horizon[:, None]
    assert np.allclose(np.where(live, np.cumsum(flows, axis=1), 0.0), res.spv.cash, atol=1e-6)


def test_a_portfolio_of_one_contract_is_that_contract(tmp_path: Path) -> None:
    data: dict[str, Any] = minimal_data()
    data["spv"] = {"management_fee_annual": 6000, "min_cash": 800}
    data["investor"] = {"commitment": 50000, "equity_share": 0.25, "upfront": 2000}
    import yaml

    (tmp_path / "one.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "p.yaml").write_text(
        "name: one\ncontracts: {only: one.yaml}\n"
        "spv: {management_fee_annual: 6000, min_cash: 800}\n"
        "investor: {commitment: 50000, equity_share: 0.25, upfront: 2000}\n"
    )
    alone = run(compile_inputs(resolve(Document(data=data, file="one.yaml"))))
    res = run_portfolio_file(tmp_path / "p.yaml").model_results
    for key in ("investor_drawn", "investor_received", "loan_loss", "income", "management_fee"):
        assert np.allclose(res.summary[key], alone.summary[key], atol=1e-6), key
    assert np.allclose(res.spv.cash[:, : alone.inputs.months], alone.spv.cash, atol=1e-6)


# --- stress -----------------------------------------------------------------------------


def test_portfolio_stress_is_reproducible_and_per_contract(e06: Path) -> None:
    first = stress(e06 / "portfolio.yaml", paths=300, seed=3, cases=["medium"])
    again = stress(e06 / "portfolio.yaml", paths=300, seed=3, cases=["medium"], chunk_paths=1)
    for key, values in first.per_path["medium"].items():
        assert np.array_equal(values, again.per_path["medium"][key], equal_nan=True), key
    p = first.probabilities("medium")
    assert set(p) >= {"investor_loses_money", "north.provider_insolvent", "west.provider_insolvent"}
    # a contract's paths do not depend on the other contracts of the portfolio
    _edit(e06 / "portfolio.yaml", "  west: west.yaml\n", "")
    fewer = stress(e06 / "portfolio.yaml", paths=300, seed=3, cases=["medium"])
    north = first.per_path["medium"]["north.provider_min_reserves"]
    assert np.array_equal(north, fewer.per_path["medium"]["north.provider_min_reserves"])


def test_portfolio_stress_cli(e06: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["stress", str(e06 / "portfolio.yaml"), "--paths", "200", "--out", str(out)]
    result = runner.invoke(app, [*args, "--xlsx", "--charts", "--paths-csv"])
    assert result.exit_code == 0, result.output
    assert "north: provider insolvent" in result.output
    assert "Break-even shared referral scale" in result.output
    assert {"stress_summary.csv", "paths.csv", "results.xlsx"} <= {p.name for p in out.iterdir()}


def test_portfolio_stress_on_a_dask_cluster_gives_the_same_bytes(e06: Path, tmp_path: Path) -> None:
    """--scheduler runs a portfolio's blocks (every contract's paths of a block) as Dask
    tasks: the files are those of the run on threads, byte for byte (issue 15)."""
    args = ["stress", str(e06 / "portfolio.yaml"), "--paths", "9000", "--seed", "2", "-q"]
    args += ["--paths-csv", "--chunk", "4096"]
    same_bytes_on_dask(args, tmp_path, ["paths.csv", "stress_summary.csv"])
    unreachable_scheduler_refused(args, tmp_path)


def test_portfolio_sweep_solve_compare_and_explain(e06: Path, tmp_path: Path) -> None:
    pf = str(e06 / "portfolio.yaml")
    result = runner.invoke(
        app,
        ["sweep", pf, "--param", "contracts.*.referrals.scale=0.5:1.5:0.5", "--case", "medium",
         "--out", str(tmp_path / "s")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "investor_multiple" in result.output
    result = runner.invoke(
        app, ["solve", pf, "--vary", "shared_payers.sof.cap", "--target",
              "investor_multiple=2", "--case", "medium", "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    cap = float(result.output)
    check = run_portfolio_file(pf, sets=[("shared_payers.sof.cap", cap)], cases=["medium"])
    assert check.model_results.summary["investor_multiple"][0] == pytest.approx(2, abs=1e-6)
    (tmp_path / "b.yaml").write_text(
        f"base: {pf}\nvariants:\n  as_is: {{}}\n  reset:\n    amendments:\n"
        "      - {contract: east, month: 6, set: {provider.block.annual: 9000}}\n"
    )
    result = runner.invoke(app, ["compare", str(tmp_path / "b.yaml"), "--out", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert "east provider gains" in " ".join(result.output.split())
    result = runner.invoke(app, ["explain", pf, "--diagram", "--out", str(tmp_path / "x")])
    assert result.exit_code == 0
    assert "one cap of £17,000 over north, east, west" in " ".join(result.output.split())


def test_deterministic_flows_match_each_contract_alone(e06: Path) -> None:
    pf = load_portfolio(load_yaml(e06 / "portfolio.yaml"))
    pin = compile_portfolio(pf)
    res = run_portfolio(pin, deterministic_flows(pin))
    alone = run(compile_inputs(pf.contracts[1].resolved))  # east, whose payers are its own
    assert np.allclose(res.contracts[1].summary["referrals"], alone.summary["referrals"])
