"""A sweep's grid built from the base compiled once (issue 15): the same inputs and results,
bit for bit, as resolving every point; anything it cannot build falls back to that."""

from __future__ import annotations

import numpy as np
import pytest

from mhep_model.scenario import compile_inputs, resolve, vary
from mhep_model.scenario.yamlio import load_yaml
from mhep_model.studies import sweep as sweep_module
from mhep_model.studies.sweep import parse_param, sweep
from tests.conftest import EXAMPLES, ROOT

STAFFORDSHIRE = ROOT / "scenarios" / "staffordshire.yaml"
HARINGEY = ROOT / "scenarios" / "haringey.yaml"
E09 = EXAMPLES / "e09_grants_opening_evidence" / "scenario.yaml"
E10 = EXAMPLES / "e10_service_stop" / "scenario.yaml"
E11 = EXAMPLES / "e11_spv_cash" / "scenario.yaml"


def _slow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweep_module, "compile_points", lambda *a, **k: None)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        # a rate scaled by an amendment from month 18, and the referral scale
        (STAFFORDSHIRE, ["stages.job_start.rate=0.1:0.5:0.05", "referrals.scale=0.5:1.5:0.25"]),
        # the block, re-set by an amendment (the swept value holds to month 17), and costs
        (STAFFORDSHIRE, ["provider.block.annual=0:100000:25000", "spv.min_cash=0:30000:10000"]),
        # a banded provider tariff scaled by an amendment
        (HARINGEY, ["provider.outcome_payments.tariffs.job_start.over_16=100:1000:100"]),
        # two inputs that multiply (workers x referrals per worker): the product on arrays
        (STAFFORDSHIRE, ["referrals.workers=100:300:50", "referrals.per_worker_per_year=1:3:0.5"]),
        # the provider's share of tariff, scaled x 0.906 by the month-18 amendment, and a
        # tariff it multiplies (issue 25)
        (
            STAFFORDSHIRE,
            [
                "provider.outcome_payments.share_of_tariff=0.3:0.9:0.1",
                "outcomes.job_start.tariff.over_16=900:1800:300",
            ],
        ),
        # v3: grants, opening caseload and evidence, the rejected share swept
        (E09, ["outcomes.job_start.evidence.rejected=0:0.5:0.25", "referrals.scale=0.5:1.5:0.5"]),
        (E09, ["stages.engagement.opening=0:20:10"]),
        # v3: the service stops on each row's own month
        (E10, ["referrals.scale=0.5:2:0.25", "contract.stop.notice_months=0:4:2"]),
        # v3: arrears, compound interest and the performance fee
        (E11, ["investor.commitment=2000:20000:3000", "spv.performance_fee.share=0:0.5:0.25"]),
        # v3 terms the base does not have (a fee, an opening caseload): resolved point by point
        (E10, ["spv.performance_fee.share=0:0.5:0.05"]),
        (E10, ["stages.engagement.opening=0:50:5"]),
    ],
)
def test_the_grid_built_from_the_base_equals_every_point_resolved(
    path: object, params: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = [parse_param(p) for p in params]
    fast = sweep(path, parsed)  # type: ignore[arg-type]
    with monkeypatch.context() as m:
        _slow(m)
        slow = sweep(path, parsed)  # type: ignore[arg-type]
    assert fast.run.summary.keys() == slow.run.summary.keys()
    for name, values in slow.run.summary.items():
        assert np.array_equal(fast.run.summary[name], values, equal_nan=True), name
    assert fast.run.cases == slow.run.cases


def test_what_the_base_cannot_give_is_left_to_the_points() -> None:
    doc = load_yaml(STAFFORDSHIRE)
    first = resolve(doc)
    points = [[v] for v in range(24, 49, 2)]
    # the term changes the contract's shape: no grid from the base
    assert vary.compile_points(doc, (), None, first, ["contract.term_months"], points) is None
    # a few points: nothing to gain
    assert vary.compile_points(doc, (), None, first, ["referrals.scale"], [[0.5], [1.0]]) is None
    # a rate scaled past 1 by the month-18 amendment: the points say which, as before
    high = [[0.5 + 0.05 * k] for k in range(10)]
    assert vary.compile_points(doc, (), None, first, ["stages.job_start.rate"], high) is None
    built = vary.compile_points(
        doc, (), None, first, ["referrals.scale"], [[0.5 + 0.1 * k] for k in range(10)]
    )
    assert built is not None
    one = compile_inputs(resolve(doc, case_sets=[("referrals.scale", 0.5 + 0.1 * 3)]))
    assert np.array_equal(built.point_inputs(3).referrals_scale, one.referrals_scale)


def test_a_swept_value_out_of_bounds_gets_the_points_message(tmp_path: object) -> None:
    from typer.testing import CliRunner

    from mhep_model.cli import app

    args = ["sweep", str(STAFFORDSHIRE), "--param", "stages.job_start.rate=0.5:0.9:0.05"]
    result = CliRunner().invoke(app, [*args, "--out", f"{tmp_path}/o"])
    assert result.exit_code == 2
    assert "at stages.job_start.rate=0.85: must be between 0 and 1, got 1.02" in " ".join(
        result.output.split()
    )


def test_a_case_shares_every_input_no_swept_value_reaches() -> None:
    """A grid keeps the base and the swept arrays only: a case's points share the rest of
    its inputs as views (a 100,000-row sweep holds no copy per row of them)."""
    doc = load_yaml(STAFFORDSHIRE)
    values = [[50_000.0 + 1_000.0 * k] for k in range(10)]
    grid = vary.compile_points(doc, (), None, resolve(doc), ["provider.block.annual"], values)
    assert grid is not None
    assert set(grid.swept) == {"block_annual"}
    medium = grid.case_inputs(1)
    assert medium.rows == 10
    assert medium.payer_active.strides[0] == 0  # one row, broadcast to every point
    assert medium.stages[0].rate.strides[0] == 0
    assert np.array_equal(medium.block_annual[:, 0], [v for (v,) in values])
    alone = compile_inputs(resolve(doc, case_sets=[("provider.block.annual", 53_000.0)]))
    assert np.array_equal(medium.block_annual[3], alone.block_annual[1])


@pytest.mark.parametrize(
    "paths",
    [
        ["referrals.workers", "referrals.per_worker_per_year"],
        ["provider.outcome_payments.share_of_tariff", "outcomes.sustainment.tariff.under_16"],
        ["referrals.workers", "provider.outcome_payments.share_of_tariff", "referrals.scale"],
    ],
)
def test_products_of_inputs_are_built_on_arrays_bit_for_bit(paths: list[str]) -> None:
    """Issue 25: inputs that multiply (workers x referrals per worker, a share of a tariff)
    were resolved point by point, about 1.5 ms a row; now the grid is built from the base
    and every sampled point equals the slow compile, bit for bit."""
    doc = load_yaml(STAFFORDSHIRE)
    first = resolve(doc)
    rng = np.random.default_rng(25)
    lows = {"referrals.workers": 150.0, "referrals.per_worker_per_year": 1.0}
    lows |= {"provider.outcome_payments.share_of_tariff": 0.2, "referrals.scale": 0.5}
    lows |= {"outcomes.sustainment.tariff.under_16": 800.0}
    points = [
        [round(lows[p] * (1 + rng.random()), 6) for p in paths] for _ in range(40)
    ]  # irregular values, as Sobol samples them
    built = vary.compile_points(doc, (), None, first, paths, points)
    assert built is not None
    for i in (0, 7, 19, 39):
        one = compile_inputs(resolve(doc, case_sets=list(zip(paths, points[i], strict=True))))
        mine, theirs = vary._arrays(built.point_inputs(i)), vary._arrays(one)
        assert mine.keys() == theirs.keys()
        for name, x in theirs.items():
            assert np.array_equal(mine[name], x, equal_nan=True), (name, i)


def test_sobol_over_multiplied_inputs_gives_the_slow_paths_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mhep_model.studies import subject
    from mhep_model.studies.sensitivity import parse_range
    from mhep_model.studies.sobol import sobol

    ranges = [
        parse_range(r)
        for r in (
            "referrals.workers=150:300",
            "referrals.per_worker_per_year=1.5:2.5",
            "provider.outcome_payments.share_of_tariff=0.4:0.8",
            "stages.job_start.rate=0.2:0.35",
        )
    ]
    built: list[object] = []
    real = subject.compile_points

    def spy(*args: object, **kwargs: object) -> object:
        built.append(real(*args, **kwargs))  # type: ignore[arg-type]
        return built[-1]

    with monkeypatch.context() as m:
        m.setattr(subject, "compile_points", spy)
        fast = sobol(STAFFORDSHIRE, ranges=ranges, samples=64, cases=["medium"])
    assert built and all(b is not None for b in built)  # the grid was built from the base
    monkeypatch.setattr(subject, "compile_points", lambda *a, **k: None)
    slow = sobol(STAFFORDSHIRE, ranges=ranges, samples=64, cases=["medium"])
    for metric in ("provider_surplus", "investor_irr", "income"):
        assert np.array_equal(fast.values(metric), slow.values(metric), equal_nan=True), metric


def test_a_swept_term_builds_one_grid_per_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 25: inputs that change the contract's months fell back to resolving every
    point; now the points of each shape are one grid, padded as the batch is, with the
    slow path's bytes."""
    params = [
        parse_param(p)
        for p in (
            "contract.term_months=30:42:6",
            "referrals.scale=0.5:1.5:0.1",
            "provider.block.annual=40000:80000:10000",
        )
    ]
    grids: list[object] = []
    real = sweep_module.compile_points

    def spy(*args: object, **kwargs: object) -> object:
        grids.append(real(*args, **kwargs))  # type: ignore[arg-type]
        return grids[-1]

    with monkeypatch.context() as m:
        m.setattr(sweep_module, "compile_points", spy)
        fast = sweep(STAFFORDSHIRE, params)
    assert grids[0] is None and len(grids) == 4 and all(g is not None for g in grids[1:])
    with monkeypatch.context() as m:
        _slow(m)
        slow = sweep(STAFFORDSHIRE, params)
    for name, values in slow.run.summary.items():
        assert np.array_equal(fast.run.summary[name], values, equal_nan=True), name
