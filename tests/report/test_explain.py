"""explain mentions every payer, outcome and amendment; the diagram too."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from mhep_model.report.prose import phrase
from mhep_model.scenario import load
from tests.conftest import CONTRACT_EXAMPLES, SCENARIOS

runner = CliRunner()


@pytest.mark.parametrize(
    "path",
    [*SCENARIOS, *CONTRACT_EXAMPLES],
    ids=lambda p: p.parent.name if p.name == "scenario.yaml" else p.stem,
)
def test_explain_mentions_every_payer_outcome_and_amendment(path: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["explain", str(path), "--diagram", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    sc = load(path).base
    for name, payer in sc.payers.items():
        assert (payer.name or name) in text
    for outcome in sc.outcomes:
        assert outcome in text
    for amendment in sc.amendments:
        assert f"From month {amendment.month}" in text
        for key in [*amendment.set_, *amendment.scale]:
            payers = {k: p.name or k for k, p in sc.payers.items()}
            assert phrase(key, payers)[0] in text  # in words, not as a dotted path
            assert key not in text
    diagram = (tmp_path / "flows.md").read_text()
    assert diagram.count("```mermaid") == 1
    for name, payer in sc.payers.items():
        if not payer.self_:
            assert f"P_{name}" in diagram
    for amendment in sc.amendments:
        assert f"From month {amendment.month}" in diagram


def test_explain_a_batch_file_and_an_amended_block() -> None:
    """Issue 13: explain on a batch file; the Tower Hamlets block ends at month 7."""
    from tests.conftest import ROOT

    result = runner.invoke(
        app, ["explain", str(ROOT / "scenarios/tower_hamlets_renegotiations.yaml")]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "4 variants of tower_hamlets.yaml" in text
    assert "as_signed" in text and "job_starts_2017" in text
    assert (
        "A block of £160,000 a year (£13,333 a month) in months 1-6, then none in months 7-36"
        in text
    )
