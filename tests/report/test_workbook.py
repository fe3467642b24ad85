"""The model workbook of ``run``: live formulas that recalculate to the engine's figures,
a Checks sheet whose master check is OK on every shipped scenario, FAST-style layout."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from tests.conftest import EXAMPLES, SHIPPED_PORTFOLIOS, SHIPPED_SCENARIOS
from tests.report.libreoffice import Sheets, number, recalculate

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
E04 = EXAMPLES / "e04_cases_amendments" / "scenario.yaml"
_EPOCH = dt.datetime(1899, 12, 30)


def _book(tmp_path: Path, scenario: Path, *extra: str) -> Path:
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out), "--xlsx", "-q", *extra])
    assert result.exit_code == 0, result.output
    return out


def _cached(value: object) -> object:
    return (value - _EPOCH).days if isinstance(value, dt.datetime) else value


def _every_number_matches(path: Path, sheets: Sheets) -> int:
    """Every numeric cell of ``path`` as written (imports, and formulas' cached engine
    values) equals LibreOffice's recalculation of it; returns how many were compared."""
    book = openpyxl.load_workbook(path, data_only=True)
    compared = 0
    for ws in book.worksheets:
        rows = sheets[ws.title]
        for r, row in enumerate(ws.iter_rows()):
            for j, cell in enumerate(row):
                if isinstance(cell.value, bool) or not isinstance(cell.value, int | float):
                    continue
                if cell.is_date or r >= len(rows) or j >= len(rows[r]):
                    continue
                got = number(rows[r][j])
                assert got == pytest.approx(cell.value, rel=1e-9, abs=1e-6), (ws.title, cell)
                compared += 1
    assert sheets["Checks"][2][2] == "OK"  # the master check, recalculated
    return compared


V3_EXAMPLES = [
    EXAMPLES / e / "scenario.yaml"
    for e in ("e09_grants_opening_evidence", "e10_service_stop", "e11_spv_cash")
]


def test_every_formula_recalculates_to_the_engines_value(tmp_path: Path) -> None:
    """Issue 24: tariffs, shares, caps, settlement, the provider's terms and the SPV's
    waterfall are live formulas; LibreOffice recalculates every one of them to the
    engine's figure (cases, amendments, v3 terms, portfolios with shared caps)."""
    # the shipped Staffordshire and MHEP 2016 workbooks are recalculated by the next test
    scenarios = [E04, *V3_EXAMPLES, EXAMPLES / "e06_portfolio" / "portfolio.yaml"]
    books = [_book(tmp_path / str(k), s) / "results.xlsx" for k, s in enumerate(scenarios)]
    for path, sheets in zip(books, recalculate(books, tmp_path / "lo"), strict=True):
        assert _every_number_matches(path, sheets) > 500, path
    cached = openpyxl.load_workbook(books[0], data_only=True)
    # the cached values are the engine's: the Calc sheets hold monthly.csv's figures
    monthly = pd.read_csv(books[0].parent / "monthly.csv")
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
    formulas = [
        c
        for row in openpyxl.load_workbook(books[0])["Calc medium"].iter_rows(min_row=6)
        for c in row
    ]
    share = sum(c.data_type == "f" for c in formulas) / sum(c.value is not None for c in formulas)
    assert share > 0.8  # a model, not a record: most cells are formulas


@pytest.mark.parametrize("scenario", SHIPPED_SCENARIOS + SHIPPED_PORTFOLIOS, ids=lambda p: p.stem)
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
        "As run",
        "Checks",
    ]
    for ws in book.worksheets[1:]:
        assert ws["B2"].value == "=Checks!$C$3", ws.title  # master check on every sheet
        assert ws.print_title_rows == "$5:$5", ws.title
        if ws.title.startswith("Calc"):
            # issue 24: 60-odd columns fitted to one page were unreadable; print at a
            # readable scale, month and period repeated on every page
            assert not ws.sheet_properties.pageSetUpPr.fitToPage
            assert ws.page_setup.scale == 55 and ws.print_title_cols == "$A:$B"
        elif ws.title != "As run":
            assert ws.tables, f"{ws.title} has no Excel Table"
            assert ws.sheet_properties.pageSetUpPr.fitToPage  # one page wide
            assert ws.page_setup.fitToHeight == 0
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


