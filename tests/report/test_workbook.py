"""The model workbook of ``run``: live formulas that recalculate to the engine's figures,
a Checks sheet whose master check is OK on every shipped scenario, FAST-style layout."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from tests.conftest import EXAMPLES

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
E04 = EXAMPLES / "e04_cases_amendments" / "scenario.yaml"
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted(
    (ROOT / "scenarios" / "lcf").glob("*.yaml")
)
_EPOCH = dt.datetime(1899, 12, 30)


def _book(tmp_path: Path, scenario: Path, *extra: str) -> Path:
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out), "--xlsx", "-q", *extra])
    assert result.exit_code == 0, result.output
    return out


def _cached(value: object) -> object:
    return (value - _EPOCH).days if isinstance(value, dt.datetime) else value


PORTFOLIOS = sorted((ROOT / "scenarios" / "portfolios").glob("*.yaml"))


def _recalculated(path: Path) -> dict[tuple[str, str], object]:
    formulas = pytest.importorskip("formulas")
    solution = formulas.ExcelModel().loads(str(path)).finish().calculate()
    computed = {}
    for key, value in solution.items():
        found = re.match(r"'\[(.+?)\](.+?)'!([A-Z]+\d+)$", key)
        if found:
            computed[(found.group(2).upper(), found.group(3))] = value.value[0, 0]
    return computed


def _every_formula_matches(path: Path) -> int:
    """Recalculate ``path`` and compare every formula cell with its cached (engine) value;
    returns how many formulas there are."""
    computed = _recalculated(path)
    book = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    checked = 0
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type != "f":
                    continue
                want = _cached(cached[ws.title][cell.coordinate].value)
                got = computed[(ws.title.upper(), cell.coordinate)]
                if isinstance(want, int | float):
                    assert got == pytest.approx(want, rel=1e-9, abs=1e-6), (ws.title, cell)
                else:
                    assert got == want, (ws.title, cell.coordinate, cell.value)
                checked += 1
    assert computed[("CHECKS", "C3")] == "OK"  # the master check, recalculated
    return checked


def test_every_formula_recalculates_to_the_engines_value(tmp_path: Path) -> None:
    out = _book(tmp_path, E04)
    path = out / "results.xlsx"
    assert _every_formula_matches(path) > 500
    cached = openpyxl.load_workbook(path, data_only=True)
    # the cached values are the engine's: the Calc sheets hold monthly.csv's figures
    monthly = pd.read_csv(out / "monthly.csv")
    ws = cached["Calc medium"]
    headers = [c.value for c in ws[5]]
    rows = monthly[monthly.case == "medium"]
    for header, column in [
        ("Income", "income"),
        ("Provider reserves", "provider_reserves"),
        ("SPV cash", "spv_cash"),
        ("Loan principal", "loan_principal"),
        ("Investor cash flow", "investor_cashflow"),
    ]:
        j = headers.index(header)
        values = [r[j].value for r in ws.iter_rows(min_row=6, max_row=5 + len(rows))]
        assert values == pytest.approx(rows[column].tolist(), abs=1e-6), header
    assert cached["Checks"]["C3"].value == "OK"


def test_a_changed_input_flows_through_the_formulas(tmp_path: Path) -> None:
    """Opening reserves are a linked input: raising it raises every month's reserves."""
    formulas = pytest.importorskip("formulas")
    path = _book(tmp_path, E04) / "results.xlsx"
    book = openpyxl.load_workbook(path)
    inputs = book["Inputs"]
    row = next(r for r in inputs.iter_rows(min_row=6) if r[0].value == "provider.opening_reserves")
    before = row[3].value
    row[3].value = before + 1000  # the medium case's column
    changed = tmp_path / "changed.xlsx"
    book.save(changed)
    model = formulas.ExcelModel().loads(str(changed)).finish()
    solution = model.calculate()
    cached = openpyxl.load_workbook(path, data_only=True)
    ws = cached["Calc medium"]
    j = [c.value for c in ws[5]].index("Provider reserves")
    letter = openpyxl.utils.get_column_letter(j + 1)
    key = next(k for k in solution if k.upper().endswith(f"CALC MEDIUM'!{letter}20"))
    assert solution[key].value[0, 0] == pytest.approx(ws[f"{letter}20"].value + 1000)


