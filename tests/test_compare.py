"""compare and batch files: each row equals the same scenario run alone, to the penny."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from mhep_model.errors import ScenarioError, UsageError
from mhep_model.report.compare import comparison_summary
from mhep_model.report.frames import run_summary
from mhep_model.scenario.paths import allow_outside
from mhep_model.studies.compare import compare
from mhep_model.studies.run import run_scenario
from tests.conftest import EXAMPLES, MINIMAL, SHIPPED_BATCHES, differences, write

runner = CliRunner()
E04 = (EXAMPLES / "e04_cases_amendments" / "scenario.yaml").read_text()

BATCH = """\
name: terms
base: e04.yaml
variants:
  as_written: {}
  no_reset: {base_amendments: drop}
  more_block:
    set: {provider.block.annual: 30000, spv.min_cash: 2000}
  later_cut:
    amendments:
      - month: 20
        note: a later cut
        set: {outcomes.engagement.tariff: 600}
"""


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if x.dtype.kind in "fi":
            assert np.allclose(x.astype(float), y.astype(float), rtol=0, atol=0, equal_nan=True), (
                col
            )
        else:
            assert (x == y).all() or all(
                (isinstance(u, float) and math.isnan(u) and isinstance(v, float) and math.isnan(v))
                or u == v
                for u, v in zip(x, y, strict=True)
            ), col


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    write(tmp_path, E04, "e04.yaml")
    return write(tmp_path, BATCH, "terms.yaml")


def test_batch_rows_equal_separate_runs(batch: Path, tmp_path: Path) -> None:
    result = compare([batch])
    assert result.labels == ("as_written", "no_reset", "more_block", "later_cut")
    assert len(result.runs) == 1  # all variants x cases in one vectorised batch
    assert result.runs[0].inputs.rows == 12
    summary = comparison_summary(result)

    def rows(label: str) -> pd.DataFrame:
        return summary[summary["variant"] == label].drop(columns="variant").reset_index(drop=True)

    alone = run_summary(run_scenario(tmp_path / "e04.yaml"))
    _frames_equal(rows("as_written"), alone)
    no_reset = E04[: E04.index("amendments:")]
    _frames_equal(rows("no_reset"), run_summary(run_scenario(write(tmp_path, no_reset, "a.yaml"))))
    more_block = run_summary(
        run_scenario(
            tmp_path / "e04.yaml", sets=[("provider.block.annual", 30000), ("spv.min_cash", 2000)]
        )
    )
    _frames_equal(rows("more_block"), more_block)
    later = (
        E04 + "  - month: 20\n    note: a later cut\n    set: {outcomes.engagement.tariff: 600}\n"
    )
    _frames_equal(rows("later_cut"), run_summary(run_scenario(write(tmp_path, later, "b.yaml"))))


def test_scenario_files_compared_by_stem(tmp_path: Path) -> None:
    a = write(tmp_path, MINIMAL, "signed.yaml")
    b = write(
        tmp_path, MINIMAL.replace("block: {annual: 12000}", "block: {annual: 18000}"), "reset.yaml"
    )
    result = compare([a, b])
    assert result.labels == ("signed", "reset")
    summary = comparison_summary(result)
    alone = run_summary(run_scenario(b))
    _frames_equal(
        summary[summary["variant"] == "reset"].drop(columns="variant").reset_index(drop=True), alone
    )


def test_different_structures_run_as_separate_batches(tmp_path: Path) -> None:
    a = write(tmp_path, MINIMAL, "a.yaml")
    extra = MINIMAL.replace("  spv: {self: true}", "  spv: {self: true}\n  fund: {name: Fund}")
    b = write(tmp_path, extra, "b.yaml")
    result = compare([a, b])
    assert len(result.runs) == 2
    assert "paid_fund" in comparison_summary(result).columns


def test_cases_must_match(tmp_path: Path) -> None:
    a = write(tmp_path, MINIMAL + "cases:\n  low: {}\n  high: {}\n", "a.yaml")
    b = write(tmp_path, MINIMAL + "cases:\n  low: {}\n  mid: {}\n", "b.yaml")
    with pytest.raises(
        UsageError, match=r"a \(.*a.yaml\) has no case mid; b \(.*b.yaml\) has no case high"
    ):
        compare([a, b])


def test_a_single_scenario_is_not_a_comparison(minimal_path: Path) -> None:
    with pytest.raises(UsageError, match="at least two"):
        compare([minimal_path])


@pytest.mark.parametrize(
    ("variants", "line", "message"),
    [
        ("  bad: {sett: {}}\n", 4, "unknown key 'sett': did you mean 'set'?"),
        (
            "  bad: {set: {provider.block.annual: -5}}\n",
            4,
            "provider.block.annual (variant bad): must be 0 or more",
        ),
        ("  bad: {set: {stages.new.rate: 0.5}}\n", 4, "there is no stage 'new' in the base"),
        (
            "  bad:\n    amendments:\n      - month: 5\n        set: {provider.costs.mobilisation: 1}\n",
            7,
            "variants.bad.amendments[0].set.provider.costs.mobilisation (variant bad): 'provider.costs.mobilisation' cannot be amended",
        ),
        (
            "  bad:\n    amendments:\n      - month: 99\n        set: {referrals.scale: 1}\n",
            6,
            "within the horizon 1..30, got 99",
        ),
    ],
)
def test_bad_variants_name_batch_file_variant_and_line(
    tmp_path: Path, variants: str, line: int, message: str
) -> None:
    write(tmp_path, E04, "e04.yaml")
    path = write(tmp_path, "base: e04.yaml\nvariants:\n  ok: {}\n" + variants, "terms.yaml")
    with pytest.raises(ScenarioError) as info:
        compare([path])
    err = info.value
    assert err.file == str(path)
    assert err.line == line
    assert message in str(err)
    assert "variant bad" in str(err)


def test_missing_base_file(tmp_path: Path) -> None:
    path = write(tmp_path, "base: nowhere.yaml\nvariants:\n  a: {}\n  b: {}\n", "terms.yaml")
    with pytest.raises(ScenarioError, match=r"the base scenario nowhere\.yaml") as info:
        compare([path])
    assert info.value.line == 1


def test_cli_compare_writes_tidy_and_per_variant_files(batch: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["compare", str(batch), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Case low: as_written against the others" in result.output
    assert "provider gains" in result.output or "provider loses" in result.output
    tidy = pd.read_csv(out / "comparison.csv")
    assert list(tidy.columns) == ["variant", "case", "metric", "value", "delta"]
    assert set(tidy["variant"]) == {"as_written", "no_reset", "more_block", "later_cut"}
    first = tidy[tidy["variant"] == "as_written"]
    assert (first["delta"].fillna(0) == 0).all()
    row = tidy[
        (tidy["variant"] == "more_block")
        & (tidy["case"] == "medium")
        & (tidy["metric"] == "provider_revenue")
    ]
    # the delta against separate runs of the two variants' terms (not the table's own values)
    e04 = batch.parent / "e04.yaml"
    signed = run_summary(run_scenario(e04)).set_index("case")
    more = run_summary(
        run_scenario(e04, sets=[("provider.block.annual", 30000), ("spv.min_cash", 2000)])
    ).set_index("case")
    expected = more.loc["medium", "provider_revenue"] - signed.loc["medium", "provider_revenue"]
    assert expected > 0
    assert row["delta"].iloc[0] == pytest.approx(expected, rel=1e-12)
    alone = tmp_path / "alone"
    assert (
        runner.invoke(app, ["run", str(tmp_path / "e04.yaml"), "--out", str(alone), "-q"]).exit_code
        == 0
    )
    for name in ("summary.csv", "monthly.csv"):
        keys = ["case"] if name == "summary.csv" else ["case", "month"]
        assert differences(alone / name, out / "as_written" / name, keys) == []


def test_cli_compare_bad_input_exit_2_nothing_written(tmp_path: Path) -> None:
    write(tmp_path, E04, "e04.yaml")
    path = write(
        tmp_path, "base: e04.yaml\nvariants:\n  a: {}\n  b: {set: {referrals.scale: x}}\n", "t.yaml"
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["compare", str(path), "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.startswith(
        f"error: {path}:4 referrals.scale (variant b): must be a number"
    )
    assert not out.exists()


def test_renegotiation_batches_run() -> None:
    assert len(SHIPPED_BATCHES) == 3
    for path in SHIPPED_BATCHES:
        result = compare([path])
        assert result.case_names == ("low", "medium", "high")
        assert result.labels[0] == "as_signed"
        assert len(result.runs) == 1


def test_payers_are_matched_by_who_they_are_not_by_key(tmp_path: Path) -> None:
    """Issue 13, defect 1: two councils both keyed `commissioner` are two payers."""
    from typer.testing import CliRunner

    from mhep_model.cli import app
    from tests.conftest import ROOT, read_csv

    out = tmp_path / "out"
    files = [str(ROOT / "scenarios" / f"{n}.yaml") for n in ("staffordshire", "tower_hamlets")]
    result = CliRunner().invoke(
        app, ["compare", *files, "--case", "medium", "--out", str(out), "--xlsx"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Staffordshire County Council: a payer in staffordshire only" in text
    assert "Tower Hamlets CCG: a payer in tower_hamlets only" in text
    comparison = read_csv(out / "comparison.csv")
    metrics = {row["metric"] for row in comparison}
    assert "paid_commissioner (Staffordshire County Council)" in metrics
    assert "paid_commissioner (Tower Hamlets CCG)" in metrics
    th = [
        r
        for r in comparison
        if r["variant"] == "tower_hamlets"
        and r["metric"] == "paid_commissioner (Staffordshire County Council)"
    ]
    assert th and th[0]["value"] == ""


def test_residues_are_written_as_zero(tmp_path: Path) -> None:
    """Issue 13: 1e-11 residues of the cap arithmetic are 0 in the CSVs."""
    import pandas as pd

    from mhep_model.report.writers import without_residues

    frame = without_residues(
        pd.DataFrame({"a": [1.8e-12, -3e-11, 2.0, float("nan")], "b": ["x", "y", "z", "w"]})
    )
    assert frame["a"].tolist()[:3] == [0.0, 0.0, 2.0]


SIX = """\
name: Six blocks for {stem}
base: {base}
variants:
  b0: {{name: No block, set: {{provider.block.annual: 0}}}}
  b30: {{name: Block 30k, set: {{provider.block.annual: 30000}}}}
  b60: {{name: Block 60k as signed}}
  b90: {{name: Block 90k, set: {{provider.block.annual: 90000}}}}
  b120: {{name: Block 120k, set: {{provider.block.annual: 120000}}}}
  b150: {{name: Block 150k, set: {{provider.block.annual: 150000}}}}
