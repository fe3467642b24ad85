"""mhep-model sensitivity (issue 14, the tornado): values equal separate runs, ranges
from the cases, bad input refused with exit 2 and nothing written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from mhep_model.errors import UsageError
from mhep_model.studies.run import run_scenario
from mhep_model.studies.sensitivity import parse_by, parse_range, tornado
from tests.conftest import ROOT

runner = CliRunner()
STAFFORDSHIRE = ROOT / "scenarios" / "staffordshire.yaml"


def test_tornado_values_equal_separate_runs() -> None:
    ranges = [parse_range("stages.sustainment.rate=0.45:0.7"), parse_range("spv.min_cash=0:40000")]
    result = tornado(STAFFORDSHIRE, ranges=ranges, cases=["medium"])
    for metric in ("provider_surplus", "investor_irr", "provider_min_reserves"):
        values = result.metric(metric)
        for k, r in enumerate(result.ranges):
            for j, value in enumerate((r.lo, r.hi)):
                alone = run_scenario(STAFFORDSHIRE, cases=["medium"], sets=[(r.path, value)])
                assert values[1 + 2 * k + j, 0] == pytest.approx(
                    alone.results.summary[metric][0], rel=1e-9, abs=1e-9
                ), (metric, r.path, value)
        plain = run_scenario(STAFFORDSHIRE, cases=["medium"]).results.summary[metric][0]
        assert values[0, 0] == pytest.approx(plain, rel=1e-12)


def test_default_ranges_are_the_spread_of_the_cases() -> None:
    result = tornado(STAFFORDSHIRE)
    spans = {r.path: (r.lo, r.hi, r.source) for r in result.ranges}
    assert spans == {
        "referrals.scale": (0.6, 1.2, "cases"),
        "stages.job_start.rate": (0.2, 0.4, "cases"),
    }
    varied = tornado(STAFFORDSHIRE, vary=["provider.costs.cost_per_fte"], by=parse_by("10%"))
    (r,) = varied.ranges
    assert (r.lo, r.hi) == pytest.approx((27000 * 0.9, 27000 * 1.1))
    share = tornado(STAFFORDSHIRE, vary=["stages.engagement.rate"], by=parse_by("100%"))
    assert share.ranges[0].hi == 1.0  # kept within the format's bounds


def test_cli_ranks_inputs_and_writes_csv_chart_and_workbook(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["sensitivity", str(STAFFORDSHIRE), "--vary", "provider.costs.cost_per_fte"]
    result = runner.invoke(app, [*args, "--out", str(out), "--charts", "--xlsx"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out / "sensitivity.csv")
    for _, rows in frame.groupby(["case", "metric"]):
        assert rows["swing"].tolist() == sorted(rows["swing"], reverse=True)
        assert rows["rank"].tolist() == list(range(1, len(rows) + 1))
    assert {"tornado_provider_surplus.png", "tornado_investor_irr.png", "results.xlsx"} <= {
        p.name for p in out.iterdir()
    }
    assert "the cost of a member of staff (a year)" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--range", "referrals.scale=1.2:0.6"], "needs LO <= HI"),
        (["--vary", "provider.name"], "not a number"),
        (["--metric", "provider_surplu"], "did you mean provider_surplus"),
        (["--vary", "referrals.scale", "--by", "lots"], "--by takes"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["sensitivity", str(STAFFORDSHIRE), *args, "--out", str(out)])
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_a_portfolio_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    portfolio = ROOT / "scenarios" / "portfolios" / "mhep_2016.yaml"
    result = runner.invoke(app, ["sensitivity", str(portfolio), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "not a portfolio" in result.output and "unknown key" not in result.output


def test_parse_range_errors() -> None:
    with pytest.raises(UsageError):
        parse_range("referrals.scale")
    with pytest.raises(UsageError):
        parse_range("referrals.scale=a:b")


def test_sobol_indices_of_an_additive_metric_are_known() -> None:
    """Provider costs = staff + 3 years x fixed_annual + mobilisation: with fixed_annual
    over 0..20,000 (a 60,000 spread over the term) and mobilisation over 0..60,000, each
    carries half the variance and nothing else: S1 = ST = 0.5, within the intervals."""
    from mhep_model.studies.sobol import sobol

    ranges = [
        parse_range("provider.costs.fixed_annual=0:20000"),
        parse_range("provider.costs.mobilisation=0:60000"),
        parse_range("spv.management_fee_annual=0:80000"),  # not a provider cost: 0
    ]
    result = sobol(STAFFORDSHIRE, ranges=ranges, cases=["medium"], samples=512)
    assert result.evaluations == 512 * 5
    found = result.indices("provider_costs")["medium"]
    for i, want in enumerate((0.5, 0.5, 0.0)):
        for key in ("S1", "ST"):
            assert abs(found[key][i] - want) <= found[f"{key}_conf"][i] + 0.02, (key, i)
    fee = result.indices("management_fee")["medium"]
    assert fee["S1"][2] == pytest.approx(1.0, abs=fee["S1_conf"][2] + 0.02)


def test_sobol_cli_writes_indices_and_refuses_a_size_that_is_not_a_power_of_two(
    tmp_path: Path,
) -> None:
    args = ["sensitivity", str(STAFFORDSHIRE), "--method", "sobol", "--case", "medium"]
    args += ["--vary", "provider.costs.cost_per_fte", "--vary", "stages.engagement.rate"]
    bad = runner.invoke(app, [*args, "--samples", "1000", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2
    assert "power of two" in bad.output and "use 512 or 1,024" in bad.output
    assert not (tmp_path / "x").exists()
    out = tmp_path / "out"
    result = runner.invoke(
        app, [*args, "--samples", "128", "--out", str(out), "--xlsx", "--charts"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "sobol_provider_surplus.png").stat().st_size > 10_000
    frame = pd.read_csv(out / "sobol.csv")
    assert set(frame["path"]) == {"provider.costs.cost_per_fte", "stages.engagement.rate"}
    assert frame["evaluations"].iloc[0] == 128 * 4
    assert frame.sort_values("rank")["path"].iloc[0] == "provider.costs.cost_per_fte"
    assert "Sobol indices of provider_surplus" in " ".join(result.output.split())
    again = runner.invoke(app, [*args, "--samples", "128", "--out", str(tmp_path / "b"), "-q"])
    assert again.exit_code == 0
    assert (tmp_path / "b" / "sobol.csv").read_bytes() == (out / "sobol.csv").read_bytes()
