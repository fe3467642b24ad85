"""Deltas and who gains: directions from each party's point of view."""

from __future__ import annotations

import math

import pandas as pd

from mhep_model.report.compare import Metric, comparison_frame, judge, verdicts


def test_judge_directions() -> None:
    surplus = Metric("s", "provider_surplus", "money", "provider", +1)
    bill = Metric("p", "paid_council", "money", "council", -1)
    month = Metric("m", "provider_insolvent_month", "month", "provider", +1)
    assert judge(surplus, 100, 200) == 1 and judge(surplus, 200, 100) == -1
    assert judge(bill, 100, 200) == -1 and judge(bill, 200, 100) == 1
    assert judge(surplus, 100, 100.2) == 0  # below half a pound is no change
    assert judge(month, 5, math.nan) == 1  # never insolvent beats month 5
    assert judge(month, 9, 5) == -1
    assert judge(month, math.nan, math.nan) == 0


def test_comparison_frame_is_tidy_with_deltas() -> None:
    summary = pd.DataFrame(
        {
            "variant": ["a", "a", "b", "b"],
            "case": ["x", "y", "x", "y"],
            "income": [1.0, 2.0, 4.0, 1.0],
            "irr": [0.1, math.nan, 0.2, 0.3],
        }
    )
    tidy = comparison_frame(summary, "a")
    assert list(tidy.columns) == ["variant", "case", "metric", "value", "delta"]
    row = tidy[(tidy.variant == "b") & (tidy.case == "x") & (tidy.metric == "income")]
    assert row["delta"].iloc[0] == 3.0
    row = tidy[(tidy.variant == "b") & (tidy.case == "y") & (tidy.metric == "irr")]
    assert math.isnan(row["delta"].iloc[0])  # blank against blank


def test_verdicts_say_who_gains() -> None:
    summary = pd.DataFrame(
        {
            "variant": ["signed", "reset"],
            "case": ["low", "low"],
            "provider_surplus": [-1000.0, 500.0],
            "investor_received": [100.0, 50.0],
            "investor_drawn": [80.0, 80.0],
            "paid_council": [1000.0, 1000.0],
        }
    )
    (line,) = verdicts(summary, "low", ["signed", "reset"], {"council": "Council"}, "GBP")
    assert line.plain == (
        "low, reset vs signed: provider gains (surplus +£1,500); investor loses "
        "(net return -£50); Council: no change"
    )
