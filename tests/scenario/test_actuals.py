"""Actuals (issue 12, spec section 13): bad files, the re-forecast, variance and stress."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from mhep_model.studies.run import run_scenario
from mhep_model.studies.stress import stress
from tests.conftest import EXAMPLES, ROOT

runner = CliRunner()
E07 = EXAMPLES / "e07_actuals"
HEADER = "month,referrals,engagement,job_start.under_16,job_start.over_16,sustain_13w,income"


@pytest.fixture
def e07(tmp_path: Path) -> Path:
    folder = tmp_path / "e07"
    shutil.copytree(E07, folder)
    return folder


def _rows(folder: Path) -> list[str]:
    return (folder / "actuals.csv").read_text().splitlines()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda r: [r[0].replace("income", "incomes"), *r[1:]],
            "actuals.csv:1 incomes: unknown column 'incomes': did you mean 'income'?",
        ),
        (
            lambda r: [r[0].replace("engagement", "engagment"), *r[1:]],
            "unknown column 'engagment': did you mean 'engagement'?",
        ),
        (
            lambda r: [r[0] + ",job_start", *(x + ",1" for x in r[1:])],
            "actuals.csv:1 job_start: stage 'job_start' is given both as a total and by bands",
        ),
        (
            lambda r: [
                r[0].replace(",job_start.over_16", ""),
                *(",".join(x.split(",")[:4] + x.split(",")[5:]) for x in r[1:]),
            ],
            "actuals.csv:1 job_start.under_16: the bands of 'job_start' come together: missing job_start.over_16",
        ),
        (
            lambda r: [r[0], r[1].replace("2022-01", "2022-1"), *r[2:]],
            "actuals.csv:2 month: must be a month written YYYY-MM",
        ),
        (
            lambda r: [r[0], *(x.replace("2022-", "2021-") for x in r[1:])],
            "actuals.csv:2 month: the first month must be contract.start 2022-01, got 2021-01",
        ),
        (
            lambda r: [r[0], r[1], *r[3:]],
            "actuals.csv:3 month: months must follow one another: expected 2022-02 after 2022-01, got 2022-03",
        ),
        (lambda r: [r[0], r[1], r[1], *r[2:]], "actuals.csv:3 month: month 2022-01 is given twice"),
        (
            lambda r: [r[0], r[1].replace(",4,", ",4.5,"), *r[2:]],
            "actuals.csv:2 referrals: must be a whole number of people, got 4.5",
        ),
        (
            lambda r: [r[0], r[1].replace(",4,", ",-4,"), *r[2:]],
            "actuals.csv:2 referrals: must be 0 or more, got -4",
        ),
        (
            lambda r: [r[0], r[1].replace(",4,", ",nan,"), *r[2:]],
            "actuals.csv:2 referrals: must be a finite number, got 'nan'",
        ),
        (lambda r: [], "actuals.csv:1: is empty"),
        (lambda r: [r[0]], "actuals.csv:1: has a header but no months"),
        (lambda r: [r[0], r[1] + ",7"], "actuals.csv:2: has 8 cells; the header has 7 columns"),
        (
            lambda r: [r[0].replace("month", "date"), *r[1:]],
            "actuals.csv:1: the first column must be 'month'",
        ),
    ],
)
def test_bad_actuals(e07: Path, tmp_path: Path, edit: object, expected: str) -> None:
    rows = _rows(e07)
    (e07 / "actuals.csv").write_text("\n".join(edit(rows)) + "\n")  # type: ignore[operator]
    result = runner.invoke(app, ["run", str(e07 / "scenario.yaml"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split()), result.output
    assert not (tmp_path / "o").exists()


def test_rows_past_the_horizon(e07: Path, tmp_path: Path) -> None:
    rows = _rows(e07)
    months = [f"{2022 + (m // 12)}-{m % 12 + 1:02d}" for m in range(25)]
    body = [f"{mo},1,0,0,0,0,0" for mo in months]
    (e07 / "actuals.csv").write_text("\n".join([rows[0], *body]) + "\n")
    result = runner.invoke(app, ["validate", str(e07 / "scenario.yaml")])
    assert result.exit_code == 2
    assert "actuals.csv:26 month: month 2024-01 is past the horizon of 24 months" in result.output


@pytest.mark.parametrize("content", [b"\x00\x01\x02binary", None])
def test_not_a_csv(e07: Path, content: bytes | None) -> None:
    target = e07 / "actuals.csv"
    target.unlink()
    if content is None:
        target.mkdir()
    else:
        target.write_bytes(content)
    result = runner.invoke(app, ["validate", str(e07 / "scenario.yaml")])
    assert result.exit_code == 2
    assert "actuals.csv" in result.output


def test_a_very_large_file_is_refused(e07: Path) -> None:
    (e07 / "actuals.csv").write_text(HEADER + "\n" + "x" * 1_100_000)
    result = runner.invoke(app, ["validate", str(e07 / "scenario.yaml")])
    assert result.exit_code == 2
    assert "is larger than 1,000,000 bytes" in result.output


def test_actuals_option_replaces_the_scenarios_own(e07: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("month,referrals\n2022-01,3\n2022-02,5\n")
    out = run_scenario(e07 / "scenario.yaml", actuals=other)
    assert out.results.referrals[0, :2].tolist() == [3.0, 5.0]
    assert [r.measure for r in out.variance if r.case == "low"] == ["referrals"]
    result = runner.invoke(
        app, ["run", str(ROOT / "scenarios/mhep_2016.yaml"), "--actuals", str(other)]
    )
    assert result.exit_code == 2
    assert "--actuals is for one contract" in result.output


WHOLE = """\
name: whole people
contract: {start: 2021-01, term_months: 12, tail_months: 6}
referrals: {monthly: 10}
stages:
  engagement: {from: referral, rate: 0.5, lag: 1}
  job_start: {from: engagement, rate: 0.4, lag: 2, split: {under_16: 0.5, over_16: 0.5}}
  sustain: {from: job_start, rate: 0.5, lag: 3, after_term: true}
