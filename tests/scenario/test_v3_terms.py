"""The v3 terms as a user meets them (spec v3, issue 21): bad input gets one message with
file, line and dotted path, exit 2 and nothing written; v2 scenarios keep their columns;
portfolios refuse what the spec does not yet allow there; stress paths stop on their own
month."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from mhep_model.studies.stress import stress
from tests.conftest import EXAMPLES

runner = CliRunner()
E06 = EXAMPLES / "e06_portfolio"
E09 = EXAMPLES / "e09_grants_opening_evidence" / "scenario.yaml"
E10 = EXAMPLES / "e10_service_stop" / "scenario.yaml"
E11 = EXAMPLES / "e11_spv_cash" / "scenario.yaml"


def _edited(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text()
    assert old in text, old
    path = tmp_path / "scenario.yaml"
    path.write_text(text.replace(old, new))
    return path


BAD = [
    ("amount: 3000", "amount: -5", "grants[0].amount: must be 0 or more, got -5"),
    ("amount: 3000", "amount: [1, 2]", "grants[0].amount: a list of amounts needs one per"),
    ("months: [7, 12]", "months: [7, 40]", "grants[0].months: must be months within the horizon"),
    ("months: [7, 12]", "months: [12, 7]", "grants[0].months: the first month must not be after"),
    ("months: [7, 12]", "months: [7.5, 12]", "grants[0].months[0]: must be a whole number"),
    (
        "paid_by: {council: 0.4, fund: 0.6}",
        "paid_by: {council: 0.4, fund: 0.5}",
        "grants[0].paid_by: the shares must sum to 1, got 0.9",
    ),
    (
        "paid_by: {council: 0.4, fund: 0.6}",
        "paid_by: {counsil: 0.4, fund: 0.6}",
        "grants[0].paid_by.counsil: unknown payer 'counsil'",
    ),
    (
        "  fund: {name: Outcomes fund, cap: 50000}",
        "  fund: {name: Outcomes fund, cap: 50000, window: [1, 9]}",
        "grants[0].paid_by.fund: replaces outcome payments in months 7-12, but payer 'fund'",
    ),
    (
        "amount: 3000",
        "amount: 3000\n    replaces_outcomes: maybe",
        "grants[0].replaces_outcomes: must be true or false",
    ),
    ("opening: 10", "opening: 2.5", "stages.engagement.opening: must be a whole number"),
    ("opening: 10", "opening: -1", "stages.engagement.opening: must be 0 or more"),
    ("opening: 10}", "opening: {a: 1}}", "stages.engagement.opening: stage 'engagement' has no"),
    (
        "annual_cap_basis: achieved",
        "annual_cap_basis: earned",
        "annual_cap_basis: must be 'paid' or 'achieved'",
    ),
    ("rejected: 0.1", "rejected: 1", "evidence.rejected: must be less than 1, got 1"),
    ("lag_months: 1}", "lag_months: 1.5}", "evidence.lag_months: must be a whole number"),
    ("lag_months: 1}", "lag_months: 1, late: 2}", "evidence.late: unknown key"),
    (
        "spv: {management_fee_annual: 3000}",
        "spv: {management_fee_annual: 3000, performance_fee: {share: 1.5}}",
        "spv.performance_fee.share: must be between 0 and 1",
    ),
    (
        "spv: {management_fee_annual: 3000}",
        "spv: {management_fee_annual: 3000, performance_fee: {hurdle_multiple: 1}}",
        "spv.performance_fee.share: is required",
    ),
    (
        "spv: {management_fee_annual: 3000}",
        "spv: {management_fee_annual: 3000, pay_provider_when_able: sometimes}",
        "spv.pay_provider_when_able: must be true or false",
    ),
    ("loan_rate: 0.08}", "loan_rate: 0.08, interest: daily}", "investor.interest: must be"),
    (
        "tail_months: 6}",
        "tail_months: 6, stop: {on_cap: true, notice_months: -1}}",
        "contract.stop.notice_months: must be 0 or more",
    ),
    (
        "  fund: {name: Outcomes fund, cap: 50000}",
        "  fund: {name: Outcomes fund}\n  x: {name: X, cap: 5}",
        "",  # filled below: on_cap with an uncapped payer
    ),
    (
        "cases:",
        "amendments: [{month: 3, set: {grants: []}}]\ncases:",
        "amendments[0].set.grants: 'grants' cannot be amended: it holds for the whole contract",
    ),
    (
        "cases:",
        "amendments: [{month: 3, scale: {stages.engagement.opening: 2}}]\ncases:",
        "'stages.engagement.opening' cannot be amended: it holds for the whole contract",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD, ids=[b[1][:40] for b in BAD])
def test_bad_v3_input_is_one_message_exit_2_nothing_written(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = _edited(tmp_path, E09, old, new)
    if not message:  # a stop on caps needs every external payer capped
        text = path.read_text().replace("tail_months: 6}", "tail_months: 6, stop: {on_cap: true}}")
        path.write_text(text)
        message = "payers.fund.cap: contract.stop.on_cap stops the service when every"
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert f"{path}:" in result.output  # file and line
    assert len(result.output.strip().splitlines()) <= 3  # one message (wrapped at most)
    assert "Traceback" not in result.output
    assert not out.exists()


def test_a_portfolio_refuses_a_contract_stop_and_arrears(tmp_path: Path) -> None:
    folder = tmp_path / "pf"
    shutil.copytree(E06, folder)
    north = folder / "north.yaml"
    north.write_text(
        north.read_text().replace(
            "tail_months: 3}", "tail_months: 3, stop: {on_provider_insolvency: true}}"
        )
    )
    result = runner.invoke(app, ["run", str(folder / "portfolio.yaml"), "-q"])
    assert result.exit_code == 2
    assert "north.yaml:4 contract.stop" in result.output
    assert "not allowed in a portfolio's contract" in result.output
    shutil.copy(E06 / "north.yaml", north)
    pf = folder / "portfolio.yaml"
    pf.write_text(
        pf.read_text().replace("min_cash: 1000}", "min_cash: 1000, pay_provider_when_able: true}")
    )
    result = runner.invoke(app, ["run", str(pf), "-q"])
    assert result.exit_code == 2
    assert "spv.pay_provider_when_able: is not allowed on a portfolio's SPV" in result.output


def test_v3_columns_only_when_a_v3_key_is_named(tmp_path: Path) -> None:
    """A v2 scenario writes v2's columns; naming a v3 key at its default adds the v3
    columns and changes no v2 figure (spec section 11)."""
    v2 = EXAMPLES / "e03_spv_sweep" / "scenario.yaml"
    plain, named = tmp_path / "plain", tmp_path / "named"
    assert runner.invoke(app, ["run", str(v2), "--out", str(plain), "-q"]).exit_code == 0
    text = v2.read_text()
    assert "investor: {" in text
    path = tmp_path / "named.yaml"
    path.write_text(text.replace("investor: {", "investor: {interest: simple, "))
    assert runner.invoke(app, ["run", str(path), "--out", str(named), "-q"]).exit_code == 0
    a, b = pd.read_csv(plain / "summary.csv"), pd.read_csv(named / "summary.csv")
    assert "grants" not in a.columns and "service_stop_reason" in b.columns
    pd.testing.assert_frame_equal(a, b[a.columns])
    m = pd.read_csv(named / "monthly.csv")
    assert {"opening", "invoiced", "stopped"} <= set(m.columns)
    assert (m["stopped"] == 0).all()


def test_stress_paths_stop_on_their_own_month() -> None:
    result = stress(E10, paths=400, seed=3)
    for case in result.case_names:
        months = result.per_path[case]["service_stopped_month"]
        stopped = ~np.isnan(months)
        assert result.probabilities(case)["service_stopped"] == pytest.approx(stopped.mean())
    # paths of the case whose caps are reached stop in different months
    months = result.per_path["cap_reached"]["service_stopped_month"]
    assert len(np.unique(months[~np.isnan(months)])) > 1
    # the same paths, chunked differently, stop in the same months
    again = stress(E10, paths=400, seed=3, chunk_paths=1)
    assert np.array_equal(
        months, again.per_path["cap_reached"]["service_stopped_month"], equal_nan=True
    )


def test_arrears_and_the_fee_in_words_and_in_the_diagram(tmp_path: Path) -> None:
    result = runner.invoke(app, ["explain", str(E11), "--diagram", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    assert "the provider waits" in words and "performance fee" in words
    assert "compound interest" in words
    flows = (tmp_path / "flows.md").read_text()
    assert "held back when cash is short" in flows and "performance fee" in flows
    result = runner.invoke(app, ["explain", str(E10)])
    assert "The service stops once every payer" in " ".join(result.output.split())


def test_input_listings_of_a_v2_scenario_show_no_v3_defaults() -> None:
    """The workbook's Inputs and Assumptions of a scenario naming no v3 key are v2's."""
    from mhep_model.report.excel import assumptions_frame
    from mhep_model.scenario import load

    v2 = load(EXAMPLES / "e03_spv_sweep" / "scenario.yaml").base
    v3 = load(E11).base
    paths_v2 = set(assumptions_frame([("base", v2)])["path"])
    paths_v3 = set(assumptions_frame([("base", v3)])["path"])
    for path in ("investor.interest", "spv.pay_provider_when_able", "grants"):
        assert path not in paths_v2
    assert {"investor.interest", "spv.pay_provider_when_able"} <= paths_v3
