"""The Python API (issue 20): each function returns the tables the CLI writes, byte for
byte; a scenario may be a path or a mapping; importing the package stays light."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import mhep_model
from mhep_model.cli import app
from mhep_model.errors import ScenarioError, UsageError
from mhep_model.report.writers import write_csv
from mhep_model.scenario import load_yaml
from tests.conftest import MINIMAL, ROOT, write

STAFFORDSHIRE = ROOT / "scenarios" / "staffordshire.yaml"
PORTFOLIO = ROOT / "scenarios" / "mhep_2016.yaml"
RENEGOTIATION = ROOT / "scenarios" / "staffordshire_renegotiations.yaml"
DOC = ROOT / "docs" / "python-api.md"


def csv_text(frame: pd.DataFrame) -> str:
    out = io.StringIO()
    write_csv(frame, out)  # the table as it is: the API's tables are the CSVs' numbers
    return out.getvalue()


def cli(args: list[str], out: Path) -> Path:
    result = CliRunner().invoke(app, [*args, "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return out


def test_run_summary_equals_the_csv_the_cli_writes(tmp_path: Path) -> None:
    """The issue's "done when": mhep_model.run(...).summary equals summary.csv."""
    out = cli(["run", str(STAFFORDSHIRE)], tmp_path / "o")
    result = mhep_model.run(str(STAFFORDSHIRE))
    assert csv_text(result.summary) == (out / "summary.csv").read_text()
    assert csv_text(result.monthly) == (out / "monthly.csv").read_text()
    assert result.variance is None and result.contracts_summary is None
    assert list(result.summary["case"]) == ["low", "medium", "high"]


def test_a_mapping_runs_as_its_file_does(tmp_path: Path) -> None:
    data = load_yaml(write(tmp_path, MINIMAL)).data
    from_file = mhep_model.run(tmp_path / "scenario.yaml", overrides={"referrals.scale": 0.8})
    from_mapping = mhep_model.run(data, overrides={"referrals.scale": 0.8})
    pd.testing.assert_frame_equal(from_file.summary, from_mapping.summary)
    unscaled = mhep_model.run(data)
    assert from_mapping.summary.loc[0, "referrals"] == pytest.approx(
        0.8 * unscaled.summary.loc[0, "referrals"]
    )


def test_bad_input_raises_a_located_error(tmp_path: Path) -> None:
    data = load_yaml(write(tmp_path, MINIMAL)).data
    data["stages"]["engagement"]["rate"] = 1.3
    with pytest.raises(ScenarioError) as caught:
        mhep_model.run(data)
    assert "<mapping>" in str(caught.value)
    assert "stages.engagement.rate" in str(caught.value)
    with pytest.raises(ScenarioError, match="YAML cannot write"):
        mhep_model.run({"name": object()})
    with pytest.raises(UsageError, match="values must be numbers"):
        mhep_model.sweep(data, {"referrals.scale": [0.5, "x"]})


def test_a_portfolio_run_has_its_four_tables(tmp_path: Path) -> None:
    out = cli(["run", str(PORTFOLIO)], tmp_path / "o")
    result = mhep_model.run(PORTFOLIO, cases="medium")
    full = mhep_model.run(PORTFOLIO)
    assert csv_text(full.summary) == (out / "portfolio_summary.csv").read_text()
    assert full.contracts_monthly is not None
    assert csv_text(full.contracts_monthly) == (out / "contracts_monthly.csv").read_text()
    assert list(result.summary["case"]) == ["medium"]
    with pytest.raises(UsageError, match="carry their own"):
        mhep_model.run(PORTFOLIO, actuals="x.csv")


