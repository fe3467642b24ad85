"""Validation messages: one clear message per error class, naming the dotted path."""

from __future__ import annotations

from typing import Any

import pytest

from mhep_model.errors import ScenarioError
from mhep_model.scenario.validate import validate_scenario
from tests.conftest import minimal_data


def _error(change: Any) -> ScenarioError:
    data = minimal_data()
    change(data)
    with pytest.raises(ScenarioError) as info:
        validate_scenario(data)
    return info.value


def _set(path: str, value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        node = data
        keys = path.split(".")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value

    return change


def test_minimal_is_valid() -> None:
    sc = validate_scenario(minimal_data())
    assert sc.contract.horizon == 18
    assert sc.settlement.frequency == "monthly"
    assert sc.investor.loan_rate == 0.08


@pytest.mark.parametrize(
    ("path", "value", "where", "message"),
    [
        (
            "stages.engagement.rate",
            1.3,
            "stages.engagement.rate",
            "must be between 0 and 1, got 1.3",
        ),
        (
            "stages.engagement.rate",
            "high",
            "stages.engagement.rate",
            "must be a number or a mapping, got text 'high'",
        ),
        ("provider.costs.staff_fte", -1, "provider.costs.staff_fte", "must be 0 or more, got -1"),
        (
            "provider.costs.staff_fte",
            True,
            "provider.costs.staff_fte",
            "must be a number, got true",
        ),
        (
            "provider.costs.staff_fte",
            "3",
            "provider.costs.staff_fte",
            "must be a number, got text '3'",
        ),
        (
            "provider.costs.cost_per_fte",
            float("nan"),
            "provider.costs.cost_per_fte",
            "must be a finite number",
        ),
        ("investor.commitment", "1e5", "investor.commitment", "YAML 1.1 reads 1e5 as text"),
        ("contract.start", "2020-13", "contract.start", "must be a month written YYYY-MM"),
        ("contract.term_months", 12.5, "contract.term_months", "must be a whole number"),
        ("contract.term_months", 0, "contract.term_months", "must be 1 or more"),
        ("contract.tail_months", 600, "contract", "at most 600 months, got 612"),
        (
            "settlement.frequency",
            "weekly",
            "settlement.frequency",
            "must be 'monthly' or 'quarterly', got text 'weekly'",
        ),
        (
            "payers.council.tariff_factor",
            0,
            "payers.council.tariff_factor",
            "must be greater than 0",
        ),
        ("payers.council.window", [5], "payers.council.window", "must be a list of two months"),
        (
            "payers.council.window",
            [9, 5],
            "payers.council.window",
            "first month must not be after its last",
        ),
        ("payers.spv.cap", 100, "payers.spv.cap", "a self-funded payer takes no cap"),
        (
            "provider.costs.fixd_annual",
            1,
            "provider.costs.fixd_annual",
            "did you mean 'fixed_annual'?",
        ),
        ("investor.loan_rate", 1.5, "investor.loan_rate", "must be between 0 and 1, got 1.5"),
        (
            "investor.repayment",
            "bullet",
            "investor.repayment",
            "must be 'end' or 'sweep', got text 'bullet'",
        ),
        (
            "referrals.monthly",
            [1, 2],
            "referrals.monthly",
            "exactly term_months = 12 numbers, got 2",
        ),
        ("referrals.workers", 10, "referrals", "exactly one of 'monthly' and 'workers'"),
        (
            "stages.job_start.from",
            "sustain",
            "stages.job_start.from",
            "must be 'referral' or a stage",
        ),
        (
            "stages.engagement.from",
            "job_start",
            "stages.engagement.from",
            "a stage defined above this one",
        ),
        (
            "stages.job_start.lag",
            [0.5, 0.6],
            "stages.job_start.lag",
            "lag weights must sum to 1, got 1.1",
        ),
        ("stages.job_start.lag", [], "stages.job_start.lag", "at least one weight"),
        (
            "stages.job_start.split",
            {"under_16": 0.5, "over_16": 0.6},
            "stages.job_start.split",
            "split shares must sum to 1",
        ),
        ("stages.engagement.rate", {"a": 0.5}, "stages.engagement.rate", "has no bands"),
        ("stages.job_start.rate", {"under_16": 0.5}, "stages.job_start.rate", "missing over_16"),
        (
            "outcomes.job_start.tariff",
            {"under_16": 1, "over16": 2},
            "outcomes.job_start.tariff",
            "unknown over16",
        ),
        ("outcomes.job_start.stage", "job", "outcomes.job_start.stage", "unknown stage 'job'"),
        (
            "outcomes.job_start.paid_by",
            {"councl": 1.0},
            "outcomes.job_start.paid_by.councl",
            "did you mean 'council'?",
        ),
        (
            "provider.outcome_payments",
            {"annual_cap": 5},
            "provider.outcome_payments",
            "exactly one of share_of_tariff and tariffs",
        ),
        (
            "provider.outcome_payments",
            {"tariffs": {"job": 5}},
            "provider.outcome_payments.tariffs.job",
            "unknown outcome 'job'",
        ),
        ("provider.block", None, "provider.block", "must be a mapping"),
        (
            "amendments",
            [{"month": 19, "set": {"referrals.scale": 1}}],
            "amendments[0].month",
            "within the horizon 1..18, got 19",
        ),
        (
            "amendments",
            [{"month": 0, "set": {"referrals.scale": 1}}],
            "amendments[0].month",
            "must be 1 or more",
        ),
        ("name", 5, "name", "must be text"),
    ],
)
def test_error_messages(path: str, value: Any, where: str, message: str) -> None:
    err = _error(_set(path, value))
    assert str(err).startswith(f"{where}: "), str(err)
    assert message in err.message


def test_missing_required_key() -> None:
    err = _error(lambda d: d["provider"].pop("costs"))
    assert str(err) == "provider.costs: is required"


def test_second_split_on_a_path_is_refused() -> None:
    def change(data: dict[str, Any]) -> None:
        data["stages"]["sustain"] = {"from": "job_start", "rate": 0.5, "split": {"a": 1.0}}

    err = _error(change)
    assert "at most one split" in err.message


def test_reserved_stage_names_are_refused() -> None:
    def change(data: dict[str, Any]) -> None:
        data["stages"]["income"] = {"from": "engagement", "rate": 0.5}

    assert "stage names" in _error(change).message
