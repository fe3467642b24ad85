"""The command line: exit codes, messages, nothing written on bad input, --quiet, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mhep_model import __version__
from mhep_model.cli import app
from tests.conftest import EXAMPLES, MINIMAL, write

runner = CliRunner()
E04 = EXAMPLES / "e04_cases_amendments" / "scenario.yaml"


def test_run_prints_tables_and_writes_csvs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(E04), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Provider minimum reserves" in result.output
    assert "Main flows by contract year: medium" in result.output
    assert "£111,800" in result.output  # money with the currency and thousands separators
    assert "Amendment from month 10" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["monthly.csv", "run.json", "summary.csv"]
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["tool_version"] == __version__
    assert manifest["cases"] == ["low", "medium", "high"]


def test_default_out_dir_is_named_after_the_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, MINIMAL, "mini.yaml")
    result = runner.invoke(app, ["run", str(path), "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "mini" / "summary.csv").exists()


def test_case_and_set_options(tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = runner.invoke(
        app,
        [
            "run",
            str(E04),
            "--case",
            "low",
            "--case",
            "high",
            "--set",
            "provider.costs.staff_fte=4",
            "--out",
            str(out),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = (out / "summary.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in summary[1:]] == ["low", "high"]
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["set"] == {"provider.costs.staff_fte": 4}


def test_outputs_are_identical_between_runs(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert (
            runner.invoke(app, ["run", str(E04), "--out", str(tmp_path / name), "-q"]).exit_code
            == 0
        )
    for file in ("monthly.csv", "summary.csv", "run.json"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


BAD = [
    (
        "rate: 0.5, lag: 1}",
        "rate: 1.3, lag: 1}",
        ":5 stages.engagement.rate: must be between 0 and 1, got 1.3",
    ),
    (
        "cost_per_fte: 30000",
        "cost_per_fte: 3e4",
        ":16 provider.costs.cost_per_fte: must be a number, got text '3e4' (YAML 1.1 reads 3e4 as text",
    ),
    (
        "opening_reserves: 10000",
        "opening_reserve: 10000",
        ":17 provider.opening_reserve: unknown key 'opening_reserve': did you mean 'opening_reserves'?",
    ),
    (
        "paid_by: {council: 1.0}",
        "paid_by: {councel: 1.0}",
        ":12 outcomes.job_start.paid_by.councel: unknown payer 'councel': did you mean 'council'?",
    ),
    (
        "paid_by: {council: 0.8, spv: 0.2}",
        "paid_by: {council: 0.8, spv: 0.3}",
        ":11 outcomes.engagement.paid_by: the shares of the payers active in month 1 (council, spv) sum to 1.1",
    ),
    (
        "lag: [0.5, 0.5]",
        "lag: [0.5, 0.4]",
        ":6 stages.job_start.lag: lag weights must sum to 1, got 0.9",
    ),
    (
        "  spv: {self: true}",
        "  spv: {self: true}\n  spv: {self: false}",
        ":10 payers.spv: duplicate key 'spv' (first at line 9)",
    ),
    (
        "  council: {name: Council, cap: 20000}",
        "  council: &c {name: Council, cap: 20000}\n  other: *c",
        ":9: YAML aliases (*c) are not allowed",
    ),
    (
        "name: Minimal",
        "name: !!python/object/apply:os.getcwd []",
        ":1 name: the tag !!python/object/apply:os.getcwd is not allowed",
    ),
    (
        "start: 2020-01",
        "start: 2020-1",
        ":2 contract.start: must be a month written YYYY-MM (e.g. 2016-04), got text '2020-1'",
    ),
    (
        "investor: {commitment: 50000, equity_share: 0.25}",
        "investor: {equity_share: 0.25}",
        ":19 investor.commitment: is required",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "message"), BAD, ids=[b[2].split(":")[1][2:40] for b in BAD]
)
def test_bad_input_exit_2_one_message_nothing_written(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new))
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {path}{message}"), lines[0]
    assert "Traceback" not in result.output
    assert not out.exists()


def test_case_error_names_the_case(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "cases:\n  low: {stages.job_start.rate: 2}\n")
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == f"error: {path}:21 stages.job_start.rate (case low): must be between 0 and 1, got 2"
    )


def test_amendment_error_names_the_month(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "amendments:\n  - month: 30\n    set: {referrals.scale: 2}\n")
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == f"error: {path}:21 amendments[0].month: must be within the horizon 1..18, got 30"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--case", "nope"], "no case named 'nope'; the cases are base"),
        (["--set", "referrals.scale"], "--set takes PATH=VALUE"),
        (
            ["--set", "referrals.scale=-1"],
            "referrals.scale (from --set referrals.scale): must be 0 or more, got -1",
        ),
        (["--set", "stages.new.rate=0.5"], "there is no stage 'new' in the base"),
        (["--set", "cases.low={}"], "--set cannot change cases"),
    ],
)
def test_bad_options_exit_2(
    minimal_path: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "o"
    result = runner.invoke(app, ["run", str(minimal_path), "--out", str(out), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_missing_file_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "cannot read file" in result.output


def test_unwritable_output_exit_1(minimal_path: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["run", str(minimal_path), "--out", str(blocker / "sub")])
    assert result.exit_code == 1
    assert "cannot write" in result.output


def test_version_and_help() -> None:
    assert runner.invoke(app, ["--version"]).output.strip() == f"mhep-model {__version__}"
    result = runner.invoke(app, ["run", "--help"])
    assert result.exit_code == 0
    assert "--set" in result.output


def test_help_shows_flags_without_a_type() -> None:
    """Issue 13: `--xlsx <bool>` in --help read as if the flag took a value."""
    for command in ("run", "compare", "sweep", "stress", "solve", "explain", "validate", "init"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        for line in result.output.splitlines():
            if any(
                flag in line for flag in ("--xlsx", "--charts", "--quiet", "--diagram", "--force")
            ):
                assert "<bool>" not in line, (command, line)


def test_readme_set_examples_run_on_every_seed_scenario(tmp_path: Path) -> None:
    """Issue 13: the README's --set examples work on the shipped scenarios."""
    import re

    from tests.conftest import ROOT, SCENARIOS

    readme = (ROOT / "README.md").read_text()
    examples = re.findall(r"`--set ((?:referrals|payers)\.[^`]+)`", readme)
    assert examples
    for path in SCENARIOS:
        for example in examples:
            result = runner.invoke(
                app, ["run", str(path), "--set", example, "--out", str(tmp_path / "o"), "-q"]
            )
            assert result.exit_code == 0, (path.name, example, result.output)


