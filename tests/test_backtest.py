"""The back-test (issue 22): payments files, the quarterly comparison, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import mhep_model
from mhep_model.cli import app
from mhep_model.errors import ScenarioError
from mhep_model.scenario.payments import quarter_of, read_payments
from mhep_model.studies.backtest import backtest, quarterly_income
from tests.conftest import MINIMAL, ROOT, write

runner = CliRunner()


def _payments(tmp_path: Path, text: str) -> Path:
    return write(tmp_path, text, "payments.csv")


def test_quarter_of_months() -> None:
    assert [quarter_of(m) for m in ("2020-01", "2020-03", "2020-04", "2021-12")] == [
        "2020-Q1",
        "2020-Q1",
        "2020-Q2",
        "2021-Q4",
    ]


def test_a_payments_file_reads_quarters_months_total_and_comments(tmp_path: Path) -> None:
    rec = read_payments(
        _payments(
            tmp_path, "# a comment\nquarter,income,note\ntotal,100,all\n2020-Q3,40,x\n2020-Q1,10,\n"
        )
    )
    assert rec.total == 100
    assert list(rec.quarters.items()) == [("2020-Q1", 10.0), ("2020-Q3", 40.0)]
    months = read_payments(_payments(tmp_path, "month,income\n2020-01,1\n2020-02,2\n2020-04,4\n"))
    assert months.quarters == {"2020-Q1": 3.0, "2020-Q2": 4.0}
    assert months.total is None


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("when,income\n2020-Q1,1\n", 1, "first column must be 'quarter' or 'month'"),
        ("quarter,income,extra\n2020-Q1,1,2\n", 1, "unknown column 'extra'"),
        ("quarter,note\n2020-Q1,x\n", 1, "must be quarter, income"),
        ("quarter,income\n", 1, "no rows"),
        ("quarter,income\n2020-Q1,1\n2020-Q5,1\n", 3, "must be YYYY-Qn"),
        ("quarter,income\n2020-Q1,1\n2020-Q1,2\n", 3, "given twice"),
        ("quarter,income\n2020-Q1,-1\n", 2, "income must be a number >= 0"),
        ("quarter,income\n2020-Q1,nan\n", 2, "income must be a number >= 0"),
        ("quarter,income\n2020-Q1,1,2\n", 2, "has 3 cells"),
        ("month,income\n2020-13,1\n", 2, "must be YYYY-MM"),
    ],
)
def test_bad_payments_files_name_the_line(tmp_path: Path, text: str, line: int, says: str) -> None:
    with pytest.raises(ScenarioError) as e:
        read_payments(_payments(tmp_path, text))
    assert says in str(e.value)
    assert f"payments.csv:{line}" in str(e.value)


def test_quarterly_income_sums_months_into_calendar_quarters() -> None:
    dates = pd.Series(["2020-02", "2020-03", "2020-04", "2020-05", "2020-08"])
    got = quarterly_income(dates, pd.Series([1.0, 2.0, 4.0, 8.0, 16.0]))
    assert got.to_dict() == {"2020-Q1": 3.0, "2020-Q2": 12.0, "2020-Q3": 16.0}


def test_the_summary_measures(tmp_path: Path) -> None:
    dates = pd.Series([f"2020-{m:02d}" for m in range(1, 13)])
    income = pd.Series([0, 0, 30, 0, 0, 60, 0, 0, 60, 0, 0, 30], dtype=float)
    rec = read_payments(_payments(tmp_path, "quarter,income\ntotal,200\n2020-Q2,40\n2020-Q3,80\n"))
    done = backtest("recorded", dates, income, ("2020-01", "2020-12"), 10.0, rec)
    q = done.quarters.set_index("quarter")
    assert list(q["model_income"]) == [30, 60, 60, 30]
    assert q["recorded_income"].isna().tolist() == [True, False, False, True]
    assert list(q["difference"].dropna()) == [20, -20]
    assert list(q["flat_line"]) == [50, 50, 50, 50]  # 200 over the term's four quarters
    assert q["recorded_cumulative"].isna().all()  # 2020-Q1 is not known
    s = done.summary.set_index("measure")["value"]
    assert s["quarters_known"] == 2
    assert s["model_total"] == 180 and s["recorded_total"] == 200
    assert s["total_ratio"] == pytest.approx(0.9)
    assert s["mean_absolute_error"] == 20 and s["mean_recorded_quarter"] == 60
    assert s["mean_absolute_error_share"] == pytest.approx(1 / 3)
    assert s["flat_line_mean_absolute_error"] == 20  # |50 - 40| and |50 - 80|
    assert s["model_first_payment_quarter"] == "2020-Q1"
    assert s["recorded_first_payment_quarter"] == "2020-Q2"
    assert s["model_last_payment_quarter"] == "2020-Q4"
    assert s["implied_price_per_outcome"] == 20 and s["model_price_per_outcome"] == 18


def test_without_a_total_the_flat_line_is_the_mean_known_quarter(tmp_path: Path) -> None:
    dates = pd.Series(["2020-01", "2020-04"])
    rec = read_payments(_payments(tmp_path, "quarter,income\n2020-Q1,10\n2020-Q2,30\n"))
    done = backtest("c", dates, pd.Series([5.0, 5.0]), ("2020-01", "2020-04"), None, rec)
    assert list(done.quarters["flat_line"]) == [20, 20]
    assert list(done.quarters["recorded_cumulative"]) == [10, 40]
    s = done.summary.set_index("measure")["value"]
    assert s["implied_price_per_outcome"] is None and s["recorded_total"] is None


def test_the_api_and_the_cli_agree(tmp_path: Path) -> None:
    scenario = write(tmp_path, MINIMAL)
    payments = _payments(tmp_path, "month,income\n2020-01,0\n2020-02,1000\n2020-03,2000\n")
    done = mhep_model.backtest(scenario, payments, case="base")
    monthly = mhep_model.run(yaml.safe_load(MINIMAL)).monthly
    first = monthly[monthly["date"].str[:7].isin(["2020-01", "2020-02", "2020-03"])]["income"].sum()
    assert done.quarters.iloc[0]["model_income"] == pytest.approx(first)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["backtest", str(scenario), "--payments", str(payments), "--case", "base",
              "--out", str(out), "--charts"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "mean absolute error" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "backtest.csv", "backtest.png", "backtest_summary.csv", "run.json",
    ]  # fmt: skip
    written = pd.read_csv(out / "backtest.csv")
    assert written["model_income"].tolist() == pytest.approx(done.quarters["model_income"].tolist())
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["command"] == "backtest" and manifest["payments"] == str(payments)


def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    scenario = write(tmp_path, MINIMAL)
    bad = _payments(tmp_path, "quarter,income\n2020-Q1,-5\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["backtest", str(scenario), "--payments", str(bad), "--case",
                                 "base", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 2
    assert "payments.csv:2" in result.output and not out.exists()
    result = runner.invoke(app, ["backtest", str(scenario), "--payments", str(bad), "--out",
                                 str(out)])  # fmt: skip
    assert result.exit_code == 2 and "no case named 'recorded'" in result.output


def test_without_payments_the_actuals_income_is_the_record(tmp_path: Path) -> None:
    scenario = write(tmp_path, MINIMAL)
    actuals = write(
        tmp_path,
        "month,engagement,income\n2020-01,5,100\n2020-02,5,200\n2020-03,5,300\n2020-04,5,400\n",
        "actuals.csv",
    )
    done = mhep_model.backtest(scenario, case="base", actuals=actuals)
    q = done.quarters.set_index("quarter")
    assert q.loc["2020-Q1", "recorded_income"] == 600
    assert q["recorded_income"].notna().sum() == 1  # 2020-Q2 holds one recorded month only
    assert done.manifest["payments"] == str(actuals)
    no_income = write(tmp_path, "month,engagement\n2020-01,5\n", "counts.csv")
    result = runner.invoke(app, ["backtest", str(scenario), "--case", "base", "--actuals",
                                 str(no_income), "--out", str(tmp_path / "o")])  # fmt: skip
    assert result.exit_code == 2 and "give --payments FILE" in result.output


@pytest.mark.parametrize(
    "name", ["haringey_barnet", "enfield", "shropshire", "tower_hamlets_ld", "tower_hamlets_smi"]
)
def test_each_shipped_payments_file_backtests_its_recorded_case(name: str) -> None:
    done = mhep_model.backtest(
        ROOT / "scenarios" / "lcf" / f"{name}.yaml",
        ROOT / "scenarios" / "actuals" / f"{name}_payments.csv",
    )
    s = done.summary.set_index("measure")["value"]
    assert s["total_ratio"] == pytest.approx(1.0, abs=0.05)  # indigo Table A, within 5%


def test_a_payments_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    binary = tmp_path / "payments.csv"
    binary.write_bytes(b"quarter,income\n\x00")
    with pytest.raises(ScenarioError, match="NUL bytes"):
        read_payments(binary)
    with pytest.raises(ScenarioError, match="is not a file"):
        read_payments(tmp_path)