"""


def test_batch_names_are_shown_and_six_variants_chart_as_small_multiples(tmp_path: Path) -> None:
    """Issue 13, defect 5: a batch's title and its variants' names reach the tables and the
    charts; 6 variants x 3 cases draw one panel per case, a colour per variant."""
    from mhep_model.report.compare_charts import variant_styles

    base = Path(__file__).resolve().parents[1] / "scenarios" / "staffordshire.yaml"
    batch = tmp_path / "six.yaml"
    batch.write_text(SIX.format(stem="Staffordshire", base=base))
    with allow_outside(base):  # the base is outside the batch's folder
        result = compare([batch])
    assert result.heading == "Six blocks for Staffordshire"
    assert result.title_of("b60") == "Block 60k as signed"
    out = tmp_path / "out"
    allowed = ["--allow-outside", str(base)]
    cli = runner.invoke(
        app, ["compare", str(batch), "--case", "low", "--charts", "--out", str(out), *allowed]
    )
    assert cli.exit_code == 0, cli.output
    text = " ".join(cli.output.split())
    assert "Six blocks for Staffordshire: Case low" in text
    assert "No block" in text and "Block 150k" in text
    for name in ("spv_cash_and_investor_exposure.png", "provider_reserves.png", "funnel.png"):
        assert (out / name).stat().st_size > 20_000
    colours = [s["color"] for s in variant_styles([f"v{i}" for i in range(6)]).values()]
    assert len(set(colours)) == 6  # never a colour twice among six variants