def test_portfolio_workbook_recalculates_and_checks_ok(tmp_path: Path) -> None:
    """A portfolio's SPV sheets: income as the sum of contracts, the corkscrews live."""
    path = _book(tmp_path, PORTFOLIOS[0]) / "results.xlsx"
    assert _every_formula_matches(path) > 500
    cached = openpyxl.load_workbook(path, data_only=True)
    assert cached["Checks"]["C3"].value == "OK"


V3_EXAMPLES = [
    EXAMPLES / e / "scenario.yaml"
    for e in ("e09_grants_opening_evidence", "e10_service_stop", "e11_spv_cash")
]


@pytest.mark.parametrize("scenario", V3_EXAMPLES, ids=lambda p: p.parent.name)
def test_v3_flows_are_calc_columns_whose_formulas_recalculate(
    tmp_path: Path, scenario: Path
) -> None:
    """Grants, the stop, arrears, the performance fee and capitalised interest are columns
    of each Calc sheet; the reserves, cash and loan formulas take them in and recalculate
    to the engine's figures, and the master check stays OK."""
    path = _book(tmp_path, scenario) / "results.xlsx"
    assert _every_formula_matches(path) > 100
    cached = openpyxl.load_workbook(path, data_only=True)
    sheet = next(ws for ws in cached.worksheets if ws.title.startswith("Calc"))
    headers = [c.value for c in sheet[5]]
    for header in ("Grants owed", "Provider arrears (owed, end of month)", "Performance fee"):
        assert header in headers
    assert cached["Checks"]["C3"].value == "OK"


@pytest.mark.parametrize("scenario", SHIPPED + PORTFOLIOS, ids=lambda p: p.stem)
def test_master_check_is_ok_on_every_shipped_scenario(tmp_path: Path, scenario: Path) -> None:
    book = openpyxl.load_workbook(_book(tmp_path, scenario) / "results.xlsx", data_only=True)
    checks = book["Checks"]
    assert checks["C3"].value == "OK"
    flags = [r[6].value for r in checks.iter_rows(min_row=6) if r[0].value is not None]
    assert flags and set(flags) == {0}
    for ws in book.worksheets:  # the master check is shown on every sheet
        assert "OK" in [ws["B2"].value, ws["C3"].value], ws.title


def test_layout_follows_the_modelling_conventions(tmp_path: Path) -> None:
    path = _book(tmp_path, ROOT / "scenarios" / "staffordshire.yaml") / "results.xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [
        "Cover",
        "Inputs",
        "Amendments",
        "Timeline",
        "Calc low",
        "Calc medium",
        "Calc high",
        "Outputs",
        "Checks",
    ]
    for ws in book.worksheets[1:]:
        assert ws["B2"].value == "=Checks!$C$3", ws.title  # master check on every sheet
        assert ws.tables, f"{ws.title} has no Excel Table"
        assert ws.sheet_properties.pageSetUpPr.fitToPage  # one page wide
        assert ws.page_setup.fitToHeight == 0 and ws.print_title_rows == "$5:$5"
    inputs = book["Inputs"]
    rows = {r[0].value: r for r in inputs.iter_rows(min_row=6)}
    assert rows["contract.start"][5].value.startswith("seed 000 s4.1")  # the YAML's note
    assert rows["payers.commissioner.cap"][1].value == "£"
    assert rows["payers.commissioner.cap"][2].number_format.startswith("£#,##0")
    assert rows["investor.loan_rate"][2].number_format == "0.0%"
    assert rows["provider.block.annual"][2].fill.fgColor.rgb.endswith("FFF2CC")  # input style
    timeline = book["Timeline"]
    assert timeline["C6"].is_date and timeline["C6"].number_format == "mmm yyyy"
    amendments = book["Amendments"]
    values = [r[5].value for r in amendments.iter_rows(min_row=6)]
    assert values and not any(isinstance(v, str) and "{" in v for v in values)  # no dict text
    outputs = openpyxl.load_workbook(path, data_only=True)["Outputs"]
    labels = [r[0].value for r in outputs.iter_rows(min_row=6)]
    for label in ("Provider block", "Provider outcome payments", "Management fee"):
        assert label in labels  # as summary.csv has them
    formats = {r[0].value: r[1].number_format for r in book["Outputs"].iter_rows(min_row=6)}
    assert formats["Investor money multiple"] == '0.00"x"'
    assert formats["Provider insolvent from month"] == "0"
    assert len(book["Outputs"]._charts) == 2  # native charts, not pictures


_RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def _libreoffice_sheets(path: Path, work: Path) -> dict[str, list[list[str]]]:
    """Every sheet of ``path`` as recalculated by LibreOffice headless (a profile that
    recalculates Excel files on load), read back from its CSV export."""
    profile = work / "profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_ALWAYS)
    out = work / "csv"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(out),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    sheets = {}
    for csv_file in out.glob("*.csv"):
        with csv_file.open(encoding="utf-8") as f:
            sheets[csv_file.stem.split("-", 1)[1]] = list(csv.reader(f))
    return sheets


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_recalculates_to_the_engine_and_catches_a_tampered_input(
    tmp_path: Path,
) -> None:
    path = _book(tmp_path, E04) / "results.xlsx"
    sheets = _libreoffice_sheets(path, tmp_path / "lo")
    assert sheets["Checks"][2][2] == "OK"
    cached = openpyxl.load_workbook(path, data_only=True)["Calc medium"]
    recalculated = sheets["Calc medium"]
    compared = 0
    for r, row in enumerate(cached.iter_rows(min_row=6, min_col=3), start=5):
        for j, cell in enumerate(row, start=2):
            if isinstance(cell.value, int | float):
                assert float(recalculated[r][j]) == pytest.approx(cell.value, abs=1e-6)
                compared += 1
    assert compared > 100
    # an input changed by hand flows through the corkscrews, and the checks say so
    book = openpyxl.load_workbook(path)
    row = next(r for r in book["Inputs"].iter_rows(min_row=6) if r[0].value == "spv.opening_cash")
    row[3].value += 1000  # the medium case
    tampered = tmp_path / "tampered.xlsx"
    book.save(tampered)
    sheets = _libreoffice_sheets(tampered, tmp_path / "lo2")
    assert sheets["Checks"][2][2] == "ERROR"


def test_outputs_carry_every_summary_measure_an_analyst_reads(tmp_path: Path) -> None:
    """Issue 24: the Outputs sheet lacked provider_surplus, outcome_linked_share,
    over_capacity and capped (all in summary.csv)."""
    import openpyxl

    from mhep_model.cli import app
    from mhep_model.metrics import METRICS
    from tests.conftest import EXAMPLES

    out = tmp_path / "out"
    scenario = EXAMPLES / "e04_cases_amendments" / "scenario.yaml"
    result = CliRunner().invoke(app, ["run", str(scenario), "--xlsx", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(out / "results.xlsx")["Outputs"]
    labels = {str(row[0].value) for row in ws.iter_rows() if row[0].value}
    for name in ("provider_surplus", "outcome_linked_share", "over_capacity", "capped"):
        assert METRICS[name].label in labels, name


def test_the_checks_master_cell_turns_red_when_it_reads_error(tmp_path: Path) -> None:
    """Issue 24: Checks!C3 showed ERROR on a green fill after a recalculation."""
    import openpyxl

    from mhep_model.cli import app
    from tests.conftest import EXAMPLES

    out = tmp_path / "out"
    scenario = EXAMPLES / "e04_cases_amendments" / "scenario.yaml"
    result = CliRunner().invoke(app, ["run", str(scenario), "--xlsx", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(out / "results.xlsx")["Checks"]
    rules = {
        (str(rng.sqref), rule.operator, tuple(rule.formula or ()))
        for rng in ws.conditional_formatting
        for rule in rng.rules
    }
    assert any(r[0] == "C3" and r[1] == "notEqual" and r[2] == ('"OK"',) for r in rules), rules
