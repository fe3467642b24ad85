"""The spec's worked examples (copied into tests/data/examples), matched to the penny."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from tests.conftest import EXAMPLE_DIRS, differences


@pytest.mark.parametrize("example", EXAMPLE_DIRS, ids=lambda p: p.name)
def test_example_matches_expected_csvs(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["run", str(example / "scenario.yaml"), "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert (
        differences(example / "expected" / "monthly.csv", out / "monthly.csv", ["case", "month"])
        == []
    )
    assert differences(example / "expected" / "summary.csv", out / "summary.csv", ["case"]) == []


def test_examples_are_all_here() -> None:
    assert [p.name for p in EXAMPLE_DIRS] == [
        "e01_funnel",
        "e02_payers_caps",
        "e03_spv_sweep",
        "e04_cases_amendments",
    ]
