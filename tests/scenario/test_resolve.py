"""Cases, amendments and --set: versions, validation of every version, located errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mhep_model.errors import ScenarioError, UsageError
from mhep_model.scenario import compile_inputs, load, parse_set
from tests.conftest import MINIMAL, write

CASES = """
cases:
  low: {referrals.scale: 0.5, stages.job_start.rate: {under_16: 0.1, over_16: 0.2}}
  base: {}
amendments:
  - month: 7
    note: re-set
    set: {provider.block.annual: 24000, outcomes.job_start.tariff.over_16: 1000}
  - month: 3
    set: {referrals.monthly: 20}
"""


def test_default_single_case_named_base(minimal_path: Path) -> None:
    resolved = load(minimal_path)
    assert [c.name for c in resolved.cases] == ["base"]
    assert len(resolved.cases[0].versions) == 1


def test_cases_and_amendments_make_versions(tmp_path: Path) -> None:
    resolved = load(write(tmp_path, MINIMAL + CASES))
    low = resolved.cases[0]
    assert [v.month for v in low.versions] == [1, 3, 7]
    assert low.versions[0].scenario.referrals.scale == 0.5
    assert low.versions[2].scenario.provider.block.annual == 24000
    assert low.versions[2].notes == ("re-set",)
    # the case's own value holds until the amendment month, amendments apply in every case
    inputs = compile_inputs(resolved)
    assert inputs.block_annual[0, 5] == 12000 and inputs.block_annual[0, 6] == 24000
    assert inputs.block_annual[1, 6] == 24000
    assert np.all(inputs.referrals_monthly[:, :2] == 10)
    assert np.all(inputs.referrals_monthly[:, 2:] == 20)
    over = inputs.outcomes[1].tariff[:, 1]
    assert over[0, 5] == 1300 and over[0, 6] == 1000


def test_only_selected_cases(tmp_path: Path) -> None:
    resolved = load(write(tmp_path, MINIMAL + CASES), cases=["base"])
    assert [c.name for c in resolved.cases] == ["base"]


def test_unknown_case_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no case named 'mid'; the cases are low, base"):
        load(write(tmp_path, MINIMAL + CASES), cases=["mid"])


def test_set_overrides_before_cases(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + CASES)
    resolved = load(
        path, sets=[parse_set("referrals.scale=0.8"), parse_set("provider.costs.staff_fte=2")]
    )
    assert resolved.cases[0].scenario.referrals.scale == 0.5  # the case overrides --set
    assert resolved.cases[1].scenario.referrals.scale == 0.8
    assert resolved.cases[1].scenario.provider.costs.staff_fte == 2


def test_set_may_name_a_default_key(minimal_path: Path) -> None:
    resolved = load(
        minimal_path, sets=[parse_set("spv.min_cash=5000"), parse_set("settlement.lag_months=1")]
    )
    assert resolved.base.spv.min_cash == 5000
    assert resolved.base.settlement.lag_months == 1


def test_set_replaces_a_list(minimal_path: Path) -> None:
    resolved = load(minimal_path, sets=[parse_set("payers.council.window=[1, 18]")])
    assert resolved.base.payers["council"].window == [1, 18]


@pytest.mark.parametrize("text", ["nonsense", "=3", "a.b=[1,"])
def test_bad_set_syntax(text: str) -> None:
    with pytest.raises(UsageError, match="--set"):
        parse_set(text)


def _case_error(tmp_path: Path, extra: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load(write(tmp_path, MINIMAL + extra))
    return info.value


def test_case_error_names_case_and_line(tmp_path: Path) -> None:
    err = _case_error(tmp_path, "cases:\n  low: {referrals.scale: -1}\n")
    assert str(err) == (
        f"{tmp_path / 'scenario.yaml'}:21 referrals.scale (case low): must be 0 or more, got -1"
    )


def test_case_may_not_add_a_stage(tmp_path: Path) -> None:
    err = _case_error(tmp_path, "cases:\n  low: {stages.sustain.rate: 0.5}\n")
    assert "there is no stage 'sustain' in the base" in err.message
    assert err.context == "case low"


def test_case_may_not_change_bands(tmp_path: Path) -> None:
    err = _case_error(
        tmp_path,
        "cases:\n  low: {stages.job_start.split: {a: 0.5, b: 0.5}}\n",
    )
    assert "bands" in err.message and err.context == "case low"


def test_case_may_not_add_a_payer(tmp_path: Path) -> None:
    err = _case_error(
        tmp_path,
        "cases:\n  low: {payers: {council: {name: x}, spv: {self: true}, extra: {name: y}}}\n",
    )
    assert "may not add, remove or reorder payers: this adds extra" in err.message


def test_case_into_a_number_is_refused(tmp_path: Path) -> None:
    err = _case_error(tmp_path, "cases:\n  low: {referrals.monthly.x: 3}\n")
    assert "is a single value, not a mapping" in err.message


def test_amendment_of_a_non_amendable_path(tmp_path: Path) -> None:
    err = _case_error(
        tmp_path, "amendments:\n  - month: 3\n    set: {provider.costs.mobilisation: 5}\n"
    )
    assert err.line == 22
    assert "'provider.costs.mobilisation' cannot be amended" in err.message


def test_amended_version_is_validated(tmp_path: Path) -> None:
    err = _case_error(tmp_path, "amendments:\n  - month: 3\n    set: {stages.engagement.rate: 2}\n")
    assert err.context == "amendment in month 3"
    assert err.line == 22
    assert "must be between 0 and 1" in err.message


def test_amended_shares_checked_in_their_months(tmp_path: Path) -> None:
    err = _case_error(
        tmp_path,
        "amendments:\n  - month: 5\n    set: {outcomes.job_start.paid_by: {council: 0.5}}\n",
    )
    assert "active in month 5 (council) sum to 0.5" in err.message
    assert err.line == 22


def test_amendment_month_checked_against_each_case_horizon(tmp_path: Path) -> None:
    err = _case_error(
        tmp_path,
        "cases:\n  short: {contract.tail_months: 0}\n"
        "amendments:\n  - month: 15\n    set: {referrals.scale: 2}\n",
    )
    assert "this case's horizon 1..12, got 15" in err.message
    assert err.context == "case short"


def test_amending_monthly_list_replaces_values_from_that_month(tmp_path: Path) -> None:
    text = MINIMAL.replace("monthly: 10", "monthly: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]")
    text += "amendments:\n  - month: 5\n    set: {referrals.monthly: 50}\n"
    inputs = compile_inputs(load(write(tmp_path, text)))
    assert inputs.referrals_monthly[0, :12].tolist() == [1, 2, 3, 4] + [50] * 8


def test_amending_monthly_with_workers_form_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace("monthly: 10", "workers: 60, per_worker_per_year: 2")
    text += "amendments:\n  - month: 5\n    set: {referrals.monthly: 50}\n"
    with pytest.raises(ScenarioError, match=r"amend referrals\.scale instead"):
        load(write(tmp_path, text))


def test_amendments_in_one_month_apply_in_written_order(tmp_path: Path) -> None:
    text = MINIMAL + (
        "amendments:\n"
        "  - {month: 4, set: {provider.block.annual: 1000}}\n"
        "  - {month: 4, set: {provider.block.annual: 2000}}\n"
    )
    case = load(write(tmp_path, text)).cases[0]
    assert [v.month for v in case.versions] == [1, 4]
    assert case.versions[1].scenario.provider.block.annual == 2000


def test_cases_may_change_contract_timing(tmp_path: Path) -> None:
    text = MINIMAL + "cases:\n  long: {contract.term_months: 24}\n  short: {}\n"
    inputs = compile_inputs(load(write(tmp_path, text)))
    assert inputs.horizon.tolist() == [30, 18]
    assert inputs.months == 30
