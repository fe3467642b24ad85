"""results.xlsx: it opens, and holds the same numbers as the CSVs."""

from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from tests.conftest import EXAMPLES, ROOT

runner = CliRunner()
E04 = EXAMPLES / "e04_cases_amendments" / "scenario.yaml"


def _sheet(path: Path, name: str) -> pd.DataFrame:
    ws = openpyxl.load_workbook(path)[name]
    rows = list(ws.iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_run_workbook_matches_csvs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(E04), "--out", str(out), "--xlsx", "-q"])
    assert result.exit_code == 0, result.output
    book = out / "results.xlsx"
    cached = openpyxl.load_workbook(book, data_only=True)
    summary = pd.read_csv(out / "summary.csv").set_index("case")
    rows = list(cached["Outputs"].iter_rows(min_row=5, values_only=True))
    kpis = pd.DataFrame(rows[1:], columns=rows[0]).set_index("Measure")
    assert list(kpis.columns) == ["low", "medium", "high"]
    for label, column in [
        ("Income to the SPV", "income"),
        ("Provider minimum reserves", "provider_min_reserves"),
        ("Investor IRR (a year)", "investor_irr"),
        ("Investor money multiple", "investor_multiple"),
        ("Provider block", "provider_block"),
        ("Management fee", "management_fee"),
    ]:
        for case in kpis.columns:
            want = summary.loc[case, column]
            got = kpis.loc[label, case]
            assert (got == "–") if math.isnan(want) else got == pytest.approx(want), label
    assert (
        kpis.loc["Provider insolvent from month", "low"]
        == summary.loc["low", "provider_insolvent_month"]
    )
    rows = list(cached["Amendments"].iter_rows(min_row=5, values_only=True))
    amendments = pd.DataFrame(rows[1:], columns=rows[0])
    assert amendments["Month"].tolist() == [10, 10, 10, 10]
    assert "provider.block.annual" in amendments["Input"].tolist()
    rows = list(cached["Inputs"].iter_rows(min_row=5, values_only=True))
    inputs = pd.DataFrame(rows[1:], columns=rows[0]).set_index("Input")
    assert inputs.loc["referrals.scale", "low"] == 0.6
    assert inputs.loc["stages.job_start.split.over_16", "high"] == 0.6


def test_stress_and_sweep_workbooks(tmp_path: Path) -> None:
    out = tmp_path / "s"
    result = runner.invoke(
        app, ["stress", str(E04), "--paths", "500", "--out", str(out), "--xlsx", "-q"]
    )
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out / "results.xlsx")
    assert wb.sheetnames[:4] == ["About", "Risks", "Percentiles", "Stress summary"]
    percentiles = _sheet(out / "results.xlsx", "Percentiles")
    assert list(percentiles.columns) == ["case", "metric", "p5", "p25", "p50", "p75", "p95"]
    stats = pd.read_csv(out / "stress_summary.csv")
    p50 = stats[(stats.case == "low") & (stats.metric == "income") & (stats.statistic == "p50")][
        "value"
    ].iloc[0]
    row = percentiles[(percentiles.case == "low") & (percentiles.metric == "income")]
    assert math.isclose(row["p50"].iloc[0], p50)

    out = tmp_path / "w"
    result = runner.invoke(
        app,
        [
            "sweep",
            str(E04),
            "--param",
            "provider.block.annual=0:40000:20000",
            "--out",
            str(out),
            "--xlsx",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    sweep_xlsx = _sheet(out / "results.xlsx", "Sweep")
    sweep_csv = pd.read_csv(out / "sweep.csv")
    assert sweep_xlsx["provider_surplus"].tolist() == pytest.approx(
        sweep_csv["provider_surplus"].tolist()
    )
    # each statistic in its unit: probabilities as %, multiples as x, money as £ (issue 13)
    stress = openpyxl.load_workbook(tmp_path / "s" / "results.xlsx")
    formats = {
        (r[1].value, r[2].value): r[3].number_format
        for r in stress["Stress summary"].iter_rows(min_row=2)
    }
    assert formats[("provider_insolvent", "probability")] == "0.0%"
    assert formats[("provider_insolvent", "standard_error")] == "0.0%"
    assert formats[("investor_multiple", "p50")] == '0.00"x"'
    assert formats[("income", "p50")].startswith("£#,##0")
    risks = _sheet(tmp_path / "s" / "results.xlsx", "Risks")
    assert "low standard error" in risks.columns


def test_compare_workbook_formats_each_metric_and_lists_every_amendment(tmp_path: Path) -> None:
    """Issue 13, defect 4: the Comparison sheet formats each row by its metric (a month as
    a month, not "£8"); Amendments lists every variant's, one value per row."""
    batch = Path(__file__).resolve().parents[2] / "scenarios" / "haringey_renegotiations.yaml"
    out = tmp_path / "c"
    result = runner.invoke(app, ["compare", str(batch), "--out", str(out), "--xlsx", "-q"])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out / "results.xlsx")
    formats = {
        r[2].value: r[3].number_format
        for r in wb["Comparison"].iter_rows(min_row=2)
        if isinstance(r[3].value, int | float)
    }
    assert formats["provider_insolvent_month"] == "0"
    assert formats["investor_multiple"] == '0.00"x"'
    assert formats["investor_irr"] == "0.0%"
    assert formats["job_start"] == "#,##0.0"
    assert formats["income"].startswith("£#,##0")
    amendments = _sheet(out / "results.xlsx", "Amendments")
    assert set(amendments["variant"]) == {"as_signed", "reset_50_50", "with_advance"}
    assert not any(isinstance(v, str) and "{" in v for v in amendments["value"])


def test_study_workbooks_say_what_they_are_and_print_one_page_wide(tmp_path: Path) -> None:
    """Issue 24: compare, stress and sweep workbooks had no title, seed or version, dates
    as text, and compare printed 184 pages (27 columns at full size, page after page)."""
    import datetime as dt

    from mhep_model import __version__

    batch = ROOT / "scenarios" / "staffordshire_renegotiations.yaml"
    staffordshire = ROOT / "scenarios" / "staffordshire.yaml"
    runs = {
        "compare": ["compare", str(batch)],
        "stress": ["stress", str(staffordshire), "--paths", "300", "--seed", "7"],
        "sweep": ["sweep", str(staffordshire), "--param", "provider.block.annual=0:60000:30000"],
    }
    for name, args in runs.items():
        out = tmp_path / name
        result = runner.invoke(app, [*args, "--xlsx", "--out", str(out), "-q"])
        assert result.exit_code == 0, result.output
        wb = openpyxl.load_workbook(out / "results.xlsx")
        about = {r[0].value: r[1].value for r in wb["About"].iter_rows(min_row=3) if r[0].value}
        assert wb["About"]["A1"].value == f"{name}: Staffordshire IPS (MHEP, Making Space, 2016)"
        assert about["mhep-model version"] == __version__
        assert isinstance(about["Written"], dt.datetime)
        if name == "stress":
            assert about["Seed"] == 7
        for ws in wb.worksheets[1:]:
            assert ws.page_setup.orientation == "landscape", (name, ws.title)
            assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
            assert ws.print_title_rows == "$1:$1"
    monthly = openpyxl.load_workbook(tmp_path / "compare" / "results.xlsx")["Monthly"]
    j = [c.value for c in monthly[1]].index("date")
    cell = monthly.cell(row=2, column=j + 1)
    assert cell.is_date and cell.number_format == "mmm yyyy"
