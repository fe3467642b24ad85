"""stress and solve: reproducibility, chunking, convergence, risk, known roots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from mhep_model.report.frames import run_summary
from mhep_model.scenario import load_yaml, resolve
from mhep_model.studies.run import run_models, run_scenario
from mhep_model.studies.solve import solve
from mhep_model.studies.stress import stress
from tests.conftest import (
    MINIMAL,
    ROOT,
    same_bytes_on_dask,
    unreachable_scheduler_refused,
    write,
)

runner = CliRunner()
STAFFORDSHIRE = ROOT / "scenarios" / "staffordshire.yaml"
UNCAPPED = MINIMAL.replace("cap: 20000", "window: [1, 30]") + (
    "uncertainty:\n  referrals: {level_cv: 0.3, monthly_cv: 0.2}\n  rates: {concentration: 40}\n"
)


def test_same_seed_same_files_other_seed_different(tmp_path: Path) -> None:
    path = write(tmp_path, UNCAPPED)
    outs = []
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        result = runner.invoke(
            app,
            [
                "stress",
                str(path),
                "--paths",
                "3000",
                "--seed",
                seed,
                "--out",
                str(tmp_path / name),
                "-q",
                "--paths-csv",
            ],
        )
        assert result.exit_code == 0, result.output
        outs.append(
            {
                f: (tmp_path / name / f).read_bytes()
                for f in ("paths.csv", "stress_summary.csv", "run.json")
            }
        )
    assert outs[0] == outs[1]
    assert outs[0]["paths.csv"] != outs[2]["paths.csv"]
    assert b'"seed": 5' in outs[0]["run.json"]


def test_chunk_size_and_workers_do_not_change_results(tmp_path: Path) -> None:
    path = write(tmp_path, UNCAPPED)
    runs = [
        stress(path, paths=5000, seed=3, chunk_paths=2048, workers=1),
        stress(path, paths=5000, seed=3, chunk_paths=8192, workers=2),
        stress(path, paths=5000, seed=3, chunk_paths=100_000, workers=2),
    ]
    for other in runs[1:]:
        for key, values in runs[0].per_path["base"].items():
            assert np.array_equal(values, other.per_path["base"][key], equal_nan=True), key


def test_fan_series_are_the_first_paths_whatever_the_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The monthly series behind the fan charts are kept for each case's first paths
    only (bounded memory); which paths does not depend on --chunk or workers."""
    from mhep_model.report.outputs import stress_pngs
    from mhep_model.studies import stress_work as stress_module

    path = write(tmp_path, UNCAPPED)
    whole = stress(path, paths=20_000, seed=4, keep_reserves=True)
    monkeypatch.setattr(stress_module, "FAN_PATHS", 10_000)  # a block and a part of one
    runs = [
        stress(path, paths=20_000, seed=4, chunk_paths=c, workers=w, keep_reserves=True)
        for c, w in ((8192, 2), (100_000, 1))
    ]
    full_reserves, full_cash = whole.reserves("base"), whole.spv_cash("base")
    assert full_reserves is not None and full_cash is not None
    assert full_reserves.shape[0] == 20_000
    for run in runs:
        reserves, cash = run.reserves("base"), run.spv_cash("base")
        assert reserves is not None and cash is not None
        assert np.array_equal(reserves, full_reserves[:10_000])
        assert np.array_equal(cash, full_cash[:10_000])
        for key, values in whole.per_path["base"].items():
            if not key.startswith("__"):  # every path's summary is kept
                assert np.array_equal(values, run.per_path["base"][key], equal_nan=True)
    titles: list[str] = []
    monkeypatch.setattr("matplotlib.figure.Figure.suptitle", lambda self, t, **k: titles.append(t))
    stress_pngs(runs[0], tmp_path / "charts")
    note = "over paths\n(bands from each case's first 10,000 paths)"
    assert any(t.endswith("provider reserves " + note) for t in titles)
    assert any(t.endswith("SPV cash " + note) for t in titles)
    assert any(t.endswith("provider surplus over paths") for t in titles)  # all paths


def test_a_case_draws_the_same_paths_whichever_cases_run(tmp_path: Path) -> None:
    path = write(tmp_path, UNCAPPED + "cases:\n  low: {referrals.scale: 0.5}\n  mid: {}\n")
    both = stress(path, paths=2500, seed=1)
    one = stress(path, paths=2500, seed=1, cases=["mid"])
    assert np.array_equal(both.per_path["mid"]["income"], one.per_path["mid"]["income"])


