"""Work bounds that bound (issue 26, item 8): every kind of work is checked against an
estimate of its memory (and, for stress, its time) before it starts, or streams in
bounded memory, so that a machine with 6 GB runs whatever the limits accept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from mhep_model.errors import UsageError
from mhep_model.scenario import limits, load
from tests.conftest import MINIMAL, write

runner = CliRunner()


def _cases(n: int, text: str = MINIMAL) -> str:
    return (
        text
        + "cases:\n"
        + "".join(f"  c{k}: {{referrals.scale: {1 + k / 10}}}\n" for k in range(n))
    )


def _long(term: int, tail: int) -> str:
    return MINIMAL.replace(
        "term_months: 12, tail_months: 6", f"term_months: {term}, tail_months: {tail}"
    )


def test_the_budgets_fit_a_6_gb_machine() -> None:
    assert limits.MEMORY_BUDGET <= 5e9
    assert limits.BASE_BYTES + limits.MAX_CELLS * limits.BYTES_PER_CELL <= limits.MEMORY_BUDGET
    kept = limits.BASE_BYTES + limits.MAX_KEPT_CELLS * limits.KEPT_BYTES_PER_CELL
    assert kept <= limits.MEMORY_BUDGET


def test_a_batch_over_the_budget_gives_its_estimate() -> None:
    limits.check_work(100_000, 600, 2, "fine")  # 120M cells: a study batch takes them
    with pytest.raises(UsageError) as refused:
        limits.check_work(100_000, 600, 20, "sweep.yaml")
    text = str(refused.value)
    assert "1,200,000,000 cells would need about 40.0 GB of memory" in text
    assert "at most 139,393,939 cells (about 5.0 GB, so that a 6 GB machine runs it)" in text
    with pytest.raises(UsageError, match="one run computes at most 57,500,000 cells"):
        limits.check_work(100_000, 600, 2, "run.yaml", kept=True)  # every month kept


def test_stress_beyond_memory_is_refused_with_its_estimates(tmp_path: Path) -> None:
    """10 cases x 1M paths x 50 months was accepted and needed about 12 GB with
    --paths-csv (and about 8 GB without, before the paths' results were joined in place)."""
    path = write(tmp_path, _cases(10, _long(38, 12)))
    out = tmp_path / "out"
    args = ["stress", str(path), "--paths", "1000000", "--out", str(out), "--paths-csv"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "1,000,000 paths x 10 cases (up to about 24 minutes on 2 cores)" in text
    assert "would need about 10.9 GB of memory at its peak" in text
    assert "at most 5.0 GB" in text and "leave out --paths-csv" in text
    assert not out.exists()


def test_the_stress_estimate_counts_what_each_path_keeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """The estimate probes one path: every variant's metrics and the charts' monthly
    series (for at most FAN_PATHS paths a case) count."""
    from mhep_model.studies import stress_work
    from mhep_model.studies.stress import stress

    seen: list[float] = []
    monkeypatch.setattr(stress_work, "check_memory", lambda need, *_: seen.append(need))
    monkeypatch.setattr(
        "mhep_model.studies.stress.run_chunks", lambda *a, **k: (_ for _ in ()).throw(KeyError)
    )
    path = Path(__file__).parents[1] / "data" / "examples" / "e01_funnel" / "scenario.yaml"
    for keep in ({}, {"keep_reserves": True}, {"keep_paths": True}):
        with pytest.raises(KeyError):
            stress(path, paths=200_000, **keep)
    plain, charts, csv = (n - limits.BASE_BYTES for n in seen)
    assert 200 * 200_000 < plain < 800 * 200_000  # about 40 float64 metrics a path
    months = load(path).base.contract.horizon  # two float32 series, first 100,000 paths
    assert charts - plain == 100_000 * months * 4 * 2 * 2
    assert csv > 2 * plain


def test_a_portfolio_is_bounded_by_all_its_contracts_together(tmp_path: Path) -> None:
    """200 contracts each within the budget summed to far more than 6 GB."""
    contract = _cases(30, _long(588, 12))
    for i in range(200):
        write(tmp_path, contract, f"k{i}.yaml")
    names = "".join(f"  k{i}: k{i}.yaml\n" for i in range(200))
    pf = write(
        tmp_path,
        f"name: P\ncontracts:\n{names}spv: {{management_fee_annual: 0}}\n"
        "investor: {commitment: 100000, equity_share: 0.25}\n",
        "p.yaml",
    )
    result = runner.invoke(app, ["run", str(pf), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    # 200 contracts x 30 cases x 600 months x 17 lanes, and the SPV's 30 x 600 x 10
    assert "61,380,000 cells would need about 5.3 GB of memory" in text
    assert "one run computes at most 57,500,000" in text
    assert not (tmp_path / "out").exists()
    assert runner.invoke(app, ["validate", str(pf)]).exit_code == 0  # valid, just too big


def test_a_sweep_resolved_point_by_point_runs_in_bounded_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 90,009-row sweep held every point's validated scenarios at once (2.5 GB for
    the smallest scenario); now runs of SLOW_ROWS rows give the same bytes."""
    from mhep_model.studies import subject as subject_mod
    from mhep_model.studies import sweep as sweep_mod

    path = write(tmp_path, _cases(3))
    params = [
        sweep_mod.parse_param("stages.engagement.lag=0:5:1"),  # resolved point by point
        sweep_mod.parse_param("referrals.monthly=5:14:1"),
    ]
    whole = sweep_mod.sweep(path, params)
    held, most = [0], [0]
    at, values = subject_mod.Subject.at, subject_mod.Subject.values

    def counted_at(self: object, *a: object, **k: object) -> object:
        held[0] += 1
        most[0] = max(most[0], held[0])
        return at(self, *a, **k)  # type: ignore[arg-type]

    def counted_values(self: object, group: list[object]) -> object:
        held[0] -= len(group)
        return values(self, group)  # type: ignore[arg-type]

    monkeypatch.setattr(sweep_mod, "SLOW_ROWS", 7)
    monkeypatch.setattr(subject_mod.Subject, "at", counted_at)
    monkeypatch.setattr(subject_mod.Subject, "values", counted_values)
    runs = sweep_mod.sweep(path, params)
    assert most[0] == 3  # the base, and 7 rows // 3 cases = 2 points at a time, not 60
    for name, column in whole.run.summary.items():
        np.testing.assert_array_equal(runs.run.summary[name], column, err_msg=name)


def test_a_sweep_whose_months_differ_is_estimated_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mhep_model.studies import sweep as sweep_mod

    path = write(tmp_path, _cases(5))
    params = [
        sweep_mod.parse_param("contract.term_months=12:14:1"),
        sweep_mod.parse_param("stages.engagement.lag=0:5:1"),
    ]
    assert len(sweep_mod.sweep(path, params).points) == 18  # fits: run as one batch
    monkeypatch.setattr(sweep_mod, "VERSION_BYTES", 10**9)
    with pytest.raises(UsageError) as refused:
        sweep_mod.sweep(path, params)
    text = str(refused.value)
    assert "a sweep of 18 points whose months differ would need about 90.4 GB" in text
    assert "sweep them one at a time" in text


def test_solve_checks_its_rounds_before_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each round runs every case at 33 values; a batch over the budget was only found
    when the first round compiled it."""
    from mhep_model.studies import solve as solve_mod

    path = write(tmp_path, _cases(50, _long(588, 12)))
    evaluated: list[int] = []
    real = solve_mod.find_roots
    monkeypatch.setattr(
        solve_mod, "find_roots", lambda *a, **k: evaluated.append(1) or real(*a, **k)
    )
    monkeypatch.setattr(limits, "MAX_CELLS", 50 * 600 * 17 * 20)  # room for 20 values a case
    with pytest.raises(UsageError, match="1,650 rows x 600 months x 17 lanes"):
        solve_mod.solve(path, "provider.block.annual", ("provider_surplus", 0.0))
    assert evaluated == []