payers: {council: {cap: 100000}}
outcomes:
  engagement: {stage: engagement, tariff: 300, paid_by: {council: 1}}
  job_start: {stage: job_start, tariff: {under_16: 700, over_16: 1000}, paid_by: {council: 1}}
provider: {block: {annual: 12000}, outcome_payments: {share_of_tariff: 0.5}, costs: {staff_fte: 1, cost_per_fte: 20000}}
investor: {commitment: 50000}
cases: {a: {}, b: {referrals.scale: 2}}
"""


@pytest.mark.parametrize("k", [1, 5, 12, 18])
def test_own_flows_as_actuals_reforecast_to_the_plain_run(tmp_path: Path, k: int) -> None:
    """Whole-people flows (10 a month, rates of halves and fifths) given back as actuals
    re-forecast exactly to the plain run; every ratio against the case's own run is 1."""
    path = tmp_path / "whole.yaml"
    path.write_text(WHOLE.replace("cases: {a: {}, b: {referrals.scale: 2}}", "cases: {a: {}}"))
    plain = run_scenario(path)
    r = plain.results
    js = r.stages[1][0]
    lines = ["month,referrals,engagement,job_start.under_16,job_start.over_16,sustain"]
    for m in range(k):
        values = [
            r.referrals[0, m],
            r.stages[0][0, 0, m],
            js[0, m],
            js[1, m],
            r.stages[2][0].sum(axis=0)[m],
        ]
        assert all(float(v).is_integer() for v in values)
        lines.append(f"2021-{m + 1:02d}," if m < 12 else f"2022-{m - 11:02d},")
        lines[-1] += ",".join(str(int(v)) for v in values)
    (tmp_path / "a.csv").write_text("\n".join(lines) + "\n")
    again = run_scenario(path, actuals=tmp_path / "a.csv")
    for key, values in r.summary.items():
        assert np.allclose(values, again.results.summary[key], equal_nan=True), key
    assert all(row.ratio == pytest.approx(1.0) for row in again.variance if row.projected)


def test_stress_with_actuals_has_no_spread_in_recorded_months(e07: Path) -> None:
    first = stress(e07 / "scenario.yaml", paths=200, seed=5, cases=["medium"], keep_reserves=True)
    again = stress(e07 / "scenario.yaml", paths=200, seed=5, cases=["medium"], chunk_paths=1)
    for key in ("provider_surplus", "income", "job_start"):
        assert np.array_equal(first.per_path["medium"][key], again.per_path["medium"][key])
    plain = run_scenario(e07 / "scenario.yaml", cases=["medium"])
    reserves = first.reserves("medium")
    assert reserves is not None
    # the recorded months' flows are known: every path has the same reserves up to the
    # first payment for a month after the records (quarterly, a month's lag: month 13)
    expected = plain.results.provider.reserves[0, :9].astype(np.float32)
    assert np.allclose(reserves[:, :9], expected[None, :], atol=0.01)
    assert reserves[:, 20].std() > 0
