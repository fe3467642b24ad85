"""The Python API: every study the CLI runs, returning pandas DataFrames.

``scenario`` is a scenario, portfolio or batch file (a path) or its contents as a mapping;
``cases`` selects cases by name; ``overrides`` maps dotted paths to values, as ``--set``
does (``{"referrals.scale": 0.8}``). Bad input raises :class:`mhep_model.errors.MhepError`
(:class:`~mhep_model.errors.ScenarioError` names the file, line and dotted path). The CLI
is a thin layer over these functions: it prints their tables and writes their ``frames``.

>>> import mhep_model
>>> result = mhep_model.run("scenarios/staffordshire.yaml", cases=["medium"])
>>> result.summary.loc[0, "case"]
'medium'

See ``docs/python-api.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mhep_model.api.results import (
    BacktestResult,
    CompareResult,
    Explanation,
    Result,
    RunResult,
    SensitivityResult,
    SolveResult,
    StressResult,
    SweepResult,
)
from mhep_model.errors import UsageError
from mhep_model.scenario.paths import allow_outside
from mhep_model.scenario.portfolio import refuse_portfolio_actuals
from mhep_model.scenario.yamlio import Source, load_yaml

Overrides = Mapping[str, Any] | Sequence[tuple[str, Any]] | None
CONTRACT_METRICS = {"tornado": ["provider_surplus", "investor_irr"], "sobol": ["provider_surplus"]}
"""A contract's sensitivity metrics when none are named."""
PORTFOLIO_METRICS = {"tornado": ["investor_irr", "max_funding_gap"], "sobol": ["investor_irr"]}
"""A portfolio's sensitivity metrics when none are named."""


def _sets(overrides: Overrides) -> list[tuple[str, Any]]:
    if overrides is None:
        return []
    items = overrides.items() if isinstance(overrides, Mapping) else overrides
    return [(str(k), v) for k, v in items]


def _cases(cases: Sequence[str] | str | None) -> list[str] | None:
    if cases is None:
        return None
    chosen = [cases] if isinstance(cases, str) else list(cases)
    return chosen or None


