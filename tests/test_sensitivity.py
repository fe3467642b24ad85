"""mhep-model sensitivity (issue 14, the tornado): values equal separate runs, ranges
from the cases, bad input refused with exit 2 and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from mhep_model.errors import UsageError
from mhep_model.studies.run import run_scenario
from mhep_model.studies.sensitivity import parse_by, parse_range, tornado
from tests.conftest import ROOT, same_bytes_on_dask

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


def test_default_ranges_are_the_spread_of_the_cases_and_every_key_input() -> None:
    """Issue 24: the default tornado ranged only the 2 inputs Staffordshire's cases move;
    now the cases' spread and every key input (volume, rates, tariffs, block, staffing,
    share of tariff, fee, loan rate) moved by 20%."""
    result = tornado(STAFFORDSHIRE)
    spans = {r.path: (r.lo, r.hi, r.source) for r in result.ranges}
    assert spans["referrals.scale"] == (0.6, 1.2, "cases")
    assert spans["stages.job_start.rate"] == (0.2, 0.4, "cases")
    key = "±20% (key input)"
    assert spans["stages.engagement.rate"] == pytest.approx((0.56, 0.84, key))
    assert spans["outcomes.job_start.tariff.over_16"] == pytest.approx((1080, 1620, key))
    for path in (
        "stages.sustainment.rate",
        "provider.block.annual",
        "provider.costs.staff_fte",
        "provider.costs.cost_per_fte",
        "provider.outcome_payments.share_of_tariff",
        "spv.management_fee_annual",
        "investor.loan_rate",
    ):
        assert spans[path][2] == key, path
    assert len(spans) >= 15
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


PORTFOLIO = ROOT / "scenarios" / "mhep_2016.yaml"


def test_a_portfolio_tornado_equals_separate_portfolio_runs(tmp_path: Path) -> None:
    """Ranges default to every contract's cases, as contracts.<name>.<path>; each value
    equals a portfolio run with that --set."""
    from mhep_model.studies.run import run_scenario as run_portfolio_file

    result = tornado(PORTFOLIO, cases=["medium"])
    paths = {r.path for r in result.ranges}
    assert "contracts.staffordshire.referrals.scale" in paths
    assert "contracts.haringey.stages.job_start.rate" in paths
    for k, r in enumerate(result.ranges[:3]):
        for j, value in enumerate((r.lo, r.hi)):
            alone = run_portfolio_file(PORTFOLIO, cases=["medium"], sets=[(r.path, value)])
            for metric in ("investor_irr", "max_funding_gap"):
                got = result.metric(metric)[1 + 2 * k + j, 0]
                want = alone.model_results.summary[metric][0]
                assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (r.path, value)
    cli = runner.invoke(
        app, ["sensitivity", str(PORTFOLIO), "--case", "low", "--out", str(tmp_path / "o")]
    )
    assert cli.exit_code == 0, cli.output
    frame = pd.read_csv(tmp_path / "o" / "sensitivity.csv")
    assert set(frame["metric"]) == {"investor_irr", "max_funding_gap"}
    assert "staffordshire: the referral volume" in " ".join(cli.output.split())


def _with_amendment_value(source: Path, old: str, new: str, folder: Path) -> Path:
    text = source.read_text()
    assert text.count(old) == 1
    copy = folder / source.name
    copy.write_text(text.replace(old, new))
    return copy


def test_with_amendments_moves_the_amended_value_in_proportion(tmp_path: Path) -> None:
    """Staffordshire's block is 60,000 and re-set to 82,500 from month 18: ranged to
    48,000 with --with-amendments, the re-set is 66,000 (82.5 / 60 of it); the tornado's
    value equals a run of the file so edited, to 1e-9. Without the flag the re-set holds
    and the output says so."""
    path = "provider.block.annual"
    moved = tornado(
        STAFFORDSHIRE,
        ranges=[parse_range(f"{path}=48000:72000")],
        cases=["medium"],
        with_amendments=True,
    )
    held = tornado(STAFFORDSHIRE, ranges=[parse_range(f"{path}=48000:72000")], cases=["medium"])
    line = "provider.block.annual: 82500 "
    for j, (value, reset) in enumerate(((48000, 66000), (72000, 99000))):
        edited = _with_amendment_value(STAFFORDSHIRE, line, f"{path}: {reset} ", tmp_path)
        want = run_scenario(edited, cases=["medium"], sets=[(path, value)]).results.summary
        plain = run_scenario(STAFFORDSHIRE, cases=["medium"], sets=[(path, value)]).results
        for metric in ("provider_surplus", "investor_irr"):
            assert moved.metric(metric)[1 + j, 0] == pytest.approx(want[metric][0], rel=1e-9)
            assert held.metric(metric)[1 + j, 0] == pytest.approx(
                plain.summary[metric][0], rel=1e-9
            )
    assert moved.notes[path] == "an amendment from month 18 sets it, moved with it"
    assert "sets it anew from month 18 (the range holds to month 17)" in held.notes[path]


def test_with_amendments_shifts_a_value_whose_base_is_zero(tmp_path: Path) -> None:
    """Haringey has no block until its re-set sets 72,000: a base of 0 ranged to 10,000
    moves the re-set by the same 10,000."""
    haringey = ROOT / "scenarios" / "haringey.yaml"
    path = "provider.block.annual"
    result = tornado(
        haringey, ranges=[parse_range(f"{path}=0:10000")], cases=["medium"], with_amendments=True
    )
    edited = _with_amendment_value(haringey, f"{path}: 72000\n", f"{path}: 82000\n", tmp_path)
    want = run_scenario(edited, cases=["medium"], sets=[(path, 10000)]).results.summary
    assert result.metric("provider_surplus")[2, 0] == pytest.approx(
        want["provider_surplus"][0], rel=1e-9
    )


def test_cli_says_which_amendments_and_notes_the_ones_held(tmp_path: Path) -> None:
    args = [
        "sensitivity",
        str(STAFFORDSHIRE),
        "--case",
        "medium",
        "--vary",
        "provider.block.annual",
    ]
    held = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert held.exit_code == 0, held.output
    assert "note: provider.block.annual: an amendment sets it anew from month 18" in held.output
    moved = runner.invoke(app, [*args, "--with-amendments", "--out", str(tmp_path / "b")])
    assert moved.exit_code == 0, moved.output
    assert "note:" not in moved.output
    frame = pd.read_csv(tmp_path / "b" / "sensitivity.csv")
    assert set(frame["amendments"]) == {"an amendment from month 18 sets it, moved with it"}
    manifest = (tmp_path / "b" / "run.json").read_text()
    assert '"with_amendments": true' in manifest


def test_sobol_on_a_dask_cluster_gives_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks of samples become tasks (here 8 of them); sobol.csv is byte for byte the
    single-process one. (An unreachable scheduler: tests/test_stress.py.)"""
    from mhep_model.studies import sobol as module

    monkeypatch.setattr(module, "BLOCK_ROWS", 16)
    args = ["sensitivity", str(STAFFORDSHIRE), "--method", "sobol", "--samples", "32", "-q"]
    args += ["--case", "medium", "--vary", "referrals.scale", "--vary", "provider.block.annual"]
    spread = same_bytes_on_dask(args, tmp_path, ["sobol.csv"])
    assert '"blocks": 8' in (spread / "run.json").read_text()
    tornado_on_dask = runner.invoke(app, ["sensitivity", str(STAFFORDSHIRE), "--dask"])
    assert tornado_on_dask.exit_code == 2