def test_mean_income_converges_without_extra_uncertainty(tmp_path: Path) -> None:
    text = MINIMAL.replace("cap: 20000", "window: [1, 30]")
    path = write(tmp_path, text)
    deterministic = run_scenario(path).results.summary["income"][0]
    result = stress(path, paths=20_000, seed=11)
    income = result.per_path["base"]["income"]
    se = income.std(ddof=1) / np.sqrt(income.size)
    assert abs(income.mean() - deterministic) <= 4 * se
    assert se < 0.01 * deterministic  # and the noise is small: it converges


# Making Space with reserves enough to start (shipped: below zero from month 1 in every
# case), so that its solvency turns on the referral volume
RESERVES: list[tuple[str, object]] = [("provider.opening_reserves", 120000)]


def test_more_level_uncertainty_more_insolvency_near_break_even() -> None:
    def p_insolvent(cv: float) -> float:
        result = stress(
            STAFFORDSHIRE,
            cases=["high"],
            paths=4000,
            seed=2,
            sets=[
                ("uncertainty.referrals.level_cv", cv),
                ("uncertainty.referrals.monthly_cv", 0.0),
                *RESERVES,
            ],
        )
        return result.probabilities("high")["provider_insolvent"]

    assert p_insolvent(0.05) < p_insolvent(0.4)


def _run_case(case: str, path: str, value: float) -> dict[str, np.ndarray]:
    """One case with ``path`` set after the case's own overrides."""
    resolved = resolve(
        load_yaml(STAFFORDSHIRE), sets=RESERVES, cases=[case], case_sets=[(path, value)]
    )
    return run_models([resolved]).results.summary


def test_break_even_scale_gives_zero_surplus() -> None:
    result = stress(STAFFORDSHIRE, cases=["low", "medium"], paths=100, seed=0, sets=RESERVES)
    for case, scale in (("low", 0.6), ("medium", 1.0)):
        multiple = result.break_even[case]["break_even_referral_scale_surplus"]
        summary = _run_case(case, "referrals.scale", scale * multiple)
        assert abs(summary["provider_surplus"][0]) < 1.0
        low = result.break_even[case]["break_even_referral_scale_min_reserves"]
        summary = _run_case(case, "referrals.scale", scale * low)
        assert abs(summary["provider_min_reserves"][0]) < 1.0


