"""The v2 terms of one contract (issue 9): what they do, and the bad input each refuses
with one exit-2 message naming the file, the line and the dotted path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from mhep_model.report.frames import run_summary
from mhep_model.studies.run import run_scenario
from tests.conftest import EXAMPLES, MINIMAL, write

runner = CliRunner()
E05 = (EXAMPLES / "e05_provider_terms" / "scenario.yaml").read_text()
E08 = (EXAMPLES / "e08_scaled_upfront" / "scenario.yaml").read_text()


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            _replace(
                E08, "lag: [0.5, 0.5], split:", "lag: [0.5, 0.5], capacity_per_fte: 3, split:"
            ),
            "scenario.yaml:14 stages.job_start.capacity_per_fte: stage 'job_start' is banded",
        ),
        (
            _replace(E05, "capacity_per_fte: 4}", "capacity_per_fte: 0}"),
            "scenario.yaml:24 stages.engagement.capacity_per_fte: must be greater than 0, got 0",
        ),
        (
            _replace(E05, "month: 1, repay_from", "month: 13, repay_from"),
            "scenario.yaml:37 provider.advance.month: must be a month of the term 1..12, got 13",
        ),
        (
            _replace(E05, "repay_from: 7, repay_months: 6", "repay_from: 15, repay_months: 6"),
            "scenario.yaml:37 provider.advance.repay_months: the last repayment would be in "
            "month 20, after the horizon 18",
        ),
        (
            _replace(E05, "month: 1, repay_from: 7", "month: 8, repay_from: 7"),
            "scenario.yaml:37 provider.advance.repay_from: repayments must start in or after "
            "the month of the advance (8), got 7",
        ),
        (
            _replace(E05, "repay_months: 6", "repay_months: 2.5"),
            "scenario.yaml:37 provider.advance.repay_months: must be a whole number, got 2.5",
        ),
        (
            _replace(E05, "repay_months: 6", "repay_months: 0"),
            "scenario.yaml:37 provider.advance.repay_months: must be 1 or more, got 0",
        ),
        (
            _replace(E05, "back_to_back: true", "back_to_back: yes please"),
            "scenario.yaml:36 provider.outcome_payments.back_to_back: must be true or false",
        ),
        (
            _replace(E08, "upfront: 15000", "upfront: -1"),
            "scenario.yaml:34 investor.upfront: must be 0 or more, got -1",
        ),
        (
            _replace(E08, "set: {provider.block.annual: 36000}", "set: {payers.spv.cap: 100}"),
            "scenario.yaml:46 amendments[1].set.payers.spv.cap: payer 'spv' is self-funded",
        ),
        (
            _replace(
                E08,
                "scale: {outcomes.engagement.tariff: 0.9}",
                "scale: {outcomes.engagement.tariff: 0}",
            ),
            "scenario.yaml:45 amendments[1].scale.outcomes.engagement.tariff: must be greater "
            "than 0, got 0",
        ),
        (
            _replace(
                E08,
                "scale: {outcomes.engagement.tariff: 0.9}",
                "scale: {outcomes.engagement.tariff: .nan}",
            ),
            "amendments[1].scale.outcomes.engagement.tariff: must be a finite number",
        ),
        (
            _replace(
                E08,
                "scale: {outcomes.engagement.tariff: 0.9}",
                "scale: {payers.commissioner.cap: 2}",
            ),
            "scenario.yaml:45 amendments[1].scale.payers.commissioner.cap: "
            "'payers.commissioner.cap' can be set but not scaled",
        ),
        (
            _replace(
                E08, "scale: {outcomes.engagement.tariff: 0.9}", "scale: {contract.term_months: 2}"
            ),
            "scenario.yaml:45 amendments[1].scale.contract.term_months: "
            "'contract.term_months' cannot be amended",
        ),
        (
            _replace(
                E08, "scale: {outcomes.engagement.tariff: 0.9}", "scale: {provider.block.annual: 2}"
            ),
            "scenario.yaml:45 amendments[1].scale.provider.block.annual: 'provider.block.annual' "
            "is scaled and 'provider.block.annual' is set by the same amendment",
        ),
        (
            _replace(
                E08, "scale: {stages.job_start.rate: 1.2,", "scale: {stages.job_start.rate: 2.6,"
            ),
            "scenario.yaml:42 stages.job_start.rate (case high, amendment in month 5): must be "
            "between 0 and 1, got 1.04",
        ),
        (
            _replace(
                E08,
                "scale: {stages.job_start.rate: 1.2,",
                "scale: {stages.engagement.capacity_per_fte: 1.2,",
            ),
            "scenario.yaml:42 stages.engagement.capacity_per_fte (case low, amendment in month "
            "5): has no value to scale here",
        ),
        (
            _replace(
                E08,
                "    scale: {outcomes.engagement.tariff: 0.9}\n    set: {provider.block.annual: 36000}\n",
                "",
            ),
            "scenario.yaml:43 amendments[1]: an amendment needs a non-empty 'set', a non-empty "
            "'scale', or both",
        ),
        (
            _replace(E05, "rate: 0.5, lag: 0,", "rat: 0.5, lag: 0,"),
            "scenario.yaml:24 stages.engagement.rat: unknown key 'rat': did you mean 'rate'?",
        ),
    ],
)
def test_bad_v2_input(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    for command in (["validate"], ["run", "--out", str(tmp_path / "out")]):
        result = runner.invoke(app, [command[0], str(path), *command[1:]])
        assert result.exit_code == 2, result.output
        assert expected in " ".join(result.output.split()), result.output
        assert not (tmp_path / "out").exists()


CAPACITY = _replace(MINIMAL, "rate: 0.5, lag: 1}", "rate: 0.5, lag: 1, capacity_per_fte: 3}")


def test_capacity_limits_a_stage_in_the_term_only(tmp_path: Path) -> None:
    # 10 referrals a month, half engage: 5 a month against 1 FTE x 3
    out = run_scenario(write(tmp_path, CAPACITY))
    engagement = out.results.stages[0][0, 0]
    assert np.allclose(engagement[1:12], 3.0)
    assert np.allclose(out.results.over_capacity[0, 1:12], 2.0)
    assert engagement[12] == 0 and out.results.over_capacity[0, 12:].sum() == 0
    # job starts come from the people the service took on (half of month 12's arrive in
    # month 13, after the term)
    starts = out.results.stages[1][0].sum()
    assert starts == pytest.approx(0.4 * (engagement.sum() - 0.5 * engagement[11]))
    assert run_summary(out)["over_capacity"].iloc[0] == pytest.approx(22.0)


def test_an_amended_capacity_and_staff_apply_from_their_month(tmp_path: Path) -> None:
    text = CAPACITY + "amendments:\n  - {month: 7, set: {provider.costs.staff_fte: 2}}\n"
    out = run_scenario(write(tmp_path, text))
    engagement = out.results.stages[0][0, 0]
    assert np.allclose(engagement[1:6], 3.0) and np.allclose(engagement[6:12], 5.0)


def test_stochastic_capacity_keeps_whole_people(tmp_path: Path) -> None:
    from mhep_model.engine.stochastic import block_streams, draw_flows
    from mhep_model.scenario import compile_inputs, load
    from mhep_model.studies.stress import case_uncertainty

    text = _replace(CAPACITY, "capacity_per_fte: 3}", "capacity_per_fte: 2.5}")
    resolved = load(write(tmp_path, text))
    inp = compile_inputs(resolved)
    _, flows, over = draw_flows(inp, case_uncertainty(resolved), 0, block_streams(1, 1, 0, 500))
    engagement = flows[0][:, 0, :12]
    assert engagement.max() <= 2  # floor(1 FTE x 2.5)
    assert np.array_equal(engagement, np.round(engagement))
    assert over.sum() > 0


def test_scale_multiplies_each_cases_own_value(tmp_path: Path) -> None:
    out = run_scenario(write(tmp_path, E08))
    rates = out.inputs.stages[1].rate  # job_start, (cases, bands, months)
    for case, own in enumerate((0.2, 0.3, 0.4)):
        assert rates[case, 0, 3] == pytest.approx(own)
        assert rates[case, 0, 4] == pytest.approx(own * 1.2)  # month 5 on
    tariff = out.inputs.outcomes[0].tariff
    assert tariff[0, 0, 6] == 500 and tariff[0, 0, 7] == pytest.approx(450)


def test_upfront_capital_is_drawn_in_month_1_and_not_swept(tmp_path: Path) -> None:
    text = _replace(E08, "repayment: end}", "repayment: sweep}")
    out = run_scenario(write(tmp_path, text))
    spv = out.results.spv
    assert np.all(spv.drawdown[:, 0] >= 15000)
    assert np.all(spv.principal_repaid[:, 0] == 0) and np.all(spv.interest_paid[:, 0] == 0)


def test_payer_shares_are_checked_only_where_the_stage_can_have_people(tmp_path: Path) -> None:
    # the council pays 80% of engagements and only for months 1-12 (the term): engagement
    # (not after_term) cannot happen later, so the 20% of the SPV alone is not checked there
    text = _replace(
        MINIMAL,
        "council: {name: Council, cap: 20000}",
        "council: {name: Council, cap: 20000, window: [1, 12]}",
    )
    text = _replace(text, "paid_by: {council: 1.0}", "paid_by: {council: 1.0, spv: 0.0}")
    assert run_summary(run_scenario(write(tmp_path, text)))["income"].iloc[0] > 0
    # with after_term, engagements can happen in month 13, where only 20% is paid for
    bad = _replace(text, "rate: 0.5, lag: 1}", "rate: 0.5, lag: 1, after_term: true}")
    result = runner.invoke(app, ["validate", str(write(tmp_path, bad))])
    assert result.exit_code == 2
    assert "outcomes.engagement.paid_by: the shares of the payers active in month 13 (spv)" in (
        " ".join(result.output.split())
    )


def test_a_raised_cap_releases_what_it_held_back(tmp_path: Path) -> None:
    out = run_scenario(write(tmp_path, E05))
    capped = out.results.payments.capped.sum(axis=1)[1]  # medium
    assert capped[9] == pytest.approx(-400.0)  # month 10: 3,400 released, 3,000 held


def test_solve_for_the_working_capital_a_bid_needs(tmp_path: Path) -> None:
    # repaid from month 13: without it the medium case's provider is 2,500 short in month 1
    path = write(tmp_path, _replace(E05, "repay_from: 7,", "repay_from: 13,"))
    args = ["solve", str(path), "--vary", "provider.advance.amount"]
    args += ["--target", "provider_min_reserves=0", "--case", "medium", "-q"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    amount = float(result.output)
    assert amount == pytest.approx(2500, abs=0.01)
    checked = run_scenario(path, sets=[("provider.advance.amount", amount)], cases=["medium"])
    assert run_summary(checked)["provider_min_reserves"].iloc[0] == pytest.approx(0, abs=0.01)
    # the low case's shortfall comes after the advance is repaid: no advance closes it
    args[-2] = "low"
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "low: provider_min_reserves is" in result.output and ", never 0" in result.output


def test_explain_says_the_new_terms(tmp_path: Path) -> None:
    result = runner.invoke(app, ["explain", str(write(tmp_path, E05))])
    text = " ".join(result.output.split())
    assert "cut when payers' caps hold invoices back" in text
    assert (
        "lends Provider £6,000 of working capital in month 1 (2021-04), repaid £1,000 a month from month 7"
        in text
    )
    assert "at most 4 a month per FTE" in text
    assert "payments after the term count in year 1" in text
    result = runner.invoke(app, ["explain", str(write(tmp_path, E08))])
    text = " ".join(result.output.split())
    assert "the job start rate is multiplied by 1.2 in each case" in text
    assert "Investor puts in £15,000 upfront in month 1" in text
