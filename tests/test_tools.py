"""init, validate and schema; the docs kept in step with --help."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
import yaml
from typer.testing import CliRunner

from mhep_model.cli import app
from mhep_model.scenario.schema import scenario_json_schema
from tests.conftest import (
    CONTRACT_EXAMPLES,
    EXAMPLES,
    MINIMAL,
    ROOT,
    SCENARIOS,
    SHIPPED_BATCHES,
    SHIPPED_PORTFOLIOS,
    write,
)

runner = CliRunner()


def test_init_writes_a_scenario_that_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init", "mycontract"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "mycontract.yaml").exists() and (
        tmp_path / "mhep-scenario.schema.json"
    ).exists()
    assert runner.invoke(app, ["validate", "mycontract.yaml"]).exit_code == 0
    run = runner.invoke(app, ["run", "mycontract.yaml", "-q"])
    assert run.exit_code == 0, run.output
    again = runner.invoke(app, ["init", "mycontract"])
    assert again.exit_code == 2 and "exists" in again.output
    assert runner.invoke(app, ["init", "mycontract", "--force"]).exit_code == 0


def test_validate_exit_codes(tmp_path: Path) -> None:
    good = write(tmp_path, MINIMAL, "good.yaml")
    bad = write(tmp_path, MINIMAL.replace("rate: 0.5", "rate: 5"), "bad.yaml")
    ok = runner.invoke(app, ["validate", str(good), *map(str, SCENARIOS)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.count("ok ") == 1 + len(SCENARIOS)
    result = runner.invoke(app, ["validate", str(good), str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml:5 stages.engagement.rate: must be between 0 and 1, got 5" in result.output
    assert runner.invoke(app, ["validate", *map(str, SHIPPED_BATCHES)]).exit_code == 0


def _schema_validator() -> jsonschema.Draft202012Validator:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema == json.loads(json.dumps(scenario_json_schema()))
    return jsonschema.Draft202012Validator(schema)


def test_schema_accepts_every_scenario() -> None:
    validator = _schema_validator()
    files = [*SCENARIOS, *CONTRACT_EXAMPLES]
    for path in files:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], (path, errors[:1])


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("rate: 0.5", "rate: 1.3"),
        ("cost_per_fte: 30000", "cost_per_fte: 3e4"),
        ("opening_reserves: 10000", "opening_reserve: 10000"),
        ("start: 2020-01", "start: 2020-1"),
        ("investor: {commitment: 50000, equity_share: 0.25}", "investor: {equity_share: 0.25}"),
    ],
)
def test_schema_rejects_bad_input(old: str, new: str) -> None:
    validator = _schema_validator()
    data = yaml.safe_load(MINIMAL.replace(old, new))
    assert list(validator.iter_errors(data)) != []


def _commands() -> dict[str, Any]:
    group: Any = typer.main.get_command(app)
    return dict(group.commands)


def test_readme_documents_every_command_and_option() -> None:
    readme = (ROOT / "README.md").read_text()
    sections = re.split(r"\n## ", readme)
    for name, command in _commands().items():
        section = next(
            (
                s
                for s in sections
                if f"mhep-model {name}`" in s.split("\n")[0] or f"`{name}`" in s.split("\n")[0]
            ),
            None,
        )
        assert section is not None, f"README has no section for {name}"
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help":
                    assert opt in section, f"README section for {name} does not mention {opt}"


def test_glossary_defines_every_output_column(tmp_path: Path) -> None:
    glossary = (ROOT / "docs" / "glossary.md").read_text()
    out = tmp_path / "o"
    assert (
        runner.invoke(
            app,
            ["run", str(EXAMPLES / "e02_payers_caps" / "scenario.yaml"), "--out", str(out), "-q"],
        ).exit_code
        == 0
    )
    stages = {"engagement", "job_start", "sustain_26w"}
    for name in ("summary.csv", "monthly.csv"):
        header = (out / name).read_text().splitlines()[0].split(",")
        for col in header:
            generic = re.sub(r"^(paid|capped)_\w+$", r"\1_<payer>", col)
            generic = "<stage>" if col in stages else generic
            generic = re.sub(r"^\w+\[\w+\]$", "<stage>[<band>]", generic)
            assert f"| {generic} |" in glossary, f"{name}: {col} is not in docs/glossary.md"


def test_validate_lists_every_error_in_the_file(tmp_path: Path) -> None:
    """Three mistakes in three places: all three reported, each with its line (issue 13)."""
    text = (ROOT / "scenarios" / "staffordshire.yaml").read_text()
    text = text.replace("rate: 0.70 ", "rate: 1.70 ").replace(
        "term_months: 36 ", "term_monhts: 36 "
    )
    text = text.replace("tariff: 1000 ", "tariff: lots ")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = CliRunner().invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 3, result.output
    assert re.search(r"bad.yaml:\d+ contract.term_monhts: unknown key .*'term_months'", errors[0])
    assert re.search(r"bad.yaml:\d+ stages.engagement.rate: must be between 0 and 1", errors[1])
    assert re.search(r"bad.yaml:\d+ outcomes.engagement.tariff: must be a number", errors[2])
    assert "term_months: required" not in result.output  # the typo names it already


def test_schema_accepts_portfolios_and_batches_and_enforces_every_bound() -> None:
    """Issue 24: portfolio and batch files failed the schema, and 22 bounds were under
    keywords validators ignore (``lag: 9999`` passed)."""
    validator = _schema_validator()
    for path in SHIPPED_PORTFOLIOS + SHIPPED_BATCHES:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], (path, errors[:1])
    text = json.dumps(scenario_json_schema())
    for keyword in ('"le"', '"ge"', '"lt"', '"gt"', '"max_length"', '"min_length"'):
        assert keyword not in text, keyword
    for bad in ("lag: 1}", "lag: 9999}"):
        data = yaml.safe_load(MINIMAL.replace("lag: 1}", bad))
        assert (list(validator.iter_errors(data)) != []) == (bad == "lag: 9999}")
