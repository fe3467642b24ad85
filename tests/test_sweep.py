"""sweep: the grid in one batch; every grid point equals a separate run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from mhep_model.errors import ScenarioError, UsageError
from mhep_model.report.frames import run_summary
from mhep_model.report.sweep import sweep_frame
from mhep_model.studies.run import run_scenario
from mhep_model.studies.sweep import MAX_SWEEP_ROWS, parse_param, sweep
from tests.conftest import MINIMAL, ROOT, write

runner = CliRunner()


def test_parse_param_includes_stop_on_the_grid() -> None:
    assert parse_param("referrals.scale=0.5:1.0:0.25").values == (0.5, 0.75, 1.0)
    assert parse_param("referrals.scale=0.5:1.1:0.25").values == (0.5, 0.75, 1.0)
    assert parse_param("provider.block.annual=0:30000:10000").values == (0, 10000, 20000, 30000)
    assert all(isinstance(v, int) for v in parse_param("contract.term_months=6:12:3").values)
    assert parse_param("x=0.1:0.3:0.1").values == (0.1, 0.2, 0.3)


@pytest.mark.parametrize(
    "text", ["x", "x=1:2", "x=a:b:c", "x=2:1:1", "x=0:1:0", "x=0:1:-1", "x=0:inf:1"]
)
def test_parse_param_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--param"):
        parse_param(text)


def test_grid_points_equal_separate_runs(minimal_path: Path) -> None:
    params = [
        parse_param("provider.block.annual=0:20000:10000"),
        parse_param("referrals.scale=0.5:1.5:0.5"),
    ]
    result = sweep(minimal_path, params)
    frame = sweep_frame(result)
    assert len(frame) == 9
    assert list(frame.columns[:3]) == ["provider.block.annual", "referrals.scale", "case"]
    for _, row in frame.iterrows():
        sets = [
            ("provider.block.annual", row["provider.block.annual"]),
            ("referrals.scale", row["referrals.scale"]),
        ]
        alone = run_summary(run_scenario(minimal_path, sets=sets)).iloc[0]
        for col in alone.index:
            a, b = alone[col], row[col]
            if isinstance(a, str):
                assert a == b
            elif pd.isna(a):
                assert pd.isna(b)
            else:
                assert float(a) == float(b), col


def test_sweep_applies_after_case_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "cases:\n  low: {referrals.scale: 0.5}\n  mid: {}\n")
    frame = sweep_frame(sweep(path, [parse_param("referrals.scale=1:2:1")]))
    low = frame[frame["case"] == "low"]["referrals"].to_numpy()
    mid = frame[frame["case"] == "mid"]["referrals"].to_numpy()
    assert np.allclose(low, mid)  # the swept scale replaces the case's own
    assert low[1] == pytest.approx(2 * low[0])


def test_bad_grid_value_names_the_point(minimal_path: Path) -> None:
    with pytest.raises(
        ScenarioError, match=r"at stages.engagement.rate=1.5: must be between 0 and 1"
    ):
        sweep(minimal_path, [parse_param("stages.engagement.rate=0.5:1.5:0.5")])


def test_grid_size_limit(minimal_path: Path) -> None:
    big = [parse_param("provider.block.annual=0:1000:1"), parse_param("referrals.scale=0:1:0.005")]
    with pytest.raises(UsageError, match=f"the most a sweep takes is {MAX_SWEEP_ROWS:,}"):
        sweep(minimal_path, big)


def test_cli_sweep_two_params_grid_table_and_csv(minimal_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "sweep",
            str(minimal_path),
            "--param",
            "provider.block.annual=0:20000:10000",
            "--param",
            "referrals.scale=0.5:1:0.5",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "provider_surplus, case base: provider.block.annual down, referrals.scale across"
        in " ".join(result.output.split())
    )
    frame = pd.read_csv(out / "sweep.csv")
    assert len(frame) == 6


def test_cli_sweep_one_param_metric_and_errors(minimal_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ok = runner.invoke(
        app,
        [
            "sweep",
            str(minimal_path),
            "--param",
            "referrals.scale=0.5:1:0.5",
            "--metric",
            "investor_irr",
            "--out",
            str(out),
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "investor_irr by referrals.scale" in " ".join(ok.output.split())
    bad = runner.invoke(
        app,
        [
            "sweep",
            str(minimal_path),
            "--param",
            "referrals.scale=0.5:1:0.5",
            "--metric",
            "nope",
            "--out",
            str(tmp_path / "b"),
        ],
    )
    assert bad.exit_code == 2
    assert "no metric named nope" in bad.output
    assert not (tmp_path / "b").exists()
    bad = runner.invoke(
        app,
        [
            "sweep",
            str(minimal_path),
            "--param",
            "referrals.scale=1:0:1",
            "--out",
            str(tmp_path / "c"),
        ],
    )
    assert bad.exit_code == 2
    assert not (tmp_path / "c").exists()
    assert "100,000" in runner.invoke(app, ["sweep", "--help"]).output


HARINGEY = Path(__file__).resolve().parents[1] / "scenarios" / "haringey.yaml"


def test_solve_says_when_an_amendment_overrides_the_varied_input() -> None:
    """Haringey's re-set replaces the block from month 10: a block found by solve holds
    for months 1-9 only, and the command says so (issue 13, defect 3)."""
    args = ["solve", str(HARINGEY), "--vary", "provider.block.annual", "--case", "low"]
    result = CliRunner().invoke(app, [*args, "--target", "provider_min_reserves=0"])
    assert "an amendment replaces provider.block.annual from month 10" in result.output
    assert "applies to months 1-9 only" in result.output
    unrelated = CliRunner().invoke(
        app,
        [
            "solve",
            str(HARINGEY),
            "--vary",
            "provider.costs.staff_fte",
            "--case",
            "low",
            "--target",
            "provider_min_reserves=0",
        ],
    )
    assert "amendment" not in unrelated.output


def test_sweep_says_when_an_amendment_overrides_the_swept_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "sweep",
            str(HARINGEY),
            "--param",
            "provider.block.annual=0:60000:30000",
            "--case",
            "low",
            "--out",
            str(tmp_path / "o"),
            "-q",
        ],
    )
    assert "an amendment replaces provider.block.annual from month 10" in result.output
    assert "the swept values apply to months 1-9 only" in result.output


def test_through_amendments_holds_the_swept_value_for_the_whole_contract(tmp_path: Path) -> None:
    """--through-amendments: Haringey's re-set no longer replaces the swept block, so the
    block paid is the swept value for every month of the term (issue 13, defect 3)."""
    out = tmp_path / "o"
    args = ["sweep", str(HARINGEY), "--param", "provider.block.annual=60000:60000:1"]
    result = CliRunner().invoke(
        app, [*args, "--case", "low", "--out", str(out), "-q", "--through-amendments"]
    )
    assert result.exit_code == 0, result.output
    assert "amendment" not in result.output
    term = run_scenario(HARINGEY, cases=["low"]).inputs.term[0]
    frame = pd.read_csv(out / "sweep.csv")
    assert frame["provider_block"].iloc[0] == pytest.approx(60000 * term / 12)
    plain = CliRunner().invoke(app, [*args, "--case", "low", "--out", str(tmp_path / "p"), "-q"])
    assert plain.exit_code == 0
    amended = pd.read_csv(tmp_path / "p" / "sweep.csv")["provider_block"].iloc[0]
    assert amended == pytest.approx(60000 * 9 / 12 + 72000 * (term - 9) / 12)
    solved = CliRunner().invoke(
        app,
        [
            "solve",
            str(HARINGEY),
            "--vary",
            "provider.block.annual",
            "--case",
            "low",
            "--target",
            "provider_min_reserves=0",
            "--through-amendments",
        ],
    )
    assert "amendment" not in solved.output


def test_through_amendments_keeps_the_lines_of_later_amendments(tmp_path: Path) -> None:
    """The re-set, once only the varied block, is dropped; a bad later amendment is still
    reported at the line it was written on."""
    text = HARINGEY.read_text(encoding="utf-8").replace(
        "      provider.block.annual: 72000\n    scale:",
        "      provider.block.annual: 72000\n  - month: 20\n    set: {referrals.scale: -1}\n"
        "  - month: 21\n    set: {provider.block.annual: 1}\n    scale:",
    )
    path = tmp_path / "h.yaml"
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("    set: {referrals.scale: -1}") + 1
    for extra in ([], ["--through-amendments"]):
        result = CliRunner().invoke(
            app,
            [
                "sweep",
                str(path),
                "--param",
                "provider.block.annual=0:1:1",
                "--out",
                str(tmp_path / "o"),
                "-q",
                *extra,
            ],
        )
        assert result.exit_code == 2
        assert f"h.yaml:{line} " in result.output, result.output


def test_a_portfolio_sweeps_as_a_contract_does(tmp_path: Path) -> None:
    """Issue 20: one sweep for a contract and a portfolio: the same columns after the
    grid (``case``, then the metrics), months as whole numbers in both."""
    import mhep_model

    portfolio = ROOT / "scenarios" / "mhep_2016.yaml"
    grid = {"contracts.staffordshire.referrals.scale": [0.5, 1.0]}
    frame = mhep_model.sweep(portfolio, grid, cases="medium").frame
    assert list(frame.columns[:2]) == ["contracts.staffordshire.referrals.scale", "case"]
    assert str(frame["staffordshire.provider_insolvent_month"].dtype) == "Int64"
    assert str(frame["funding_gap_first_month"].dtype) == "Int64"
    contract = mhep_model.sweep(
        ROOT / "scenarios" / "staffordshire.yaml", {"referrals.scale": [0.5, 1.0]}, cases="medium"
    ).frame
    assert str(contract["provider_insolvent_month"].dtype) == "Int64"
    # the portfolio's rows equal its runs at each value
    for value, row in zip([0.5, 1.0], frame.itertuples(), strict=True):
        alone = mhep_model.run(
            portfolio,
            cases="medium",
            overrides={"contracts.staffordshire.referrals.scale": value},
        ).summary
        assert row.investor_multiple == alone.loc[0, "investor_multiple"]