def test_sobol_on_a_portfolio(tmp_path: Path) -> None:
    out = tmp_path / "o"
    args = ["sensitivity", str(PORTFOLIO), "--method", "sobol", "--samples", "8", "-q"]
    result = runner.invoke(app, [*args, "--case", "medium", "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out / "sobol.csv")
    assert set(frame["metric"]) == {"investor_irr"}
    assert frame["evaluations"].iloc[0] == 8 * (6 + 2)


def test_sobol_blocks_give_the_same_indices_as_one_batch() -> None:
    """Evaluating in blocks is row-for-row the same arithmetic as one batch."""
    from mhep_model.studies import sobol as module

    ranges = [parse_range("referrals.scale=0.6:1.2"), parse_range("stages.job_start.rate=0.2:0.4")]
    whole = module.sobol(STAFFORDSHIRE, ranges=ranges, samples=64)
    saved = module.BLOCK_ROWS
    try:
        module.BLOCK_ROWS = 7
        split = module.sobol(STAFFORDSHIRE, ranges=ranges, samples=64)
    finally:
        module.BLOCK_ROWS = saved
    assert split.blocks > whole.blocks
    for metric in ("provider_surplus", "investor_irr"):
        assert (split.values(metric) == whole.values(metric)).all()


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
    assert "Sobol indices of provider surplus" in " ".join(result.output.split())
    again = runner.invoke(app, [*args, "--samples", "128", "--out", str(tmp_path / "b"), "-q"])
    assert again.exit_code == 0
    assert (tmp_path / "b" / "sobol.csv").read_bytes() == (out / "sobol.csv").read_bytes()


def test_sobol_samples_once_when_the_cases_differ_only_in_ranged_inputs(tmp_path: Path) -> None:
    """Issue 24: Sobol computed the same table for every case (each case is a point of the
    sampled space); now one table, said so, and a time estimate off a terminal."""
    out = tmp_path / "out"
    args = ["sensitivity", str(STAFFORDSHIRE), "--method", "sobol", "--samples", "2048"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out / "sobol.csv")
    assert set(frame["case"]) == {"all cases"}
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["same_for_cases"] == ["low", "medium", "high"]
    assert "Every case (they differ only in the ranged inputs" in " ".join(result.output.split())
    assert "blocks of samples: 1 of 2 done in" in result.output and "s left" in result.output
    # a range a case does not move: the cases are no longer points of the space
    wider = runner.invoke(app, [*args, "--range", "spv.min_cash=0:20000", "--out", str(out)])
    assert wider.exit_code == 0, wider.output
    assert set(pd.read_csv(out / "sobol.csv")["case"]) == {"low", "medium", "high"}


def test_the_default_metric_is_the_one_help_names() -> None:
    from mhep_model.api import CONTRACT_METRICS

    text = " ".join(runner.invoke(app, ["sensitivity", "--help"]).output.split())
    assert f"Sobol {CONTRACT_METRICS['sobol'][0]}" in text
    assert "a tornado ranks " + " and ".join(CONTRACT_METRICS["tornado"]) in text


def test_tornado_charts_draw_where_a_metric_is_blank(tmp_path: Path) -> None:
    """Issue 26: ``sensitivity --charts`` ended in "Axis limits cannot be NaN or Inf" on
    Haringey (an IRR blank at an input's low value): a blank has no bar."""
    haringey = ROOT / "scenarios" / "haringey.yaml"
    out = tmp_path / "out"
    result = runner.invoke(app, ["sensitivity", str(haringey), "--charts", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {"tornado_provider_surplus.png", "tornado_investor_irr.png"} <= {
        p.name for p in out.iterdir()
    }