def test_compare_sweep_stress_solve_sensitivity_give_the_cli_tables(tmp_path: Path) -> None:
    out = cli(["compare", str(RENEGOTIATION)], tmp_path / "c")
    compared = mhep_model.compare([RENEGOTIATION])
    assert csv_text(compared.comparison) == (out / "comparison.csv").read_text()
    first = compared.study.labels[0]
    assert (
        csv_text(compared.frames[f"{first}/summary.csv"])
        == (out / first / "summary.csv").read_text()
    )

    param = "provider.block.annual=0:100000:50000"
    out = cli(["sweep", str(STAFFORDSHIRE), "--param", param], tmp_path / "s")
    swept = mhep_model.sweep(STAFFORDSHIRE, {"provider.block.annual": [0, 50000, 100000]})
    assert csv_text(swept.frame) == (out / "sweep.csv").read_text()
    assert swept.notes  # the block is re-set by an amendment from month 18

    args = ["stress", str(STAFFORDSHIRE), "--paths", "500", "--seed", "4", "--paths-csv"]
    out = cli(args, tmp_path / "st")
    stressed = mhep_model.stress(STAFFORDSHIRE, paths=500, seed=4, keep_paths=True)
    assert csv_text(stressed.summary) == (out / "stress_summary.csv").read_text()
    assert stressed.paths is not None
    assert csv_text(stressed.paths) == (out / "paths.csv").read_text()

    out = cli(["sensitivity", str(STAFFORDSHIRE)], tmp_path / "t")
    ranked = mhep_model.sensitivity(STAFFORDSHIRE)
    assert csv_text(ranked.frame) == (out / "sensitivity.csv").read_text()
    assert ranked.metrics == ("provider_surplus", "investor_irr")

    solved = mhep_model.solve(
        STAFFORDSHIRE, "provider.block.annual", "provider_min_reserves=0", cases="medium"
    )
    row = solved.frame.iloc[0]
    assert bool(row["found"]) and row["metric_at_lo"] < 0 < row["metric_at_hi"]
    check = mhep_model.run(
        STAFFORDSHIRE, cases="medium", overrides={"provider.block.annual": row["value"]}
    )
    assert abs(check.summary.loc[0, "provider_min_reserves"]) < 1.0


def test_save_and_to_excel_write_what_the_cli_writes(tmp_path: Path) -> None:
    out = cli(["run", str(STAFFORDSHIRE), "--xlsx"], tmp_path / "cli")
    result = mhep_model.run(STAFFORDSHIRE)
    written = result.save(tmp_path / "api", xlsx=True)
    assert sorted(p.name for p in written) == sorted(p.name for p in out.iterdir())
    for name in ("summary.csv", "monthly.csv"):
        assert (tmp_path / "api" / name).read_bytes() == (out / name).read_bytes()
    book = result.to_excel(tmp_path / "book.xlsx")
    assert book.read_bytes()[:2] == b"PK"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".xlsx-")] == []
    with pytest.raises(ValueError, match="no workbook"):
        mhep_model.api.Result({}, {}, None).to_excel(tmp_path / "x.xlsx")


def test_importing_the_package_or_the_engine_is_light() -> None:
    """``import mhep_model`` loads no numpy or pandas; importing the engine leaves the
    process's allocator alone (only the CLI and the large studies tune it)."""
    code = (
        "import sys, mhep_model\n"
        "assert 'numpy' not in sys.modules and 'pandas' not in sys.modules\n"
        "import mhep_model.engine.heap as heap\n"
        "def boom(): raise SystemExit('tuned on import')\n"
        "heap.retain_freed_memory = boom\n"
        "import mhep_model.engine, mhep_model.api\n"
        "assert callable(mhep_model.run) and 'run' in dir(mhep_model)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_python_api_doc_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``python`` block of docs/python-api.md, in order, in one namespace."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 4
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)  # what the examples write stays in the test's folder
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)


def test_help_imports_no_numpy_and_commands_tune_the_allocator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mhep-model --help`` stays light (the allocator is tuned in the computing commands,
    not at start-up); ``run`` does tune it."""
    code = (
        "import sys\nfrom mhep_model.cli import main\nsys.argv = ['mhep-model', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'numpy' not in sys.modules, 'numpy imported by --help'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    from mhep_model.engine import heap

    calls: list[int] = []
    monkeypatch.setattr(heap, "retain_freed_memory", lambda: calls.append(1) or True)
    cli(["run", str(STAFFORDSHIRE)], tmp_path / "o")
    assert calls == [1]


def test_explain_and_validate_of_each_kind_of_file() -> None:
    """One call for a contract, a portfolio and a batch: the CLI's explain and validate
    are these."""
    told = mhep_model.explain(STAFFORDSHIRE)
    assert told.text[0].startswith("# Staffordshire") and "flowchart" in "\n".join(told.diagram)
    assert mhep_model.explain(PORTFOLIO).text[0].startswith("# ")
    batch = mhep_model.explain(RENEGOTIATION).text
    assert "---" in batch  # the batch's variants, then its base explained
    assert mhep_model.validate(STAFFORDSHIRE) == "3 cases, 1 amendment"
    assert mhep_model.validate(PORTFOLIO).startswith("portfolio of 3 contracts")
    assert mhep_model.validate(RENEGOTIATION).startswith("batch of ")
    with pytest.raises(ScenarioError):
        mhep_model.validate({"name": "x"})
