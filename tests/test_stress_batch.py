"""Stressing a batch on common random numbers (issue 23, spec section 9), and the
portfolio-wide referral shock."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import mhep_model
from mhep_model.cli import app
from tests.conftest import ROOT, write
from tests.engine.test_stochastic import UNCERTAIN

runner = CliRunner()
BATCH = """\
name: Terms
base: scenario.yaml
variants:
  signed: {}
  same: {}
  more_block: {set: {provider.block.annual: 24000}}
  more_referrals: {set: {referrals.scale: 1.05}}
"""


def _batch(tmp_path: Path) -> Path:
    write(tmp_path, UNCERTAIN, "scenario.yaml")
    return write(tmp_path, BATCH, "batch.yaml")


def _stress(tmp_path: Path, *extra: str, out: str = "out") -> Path:
    args = ["stress", str(_batch(tmp_path)), "--paths", "600", "--paths-csv", "--out"]
    result = runner.invoke(app, [*args, str(tmp_path / out), "-q", *extra])
    assert result.exit_code == 0, result.output
    return tmp_path / out


def test_identical_variants_give_identical_rows(tmp_path: Path) -> None:
    out = _stress(tmp_path)
    summary = pd.read_csv(out / "stress_summary.csv")
    signed = summary[summary["variant"] == "signed"].drop(columns="variant")
    same = summary[summary["variant"] == "same"].drop(columns="variant")
    pd.testing.assert_frame_equal(signed.reset_index(drop=True), same.reset_index(drop=True))
    paired = pd.read_csv(out / "stress_paired.csv")
    mine = paired[paired["variant"] == "same"]
    assert (mine["mean_difference"].dropna() == 0).all()
    assert (mine["standard_error"].dropna() == 0).all()
    assert (mine["p_better"].dropna() == 0).all()


def test_more_block_is_better_for_the_provider_in_every_path(tmp_path: Path) -> None:
    paired = pd.read_csv(_stress(tmp_path) / "stress_paired.csv").set_index(["variant", "metric"])
    row = paired.loc[("more_block", "provider_surplus")]
    assert row["p_better"] == 1.0
    assert row["mean_difference"] == pytest.approx(12000.0)  # 12,000 more a year, one year
    assert row["standard_error"] == pytest.approx(0.0, abs=1e-6)
    assert paired.loc[("more_block", "investor_multiple"), "p_better"] < 0.05


def test_the_paired_standard_error_is_far_below_the_unpaired(tmp_path: Path) -> None:
    out = _stress(tmp_path)
    paths = pd.read_csv(out / "paths.csv")
    a = paths[paths["variant"] == "signed"]["income"].to_numpy()
    b = paths[paths["variant"] == "more_referrals"]["income"].to_numpy()
    paired = pd.read_csv(out / "stress_paired.csv").set_index(["variant", "metric"])
    se = paired.loc[("more_referrals", "income"), "standard_error"]
    assert se == pytest.approx(np.std(b - a, ddof=1) / np.sqrt(a.size))
    unpaired = np.sqrt(np.var(a, ddof=1) / a.size + np.var(b, ddof=1) / b.size)
    assert se < 0.25 * unpaired
    assert (b >= a - 1e-6).mean() > 0.9  # more referrals, path by path


def test_same_seed_same_bytes_for_any_chunk(tmp_path: Path) -> None:
    one = _stress(tmp_path, "--chunk", "8192", out="a")
    two = _stress(tmp_path, "--chunk", "97", out="b")
    for name in ("stress_summary.csv", "stress_paired.csv", "paths.csv"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_a_variant_alone_draws_the_paths_it_draws_in_the_batch(tmp_path: Path) -> None:
    # more_block shares its people with signed (the same funnel: drawn once in the batch);
    # more_referrals draws its own from the same streams
    out = _stress(tmp_path)
    batch = pd.read_csv(out / "paths.csv")
    for variant, overrides in (
        ("more_referrals", {"referrals.scale": 1.05}),
        ("more_block", {"provider.block.annual": 24000}),
    ):
        alone = mhep_model.stress(
            tmp_path / "scenario.yaml", paths=600, overrides=overrides, keep_paths=True
        ).paths
        assert alone is not None
        mine = batch[batch["variant"] == variant].drop(columns="variant").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone.reset_index(drop=True), check_dtype=False)


def test_the_batch_workbook_and_charts(tmp_path: Path) -> None:
    out = _stress(tmp_path, "--xlsx", "--charts")
    names = sorted(p.name for p in out.iterdir())
    assert "results.xlsx" in names
    assert "paired_provider_surplus.png" in names and "paired_investor_multiple.png" in names


def test_a_batch_with_one_variant_is_refused(tmp_path: Path) -> None:
    write(tmp_path, UNCERTAIN, "scenario.yaml")
    one = write(tmp_path, "name: One\nbase: scenario.yaml\nvariants:\n  a: {}\n", "one.yaml")
    result = runner.invoke(app, ["stress", str(one), "--paths", "10", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "at least two variants" in result.output


def test_a_shared_referral_shock_widens_the_investor_s_spread() -> None:
    pf = ROOT / "scenarios" / "mhep_2016.yaml"

    def spread(cv: float) -> tuple[float, float]:
        done = mhep_model.stress(
            pf, paths=1500, cases="medium", overrides={"uncertainty.common_level_cv": cv}
        )
        s = done.summary.set_index(["metric", "statistic"])["value"]
        return s["investor_multiple", "p95"] - s["investor_multiple", "p5"], s[
            "investor_loses_money", "probability"
        ]

    (narrow, loss0), (wide, loss1) = spread(0.0), spread(0.4)
    assert wide > 1.15 * narrow
    assert loss1 > loss0


def test_a_batch_on_a_dask_cluster_gives_the_same_bytes(tmp_path: Path) -> None:
    from tests.conftest import same_bytes_on_dask

    args = ["stress", str(_batch(tmp_path)), "--paths", "300", "--seed", "2", "-q", "--paths-csv"]
    same_bytes_on_dask(args, tmp_path, ["paths.csv", "stress_summary.csv", "stress_paired.csv"])


def test_a_portfolio_batch_in_words(tmp_path: Path) -> None:
    pf = ROOT / "tests" / "data" / "examples" / "e06_portfolio" / "portfolio.yaml"
    text = f"name: Fee\nbase: {pf}\nvariants:\n  signed: {{}}\n  no_fee: {{set: {{spv.management_fee_annual: 0}}}}\n"
    batch = write(tmp_path, text, "pb.yaml")
    args = ["stress", str(batch), "--paths", "200", "--out", str(tmp_path / "o")]
    result = runner.invoke(app, [*args, "--allow-outside", str(pf.parent)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "no_fee is better for the investor in 100.0% of paths" in text
    assert "no_fee makes no difference to the" in text
    paired = pd.read_csv(tmp_path / "o" / "stress_paired.csv")
    assert {"investor_multiple", "income"} <= set(paired["metric"])


def test_variants_stressed_together_need_the_same_cases() -> None:
    from mhep_model.errors import UsageError
    from mhep_model.scenario import load_yaml, resolve
    from mhep_model.studies.stress import StressOptions, stress_models

    doc = load_yaml(ROOT / "scenarios" / "staffordshire.yaml")
    low, high = resolve(doc, cases=["low"]), resolve(doc, cases=["high"])
    with pytest.raises(UsageError, match="need the same cases"):
        stress_models([low, high], StressOptions(paths=10))