HEAVY = ("pandas", "matplotlib", "openpyxl", "xlsxwriter", "scipy", "SALib", "distributed")


@pytest.mark.parametrize(
    "args",
    [["--help"], ["run", "--help"], ["validate", "scenarios/staffordshire.yaml"]],
)
def test_help_and_validate_import_nothing_heavy(args: list[str]) -> None:
    """Issue 15: start-up stays fast because the writers' libraries load only where used."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        "import sys\n"
        "from mhep_model.cli import main\n"
        f"sys.argv = ['mhep-model', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr


def test_a_lag_in_months_past_the_limit_names_the_limit_it_broke(tmp_path: Path) -> None:
    text = (EXAMPLES / "e04_cases_amendments" / "scenario.yaml").read_text()
    bad = write(tmp_path, text.replace("rate: 0.65, lag: 1}", "rate: 0.65, lag: 700}"))
    result = runner.invoke(app, ["run", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "stages.engagement.lag: must be 600 or less, got 700" in result.output
    assert "between 0 and 1" not in result.output
    weights = write(tmp_path, text.replace("rate: 0.65, lag: 1}", "rate: 0.65, lag: [0.5, 1.5]}"))
    result = runner.invoke(app, ["run", str(weights), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "lag[1]: must be between 0 and 1, got 1.5" in result.output


def test_run_on_a_batch_file_points_to_compare(tmp_path: Path) -> None:
    from tests.conftest import ROOT

    batch = ROOT / "scenarios" / "haringey_renegotiations.yaml"
    result = runner.invoke(app, ["run", str(batch), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "haringey_renegotiations.yaml:6 base: this is a batch file" in result.output
    assert "mhep-model compare" in result.output
    assert "did you mean 'cases'" not in result.output and not (tmp_path / "o").exists()


@pytest.mark.parametrize("flag", [["--dask"], ["--scheduler", "tcp://127.0.0.1:1"]])
def test_dask_without_the_extra_says_which_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: list[str]
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    for command in (
        ["stress", str(E04), "--paths", "10"],
        ["sensitivity", str(E04), "--method", "sobol", "--samples", "8"],
    ):
        result = runner.invoke(app, [*command, *flag, "--out", str(tmp_path / "o")])
        assert result.exit_code == 2, result.output
        assert "pip install -e '.[dask]'" in result.output
        assert "Traceback" not in result.output and not (tmp_path / "o").exists()


def test_solve_says_when_widening_the_range_cannot_help(tmp_path: Path) -> None:
    args = ["solve", str(E04), "--vary", "spv.min_cash", "--target", "provider_surplus=1e9"]
    result = runner.invoke(app, [*args, "--case", "medium"])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "does not move with spv.min_cash, so no range reaches it" in text
    assert "widen the range" not in text


def test_sensitivity_help_states_each_default_metric() -> None:
    from mhep_model.api import CONTRACT_METRICS, PORTFOLIO_METRICS

    text = " ".join(runner.invoke(app, ["sensitivity", "--help"]).output.split())
    assert "a tornado ranks provider_surplus and investor_irr, Sobol provider_surplus" in text
    assert CONTRACT_METRICS == {"tornado": ["provider_surplus", "investor_irr"],
                                "sobol": ["provider_surplus"]}  # fmt: skip
    assert "tornado investor_irr and max_funding_gap, its Sobol investor_irr" in text
    assert PORTFOLIO_METRICS == {"tornado": ["investor_irr", "max_funding_gap"],
                                 "sobol": ["investor_irr"]}  # fmt: skip


def test_no_number_is_cut_at_any_width(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import ROOT

    monkeypatch.setenv("COLUMNS", "50")
    enfield = ROOT / "scenarios" / "lcf" / "enfield.yaml"
    result = runner.invoke(app, ["run", str(enfield), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "…" not in result.output and "£620,689" in result.output
    args = ["sweep", str(E04), "--param", "provider.block.annual=0:1000000:500000"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "s")])
    assert result.exit_code == 0 and "…" not in result.output


def test_a_table_too_wide_for_the_terminal_says_so() -> None:
    import io

    from rich.console import Console
    from rich.table import Table

    from mhep_model.cli.common import show

    table = Table()
    for name in ("Measure", "low", "medium", "high"):
        table.add_column(name, justify="left" if name == "Measure" else "right")
    table.add_row("Provider minimum reserves", "-£1,234,567", "£12,345,678", "£123,456,789")
    buf = io.StringIO()
    show(Console(file=buf, width=30, force_terminal=True, color_system=None), table)
    text = buf.getvalue()
    assert "the terminal has 30" in text and "…" not in text and "£123,456,789" in text
