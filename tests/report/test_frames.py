"""monthly.csv and summary.csv: the spec's columns in its order, then extras; atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mhep_model.report.frames import run_monthly, run_summary
from mhep_model.report.writers import without_residues, write_outputs
from mhep_model.studies.run import run_scenario
from tests.conftest import EXAMPLES, MINIMAL, differences, read_csv, run_text

SPEC_MONTHLY = [
    "case",
    "month",
    "date",
    "referrals",
    "engagement",
    "job_start",
    "over_capacity",
    "income",
    "paid_council",
    "capped",
    "self_funded",
    "unfunded",
    "unsettled",
    "block",
    "provider_outcome_payments",
    "management_fee",
    "advance",
    "advance_repaid",
    "drawdown",
    "interest_paid",
    "principal_repaid",
    "equity_distribution",
    "loan_principal",
    "spv_cash",
    "funding_gap",
    "provider_revenue",
    "provider_costs",
    "provider_reserves",
    "investor_cashflow",
]


def test_monthly_columns_follow_the_spec(tmp_path: Path) -> None:
    out = run_text(tmp_path, MINIMAL)
    monthly = run_monthly(out)
    assert list(monthly.columns[: len(SPEC_MONTHLY)]) == SPEC_MONTHLY
    assert "paid_spv" not in monthly.columns  # self payers are not income
    assert "job_start[over_16]" in monthly.columns
    assert monthly["date"].iloc[0] == "2020-01" and monthly["date"].iloc[-1] == "2021-06"


def test_summary_columns_and_blanks(tmp_path: Path) -> None:
    out = run_text(tmp_path, MINIMAL)
    summary = run_summary(out)
    assert list(summary.columns[:7]) == [
        "case",
        "engagement",
        "job_start",
        "over_capacity",
        "income",
        "paid_council",
        "capped",
    ]
    assert summary["provider_insolvent_month"].dtype == "Int64"


def test_summary_matches_monthly_totals(tmp_path: Path) -> None:
    out = run_text(tmp_path, MINIMAL)
    monthly, summary = run_monthly(out), run_summary(out)
    for col in ("income", "capped", "self_funded", "provider_revenue", "provider_costs"):
        assert summary[col].iloc[0] == pytest.approx(monthly[col].sum())


def test_rows_of_different_horizons_keep_their_own_months(tmp_path: Path) -> None:
    out = run_text(tmp_path, MINIMAL + "cases:\n  long: {contract.tail_months: 12}\n  short: {}\n")
    counts = run_monthly(out).groupby("case", sort=False).size().to_dict()
    assert counts == {"long": 24, "short": 18}


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.5, float("nan")], "b": ["x", "y"]})
    written = write_outputs(tmp_path / "o", {"x.csv": frame}, {"tool_version": "t"})
    assert [p.name for p in written] == ["x.csv", "run.json"]
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["run.json", "x.csv"]
    assert (tmp_path / "o" / "x.csv").read_text() == "a,b\n1.5,x\n,y\n"


def test_written_csv_is_read_back_exactly(tmp_path: Path) -> None:
    """summary.csv and monthly.csv of a run read back to the very floats computed (the
    shortest round-trip text), and match the spec's expected file."""
    out = run_scenario(EXAMPLES / "e01_funnel" / "scenario.yaml")
    frames = {"summary.csv": run_summary(out), "monthly.csv": run_monthly(out)}
    write_outputs(tmp_path, frames, {"tool_version": "t"})
    for name, raw in frames.items():
        frame = without_residues(raw)  # |x| < 1e-9 written as 0 (spec 11)
        back = pd.read_csv(tmp_path / name, keep_default_na=False, na_values=[""])
        for column in frame.columns:
            if pd.api.types.is_float_dtype(frame[column]):
                np.testing.assert_array_equal(back[column].to_numpy(), frame[column].to_numpy())
    expected = EXAMPLES / "e01_funnel" / "expected" / "summary.csv"
    assert differences(expected, tmp_path / "summary.csv", ["case"]) == []
    assert read_csv(tmp_path / "summary.csv")[0]["case"] == "base"