def _number(path: str, value: Any) -> float:
    """A swept value as given (an int stays an int, as ``START:STOP:STEP`` of whole numbers
    gives), refusing what is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise UsageError(f"sweep {path}: values must be numbers; got {value!r}")
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        raise UsageError(f"sweep {path}: values must be finite; got {value!r}")
    return value


def _is_portfolio(scenario: Source) -> bool:
    from mhep_model.scenario.portfolio import is_portfolio

    return is_portfolio(load_yaml(scenario))


def run(
    scenario: Source,
    cases: Sequence[str] | str | None = None,
    overrides: Overrides = None,
    actuals: str | Path | None = None,
) -> RunResult:
    """Every (selected) case of a scenario or portfolio (``mhep-model run``).

    Returns ``.summary`` and ``.monthly`` (the CSVs' columns; a portfolio's own, with
    ``.contracts_summary`` and ``.contracts_monthly``), ``.variance`` with actuals."""
    from mhep_model.api.build import run_result
    from mhep_model.studies.run import load_model, run_models

    model = load_model(scenario, sets=_sets(overrides), cases=_cases(cases), actuals=actuals)
    return run_result(run_models([model]))


def backtest(
    scenario: Source,
    payments: str | Path | None = None,
    case: str = "recorded",
    overrides: Overrides = None,
    actuals: str | Path | None = None,
) -> BacktestResult:
    """One case's income by calendar quarter against recorded payments (``mhep-model
    backtest``): ``.quarters`` (``backtest.csv``) and ``.summary``
    (``backtest_summary.csv``). ``payments`` is a payments CSV
    (:mod:`mhep_model.scenario.payments`: ``quarter,income`` rows and an optional
    ``total``); without one, the ``income`` column of the scenario's actuals (or
    ``actuals``) is the record. The model's timing comes from the scenario's terms alone."""
    from mhep_model.api.build import backtest_result
    from mhep_model.studies.run import load_model, run_models

    model = load_model(scenario, sets=_sets(overrides), cases=[case], actuals=actuals)
    return backtest_result(run_models([model]), None if payments is None else Path(payments))


def compare(
    scenarios: Sequence[Source],
    cases: Sequence[str] | str | None = None,
    overrides: Overrides = None,
    actuals: str | Path | None = None,
) -> CompareResult:
    """Scenarios (labelled by file stem) or one batch file's variants side by side
    (``mhep-model compare``): ``.comparison`` and ``.summary``."""
    from mhep_model.api.build import compare_result
    from mhep_model.studies.compare import compare as run_compare

    sources = [scenarios] if isinstance(scenarios, str | Path | Mapping) else list(scenarios)
    sets, chosen = _sets(overrides), _cases(cases)
    result = run_compare(sources, sets=sets, cases=chosen, actuals=actuals)
    return compare_result(result)


def sweep(
    scenario: Source,
    params: Mapping[str, Sequence[float] | str],
    cases: Sequence[str] | str | None = None,
    overrides: Overrides = None,
    actuals: str | Path | None = None,
    through_amendments: bool = False,
    metrics: Sequence[str] | None = None,
) -> SweepResult:
    """A grid of input values in one batch (``mhep-model sweep``): ``params`` maps each
    swept dotted path to its values, or to ``"START:STOP:STEP"``. ``.frame`` is
    ``sweep.csv``; ``metrics`` (checked, default ``provider_surplus``, a portfolio's
    ``investor_multiple``) are those the CLI tabulates and charts."""
    from mhep_model.api.build import sweep_result
    from mhep_model.studies.sweep import Param, parse_param
    from mhep_model.studies.sweep import sweep as run_sweep

    grid = [
        parse_param(f"{path}={values}")
        if isinstance(values, str)
        else Param(path, tuple(_number(path, v) for v in values))
        for path, values in params.items()
    ]
    sets, chosen = _sets(overrides), _cases(cases)
    if _is_portfolio(scenario):
        refuse_portfolio_actuals(actuals, scenario)
    result = run_sweep(
        scenario, grid, sets=sets, cases=chosen, actuals=actuals, through=through_amendments
    )
    return sweep_result(result, metrics, through_amendments)


def stress(
    scenario: Source,
    paths: int = 10_000,
    seed: int = 0,
    cases: Sequence[str] | str | None = None,
    overrides: Overrides = None,
    actuals: str | Path | None = None,
    *,
    chunk: int = 8192,
    keep_paths: bool = False,
    keep_monthly: bool = False,
    cluster: Any = None,
    progress: Any = None,
) -> StressResult:
    """Monte Carlo stress test (``mhep-model stress``, spec section 9): ``.summary`` is
    ``stress_summary.csv``; with ``keep_paths``, ``.paths`` is ``paths.csv``. The same
    seed gives the same numbers for any ``chunk`` and on any ``cluster``
    (:class:`mhep_model.studies.cluster.Cluster`). ``keep_monthly`` keeps the monthly
    series the charts draw."""
    from mhep_model.api.build import stress_result

    if _is_batch(scenario):
        return _stress_batch(
            scenario, paths, seed, cases, overrides, actuals, chunk, keep_paths, keep_monthly,
            cluster, progress,
        )  # fmt: skip
    from mhep_model.studies.stress import stress as run_stress

    result = run_stress(
        scenario,
        paths=paths,
        seed=seed,
        chunk_paths=chunk,
        progress=progress,
        cluster=cluster,
        sets=_sets(overrides),
        cases=_cases(cases),
        keep_reserves=keep_monthly,
        keep_paths=keep_paths,
        actuals=actuals,
    )
    return stress_result(result, keep_paths)


def _is_batch(scenario: Source) -> bool:
    from mhep_model.scenario.batch import is_batch

    return is_batch(load_yaml(scenario))


def _stress_batch(
    scenario: Source,
    paths: int,
    seed: int,
    cases: Sequence[str] | str | None,
    overrides: Overrides,
    actuals: str | Path | None,
    chunk: int,
    keep_paths: bool,
    keep_monthly: bool,
    cluster: Any,
    progress: Any,
) -> StressResult:
    """A batch file's variants stressed over the same paths (spec 9): ``.summary`` has a
    ``variant`` column; ``.frames["stress_paired.csv"]`` each variant against the first."""
    from mhep_model.api.build import batch_stress_result
    from mhep_model.studies.stress import StressOptions
    from mhep_model.studies.stress_batch import batch_entries, stress_batch

    opts = StressOptions(
        paths=paths,
        seed=seed,
        chunk_paths=chunk,
        progress=progress,
        keep_reserves=keep_monthly,
        keep_paths=keep_paths,
        cluster=cluster,
    )
    entries = batch_entries(_sets(overrides), _cases(cases), actuals)
    batch = stress_batch(scenario, entries=entries, opts=opts)
    return batch_stress_result(batch, keep_paths)


def solve(
    scenario: Source,
    vary: str,
    target: tuple[str, float] | str,
    between: tuple[float, float] | None = None,
    cases: Sequence[str] | str | None = None,
    overrides: Overrides = None,
    actuals: str | Path | None = None,
    through_amendments: bool = False,
) -> SolveResult:
    """Goal seek (``mhep-model solve``): per case, the value of input ``vary`` at which the
    summary metric reaches the target (``("provider_min_reserves", 0)`` or
    ``"provider_min_reserves=0"``). ``.frame`` has a row per case."""
    from mhep_model.api.build import solve_result
    from mhep_model.studies.solve import parse_target
    from mhep_model.studies.solve import solve as run_solve

    goal = parse_target(target) if isinstance(target, str) else (target[0], float(target[1]))
    sets, chosen = _sets(overrides), _cases(cases)
    if _is_portfolio(scenario):
        refuse_portfolio_actuals(actuals, scenario)
    found = run_solve(
        scenario,
        vary,
        goal,
        cases=chosen,
        sets=sets,
        between=between,
        actuals=actuals,
        through=through_amendments,
    )
    return solve_result(found)


def sensitivity(
    scenario: Source,
    method: str = "tornado",
    metrics: Sequence[str] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    vary: Sequence[str] = (),
    by: float | str = 0.2,
    cases: Sequence[str] | str | None = None,
    overrides: Overrides = None,
    *,
    with_amendments: bool = False,
    samples: int = 1024,
    seed: int = 0,
    cluster: Any = None,
    progress: Any = None,
) -> SensitivityResult:
    """Which assumptions matter (``mhep-model sensitivity``): a tornado (each input at
    its low and high value) or, with ``method="sobol"``, Sobol indices. ``ranges`` maps
    dotted paths to ``(low, high)``; ``vary`` paths move by ``by`` (0.2 or ``"20%"``);
    with neither, the spread of the scenario's own cases. ``.frame`` is
    ``sensitivity.csv`` or ``sobol.csv``."""
    from mhep_model.api.build import sensitivity_result
    from mhep_model.studies.sensitivity import check_metrics, parse_by, parse_range, tornado
    from mhep_model.studies.sobol import sobol

    if method not in ("tornado", "sobol"):
        raise UsageError(f"--method is tornado or sobol, got {method!r}")
    if method == "tornado" and cluster is not None:
        raise UsageError(
            "--scheduler and --dask are for --method sobol (a tornado is one small batch)"
        )
    options: dict[str, Any] = {
        "ranges": [parse_range(f"{p}={lo!r}:{hi!r}") for p, (lo, hi) in (ranges or {}).items()],
        "vary": list(vary),
        "by": parse_by(by if isinstance(by, str) else f"{float(by):f}"),
        "sets": _sets(overrides),
        "cases": _cases(cases),
        "with_amendments": with_amendments,
    }
    defaults = PORTFOLIO_METRICS if _is_portfolio(scenario) else CONTRACT_METRICS
    if method == "sobol":
        options |= {"samples": samples, "seed": seed, "cluster": cluster, "progress": progress}
        study: Any = sobol(scenario, **options)
    else:
        study = tornado(scenario, **options)
    chosen = list(metrics) if metrics else defaults[method]
    check_metrics(chosen, study.metrics)
    return sensitivity_result(study, method, chosen, with_amendments)


def explain(scenario: Source) -> Explanation:
    """A scenario, portfolio or batch file in plain English (``mhep-model explain``):
    ``.text`` (markdown lines) and ``.diagram`` (the payment flows as a Mermaid chart)."""
    from mhep_model.report.explain import explain as explain_lines
    from mhep_model.report.explain_batch import explain_batch
    from mhep_model.report.mermaid import mermaid
    from mhep_model.scenario.batch import is_batch, load_batch
    from mhep_model.studies.run import load_model

    doc = load_yaml(scenario)
    batch = doc if is_batch(doc) else None
    if batch is not None:
        load_batch(batch)  # every variant must be valid before it is explained
        doc = load_yaml(Path(batch.file).parent / str(batch.data["base"]))
    model = load_model(doc)
    text, diagram = explain_lines(model), mermaid(model)
    if batch is not None:
        text = [*explain_batch(batch), "", "---", "", *text]
    return Explanation(tuple(text), tuple(diagram))


def validate(scenario: Source) -> str:
    """Check a scenario, portfolio or batch file without running it (every case, every
    amended version); returns what it holds in a few words, raises MhepError."""
    from mhep_model.scenario import resolve
    from mhep_model.scenario.batch import is_batch, load_batch
    from mhep_model.scenario.portfolio import is_portfolio, load_portfolio

    doc = load_yaml(scenario)
    if is_portfolio(doc):
        pf = load_portfolio(doc)
        return (
            f"portfolio of {len(pf.contracts)} contracts, {len(pf.case_names)} cases, "
            f"{len(pf.spec.shared_payers)} shared payers"
        )
    if is_batch(doc):
        batch = load_batch(doc)
        return f"batch of {len(batch.variants)} variants of {batch.base_file}"
    resolved = resolve(doc)
    n_amend = len(resolved.base.amendments)
    return f"{len(resolved.cases)} cases, {n_amend} amendment{'s' if n_amend != 1 else ''}"


__all__ = [
    "BacktestResult",
    "CompareResult",
    "Explanation",
    "Result",
    "RunResult",
    "SensitivityResult",
    "SolveResult",
    "StressResult",
    "SweepResult",
    "allow_outside",
    "backtest",
    "compare",
    "explain",
    "run",
    "sensitivity",
    "solve",
    "stress",
    "sweep",
    "validate",
]