def test_stress_cli_tables_and_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["stress", str(STAFFORDSHIRE), "--case", "low", "--paths", "2000", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Provider insolvent" in text and "Break-even referral scale" in text and "P95" in text
    assert not (out / "paths.csv").exists()  # 370 bytes a path: only when asked for
    # each probability with its Monte Carlo standard error, sqrt(p (1 - p) / paths)
    stats = pd.read_csv(out / "stress_summary.csv")
    p = stats.query("metric == 'provider_insolvent' and statistic == 'probability'")["value"]
    se = stats.query("metric == 'provider_insolvent' and statistic == 'standard_error'")["value"]
    assert float(se.iloc[0]) == pytest.approx((p.iloc[0] * (1 - p.iloc[0]) / 2000) ** 0.5)
    lo = stats.query("metric == 'provider_insolvent' and statistic == 'interval_low'")["value"]
    assert f"({float(lo.iloc[0]):.2%}-" in text  # the printed 95% Wilson interval
    result = runner.invoke(app, [*args, "--paths-csv", "-q"])
    assert result.exit_code == 0, result.output
    header = (out / "paths.csv").read_text().splitlines()[0].split(",")
    summary = run_summary(run_scenario(STAFFORDSHIRE, cases=["low"]))
    assert header[0] == "path" and header[1 : 1 + len(summary.columns)] == list(summary.columns)
    stats = (out / "stress_summary.csv").read_text().splitlines()[0]
    assert stats == "case,metric,statistic,value,seed"


@pytest.mark.parametrize("args", [["--paths", "0"], ["--seed", "-1"], ["--case", "nope"]])
def test_stress_bad_options(tmp_path: Path, args: list[str]) -> None:
    result = runner.invoke(app, ["stress", str(STAFFORDSHIRE), "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    assert not (tmp_path / "o").exists()


def test_solve_finds_a_known_root(tmp_path: Path) -> None:
    # provider surplus is linear in the block: surplus(b) = surplus(0) + b (12-month term)
    path = write(tmp_path, MINIMAL)
    at_zero = run_scenario(path, sets=[("provider.block.annual", 0)]).results.summary[
        "provider_surplus"
    ][0]
    target = 50_000.0
    solution = solve(
        path, "provider.block.annual", ("provider_surplus", target), between=(0, 200_000)
    )
    assert solution.roots.value[0] == pytest.approx(target - at_zero, rel=1e-9)
    assert solution.direction(0) == "rises"


def test_solve_block_for_zero_min_reserves_in_low_case() -> None:
    result = runner.invoke(
        app,
        [
            "solve",
            str(STAFFORDSHIRE),
            "--vary",
            "provider.block.annual",
            "--target",
            "provider_min_reserves=0",
            "--case",
            "low",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    value = float(result.stdout.strip())  # the amendment note goes to stderr
    assert "applies to months 1-17 only" in result.stderr
    check = run_scenario(STAFFORDSHIRE, cases=["low"])
    assert check.results.summary["provider_min_reserves"][0] < 0
    # set the block from the start; the re-set amendment still applies from month 18
    out = run_scenario(STAFFORDSHIRE, cases=["low"], sets=[("provider.block.annual", value)])
    assert abs(out.results.summary["provider_min_reserves"][0]) < 1.0


def test_solve_refuses_unreachable_targets(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    result = runner.invoke(
        app,
        [
            "solve",
            str(path),
            "--vary",
            "provider.block.annual",
            "--target",
            "provider_surplus=1e9",
            "--between",
            "0:1000",
        ],
    )
    assert result.exit_code == 1
    assert "never 1e+09" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "nonsense"], "--target takes METRIC=VALUE"),
        (["--target", "nope=1"], "no metric named nope"),
        (["--target", "provider_surplus=0", "--between", "5:1"], "--between takes LO:HI"),
    ],
)
def test_solve_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    path = write(tmp_path, MINIMAL)
    result = runner.invoke(app, ["solve", str(path), "--vary", "provider.block.annual", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_stress_on_a_dask_cluster_gives_the_same_bytes(tmp_path: Path) -> None:
    """Issue 14: blocks run as tasks on a LocalCluster's scheduler, results identical to
    the single-process run with the same seed; an unreachable scheduler exits 1."""
    args = ["stress", str(STAFFORDSHIRE), "--paths", "3000", "--seed", "3", "-q", "--paths-csv"]
    same_bytes_on_dask(args, tmp_path, ["paths.csv", "stress_summary.csv"])
    unreachable_scheduler_refused(args, tmp_path)


def test_a_local_cluster_does_not_need_port_8787() -> None:
    """Issue 20: with the dashboard's usual port taken, a local cluster starts on free
    ports without a warning (pytest turns warnings into errors)."""
    import socket

    distributed = pytest.importorskip("distributed")
    from mhep_model.studies.cluster import LOCAL_OPTIONS

    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        except OSError:
            pass  # already taken by something else: the same test
        with (
            distributed.LocalCluster(
                n_workers=1, threads_per_worker=1, processes=False, **LOCAL_OPTIONS
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            assert client.submit(sum, [1, 2]).result() == 3


def test_means_expected_loss_and_shortfall_are_those_of_the_paths(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["stress", str(STAFFORDSHIRE), "--case", "low", "--case", "medium", "--paths", "500",
            "--paths-csv", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, [*args])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "P50 ┃ Mean ┃ P75" in text and "Deterministic" in text
    stats = pd.read_csv(out / "stress_summary.csv")
    paths = pd.read_csv(out / "paths.csv")
    for case in ("low", "medium"):
        mine = paths[paths["case"] == case]
        got = stats[stats["case"] == case].set_index(["metric", "statistic"])["value"]
        for metric in ("provider_surplus", "income", "investor_multiple", "job_start"):
            assert got[metric, "mean"] == pytest.approx(mine[metric].mean())
        lost = (mine["investor_drawn"] - mine["investor_received"]).clip(lower=0)
        assert got["investor", "expected_loss"] == pytest.approx(lost.mean())
        short = (-mine["provider_min_reserves"]).clip(lower=0)
        assert got["provider", "expected_shortfall"] == pytest.approx(short.mean())
    low = stats[stats["case"] == "low"].set_index(["metric", "statistic"])["value"]
    medium = stats[stats["case"] == "medium"].set_index(["metric", "statistic"])["value"]
    assert low["investor", "expected_loss"] > medium["investor", "expected_loss"]


def test_the_spread_table_shows_the_same_case_deterministic() -> None:
    result = stress(STAFFORDSHIRE, cases=["medium"], paths=200, seed=1)
    det = run_summary(run_scenario(STAFFORDSHIRE, cases=["medium"]))
    for metric in ("provider_surplus", "investor_multiple", "income"):
        assert result.deterministic["medium"][metric] == pytest.approx(det[metric].iloc[0])


def test_a_portfolio_reports_each_provider_s_expected_shortfall(tmp_path: Path) -> None:
    out = tmp_path / "out"
    pf = ROOT / "scenarios" / "mhep_2016.yaml"
    args = [
        "stress",
        str(pf),
        "--case",
        "medium",
        "--paths",
        "300",
        "--paths-csv",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, [*args, "-q"])
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out / "stress_summary.csv").set_index(["metric", "statistic"])["value"]
    paths = pd.read_csv(out / "paths.csv")
    for name in ("staffordshire", "tower_hamlets", "haringey"):
        short = (-paths[f"{name}.provider_min_reserves"]).clip(lower=0).mean()
        assert got[f"{name}.provider", "expected_shortfall"] == pytest.approx(short)


def test_probabilities_come_with_a_wilson_interval_honest_at_0_and_1() -> None:
    from mhep_model.studies.stress_result import wilson_interval

    lo, hi = wilson_interval(1.0, 2000)
    assert hi == 1.0 and 0.997 < lo < 0.999  # not "100.0% ± 0.0%"
    lo, hi = wilson_interval(0.0, 2000)
    assert lo == 0.0 and 0.001 < hi < 0.003
    lo, hi = wilson_interval(0.3, 10_000)
    assert lo == pytest.approx(0.3 - 1.96 * 0.00458, abs=2e-4)
    assert hi == pytest.approx(0.3 + 1.96 * 0.00458, abs=2e-4)


def test_the_risk_table_shows_the_interval(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["stress", str(STAFFORDSHIRE), "--case", "low", "--paths", "2000", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "100.0% (99.81%-100.00%)" in result.output and "± 0.0%" not in result.output
    stats = pd.read_csv(out / "stress_summary.csv").set_index(["metric", "statistic"])["value"]
    assert stats["provider_insolvent", "interval_low"] == pytest.approx(0.99808, abs=1e-4)
    assert stats["provider_insolvent", "interval_high"] == 1.0


@pytest.mark.parametrize(
    "address",
    [
        "tcp://",
        "tcp://:8786",
        "tcp://host:",
        "tcp://host:port",
        "tcp://host:0",
        "tcp://host:99999",
        "inproc://x",
        "inproc://1.2.3.4/x/1",
        "http://host:8786",
        "host",
        "tcp://ho st:8786",
        "tcp://host:8786/path",
        "\x1b[31mtcp://host:1",
        "tcp://[::1:8786",
    ],
)
def test_a_malformed_scheduler_address_is_refused_before_any_work(
    address: str, tmp_path: Path
) -> None:
    """Issue 26: 13 of 29 malformed --scheduler addresses ended in a traceback."""
    result = runner.invoke(
        app,
        [
            "stress",
            str(STAFFORDSHIRE),
            "--paths",
            "100",
            "--scheduler",
            address,
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "is not a Dask scheduler address: give tcp://HOST:PORT" in " ".join(
        result.output.split()
    )
    assert "Traceback" not in result.output and "\x1b" not in result.output


def test_a_silent_listener_or_a_scheduler_without_workers_gets_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 26: a TCP listener that never answers, or a scheduler with no worker, hung
    past 120 s with no message (README: a message within 10 s)."""
    import socket
    import time

    from distributed import LocalCluster

    from mhep_model.studies import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    args = ["stress", str(STAFFORDSHIRE), "--paths", "100", "--out", str(tmp_path / "o")]
    try:
        start = time.monotonic()
        result = runner.invoke(
            app, [*args, "--scheduler", f"tcp://127.0.0.1:{silent.getsockname()[1]}"]
        )
        assert time.monotonic() - start < 20
    finally:
        silent.close()
    assert result.exit_code == 1, result.output
    assert "cannot reach a Dask scheduler at" in " ".join(result.output.split())
    with LocalCluster(n_workers=0, dashboard_address="127.0.0.1:0") as empty:
        start = time.monotonic()
        result = runner.invoke(app, [*args, "--scheduler", empty.scheduler_address])
        assert time.monotonic() - start < 20
    assert result.exit_code == 1, result.output
    assert "has no worker after 2 s" in " ".join(result.output.split())