def _edited(path: Path, out: Path, edits: dict[tuple[str, str], float]) -> Path:
    """A copy of ``path`` with Inputs cells (path, case) multiplied or set, as a user would
    edit them."""
    book = openpyxl.load_workbook(path)
    ws = book["Inputs"]
    cases = [c.value for c in ws[5]]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=6)}
    for (key, case), value in edits.items():
        rows[key][cases.index(case)].value = value
    book.save(out)
    return out


def _outputs(sheets: Sheets) -> dict[str, list[float | None]]:
    return {row[0]: [number(x) for x in row[1:4]] for row in sheets["Outputs"][5:] if row}


def test_edited_inputs_reprice_the_model_and_switch_the_engine_comparison_off(
    tmp_path: Path,
) -> None:
    """Issue 24: doubling a tariff, raising the loan rate from 8% to 20% or cutting a cap on
    Inputs moved nothing after a recalculation; now income and the investor's results move
    (a contract and a portfolio), the Checks sheet says the engine comparison is off, the
    integrity checks stay live and turn the master check red when a formula is broken."""
    single = _book(tmp_path / "s", ROOT / "scenarios" / "staffordshire.yaml") / "results.xlsx"
    pf = _book(tmp_path / "p", ROOT / "scenarios" / "mhep_2016.yaml") / "results.xlsx"
    engine = {
        "s": {
            r[0].value: [c.value for c in r[1:4]]
            for r in openpyxl.load_workbook(single, data_only=True)["Outputs"].iter_rows(min_row=6)
        },
        "p": {
            r[0].value: [c.value for c in r[1:4]]
            for r in openpyxl.load_workbook(pf, data_only=True)["Outputs"].iter_rows(min_row=6)
        },
    }
    edits = {
        ("outcomes.engagement.tariff", "medium"): 2000.0,  # was 1,000
        ("investor.loan_rate", "low"): 0.2,
        ("payers.sof.cap", "high"): 100000.0,
    }
    a = _edited(single, tmp_path / "a.xlsx", edits)
    broken = openpyxl.load_workbook(single)
    calc = broken["Calc medium"]
    j = [c.value for c in calc[5]].index("Drawdown")
    calc.cell(row=10, column=j + 1).value = 10_000_000  # a formula overwritten by hand
    broken.save(tmp_path / "b.xlsx")
    c = _edited(
        pf,
        tmp_path / "c.xlsx",
        {
            ("contracts.staffordshire.outcomes.engagement.tariff", "medium"): 2000.0,
            ("investor.loan_rate", "low"): 0.2,
            ("shared_payers.sof.cap", "high"): 300000.0,
        },
    )
    got_a, got_b, got_c = recalculate([a, tmp_path / "b.xlsx", c], tmp_path / "lo")
    for got, key in ((got_a, "s"), (got_c, "p")):
        out, before = _outputs(got), engine[key]
        assert out["Income to the SPV"][1] > before["Income to the SPV"][1] + 50_000
        assert out["Income to the SPV"][2] < before["Income to the SPV"][2] - 100_000
        assert out["Loan loss"][0] > before["Loan loss"][0] + 1_000
        checks = got["Checks"]
        assert checks[2][2] == "OK" and checks[3][2] == "3"
        assert checks[3][3] == "inputs edited: engine comparison off"
        tests = {row[5] for row in checks[5:] if row and row[0]}
        assert "off: inputs edited" in tests and "at most" in tests
    paid = _outputs(got_a)["  paid by Social Outcomes Fund"][2]
    assert paid is not None and paid <= 100000 + 1e-6
    assert got_b["Checks"][2][2] == "ERROR"  # the commitment and cash identities fail
    failed = {row[1] for row in got_b["Checks"][5:] if row and row[6] == "1"}
    assert "The investor draws no more than its commitment" in failed
