"""Metrics are defined once (issue 20): every output column has a name, unit, label and a
party with a direction, and every table, workbook and compare's colours read them."""

from __future__ import annotations

import pytest

import mhep_model
from mhep_model.metrics import METRICS, UNITS, metric, unit_of
from mhep_model.report.compare import judge, metrics
from tests.conftest import ROOT

PORTFOLIO = ROOT / "scenarios" / "mhep_2016.yaml"


@pytest.mark.parametrize("name", ["staffordshire", "tower_hamlets", "haringey"])
def test_every_summary_column_of_a_run_is_a_defined_metric(name: str) -> None:
    result = mhep_model.run(ROOT / "scenarios" / f"{name}.yaml")
    stages = [s.name for s in result.study.inputs.stages]
    for column in result.summary.columns.drop("case"):
        m = metric(column, stages)
        assert m.unit in UNITS, column
        assert m.party, f"{column} has no party: add it to mhep_model.metrics"
        assert m.label != column or column in stages, column


def test_every_portfolio_column_is_a_defined_metric() -> None:
    result = mhep_model.run(PORTFOLIO)
    for column in result.summary.columns.drop("case"):
        assert metric(column).party, column
    contracts = result.contracts_summary
    assert contracts is not None
    for column in contracts.columns.drop(["case", "contract"]):
        m = metric(f"north.{column}", ["engagement", "job_start", "sustain_6w", "sustainment"])
        assert m.party, column
        assert m.label.startswith("north: "), m.label


def test_units_and_directions() -> None:
    assert unit_of("provider_min_reserves_month") == "month"
    assert unit_of("over_capacity") == "people"
    assert unit_of("engagement", ["engagement"]) == "people"
    assert unit_of("providers_insolvent") == "count"
    assert metric("paid_cbo", payer_labels={"cbo": "CBO fund"}).label == "  paid by CBO fund"
    assert metric("north.provider_surplus").party == "north provider"
    assert metric("something_new_month").unit == "month"
    assert METRICS["provider_surplus"].better == 1 and METRICS["loan_loss"].better == -1


def test_compare_colours_follow_the_metric_definitions() -> None:
    table = {m.name: m for m in metrics(["job_start"], {"council": "Council"})}
    assert judge(table["provider_surplus"], 100.0, 200.0) == 1  # more surplus: provider wins
    assert judge(table["paid_council"], 100.0, 200.0) == -1  # a larger bill: payer loses
    assert judge(table["loan_loss"], 100.0, 0.0) == 1
    assert judge(table["provider_insolvent_month"], 10.0, float("nan")) == 1  # never: best
    assert judge(METRICS["provider_min_reserves_month"], 3.0, 9.0) == 0  # no direction
    assert judge(table["investor_drawn"], 1.0, 2.0) == 0


def test_the_spv_metrics_are_the_engines_investor_summary() -> None:
    """The portfolio's own columns and its contracts' are split by one set, checked
    against what the engine's investor summary computes."""
    import numpy as np

    from mhep_model.engine.spv import Waterfall, waterfall
    from mhep_model.engine.summary import investor_summary
    from mhep_model.studies.summary import CONTRACT_TAIL, PORTFOLIO_TAIL, SPV_METRICS

    one = np.ones(1)
    w = Waterfall(
        np.zeros((1, 3)),
        np.array([3]),
        one,
        one,
        one,
        one,
        one,
        np.array([False]),
        np.array([1]),
        0 * one,
    )
    keys = investor_summary(waterfall(w, np.zeros((1, 3)), np.zeros((1, 3))))
    assert set(keys) == SPV_METRICS
    assert not SPV_METRICS & set(CONTRACT_TAIL)
    assert set(PORTFOLIO_TAIL) == SPV_METRICS | {"providers_insolvent"}
