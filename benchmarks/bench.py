"""Speed figures for the closing notes: `make bench`.

1. For each seed scenario: the wall time of a whole `mhep-model run` (a fresh process:
   start-up, imports, validation, engine, tables and CSVs), and of the engine alone
   (``engine.run`` on compiled inputs), as the median of repeated runs.
2. A sweep of 2 parameters x 50 values x 3 cases (7,500 scenario rows) of Staffordshire,
   whole process, against a single 3-case run; and a 4-variant batch comparison.
3. A 5-contract portfolio (the three seed contracts, two of them twice): deterministic run
   and stress at 100k paths against its draw floor.
4. `mhep-model stress` of Staffordshire's medium case (48 months) for 10k, 100k and 1M
   paths: the draw floor (the time numpy alone needs for the run's random draws, on one
   core), the whole run's wall time (a fresh process, on all cores, CSVs written), path-
   months per second and the process's peak memory.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from mhep_model.engine import run
from mhep_model.engine.stochastic import BLOCK, block_rng, draw_flows
from mhep_model.scenario import compile_inputs, load
from mhep_model.studies.stress import _case_key, case_uncertainty

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
CLI = Path(sys.executable).parent / "mhep-model"


TORNADO_INPUTS = [
    "referrals.workers",
    "referrals.per_worker_per_year",
    "stages.engagement.rate",
    "stages.job_start.rate",
    "stages.sustainment.rate",
    "stages.engagement.capacity_per_fte",
    "outcomes.engagement.tariff",
    "payers.commissioner.cap",
    "payers.sof.cap",
    "payers.cbo.cap",
    "payers.cbo.tariff_factor",
    "provider.block.annual",
    "provider.outcome_payments.share_of_tariff",
    "provider.outcome_payments.annual_cap",
    "provider.costs.staff_fte",
    "provider.costs.cost_per_fte",
    "provider.costs.fixed_annual",
    "provider.opening_reserves",
    "spv.management_fee_annual",
    "investor.loan_rate",
]
"""Twenty inputs of the Staffordshire scenario, each moved 20% down and up."""


def median_seconds(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print(f"{'scenario':<16} {'rows x months':>14} {'whole run [s]':>14} {'engine [ms]':>12}")
    for path in SCENARIOS:
        resolved = load(path)
        inputs = compile_inputs(resolved)
        engine_s = median_seconds(lambda inputs=inputs: run(inputs), 50)
        with tempfile.TemporaryDirectory() as out:
            cmd = [str(CLI), "run", str(path), "--out", out, "--quiet"]
            whole_s = median_seconds(lambda cmd=cmd: subprocess.run(cmd, check=True), 5)
        shape = f"{inputs.rows} x {inputs.months}"
        print(f"{path.stem:<16} {shape:>14} {whole_s:>14.3f} {engine_s * 1000:>12.2f}")

    staffordshire = ROOT / "scenarios" / "staffordshire.yaml"
    with tempfile.TemporaryDirectory() as out:
        single = [str(CLI), "run", str(staffordshire), "--out", out, "--quiet"]
        grid = [
            str(CLI),
            "sweep",
            str(staffordshire),
            "--param",
            "provider.block.annual=0:245000:5000",
            "--param",
            "referrals.scale=0.5:1.48:0.02",
            "--out",
            out,
            "--quiet",
        ]
        batch = ROOT / "scenarios" / "renegotiations" / "staffordshire.yaml"
        versus = [str(CLI), "compare", str(batch), "--out", out, "--quiet"]
        twenty = [str(CLI), "sensitivity", str(staffordshire), "--out", out, "--quiet"]
        for path in TORNADO_INPUTS:
            twenty += ["--vary", path]
        run_s = median_seconds(lambda: subprocess.run(single, check=True), 5)
        sweep_s = median_seconds(lambda: subprocess.run(grid, check=True), 3)
        compare_s = median_seconds(lambda: subprocess.run(versus, check=True), 3)
        tornado_s = median_seconds(lambda: subprocess.run(twenty, check=True), 3)
        ten = [str(CLI), "sensitivity", str(staffordshire), "--method", "sobol"]
        ten += ["--samples", "1024", "--case", "medium", "--out", out, "--quiet"]
        for path in TORNADO_INPUTS[:10]:
            ten += ["--vary", path]
        sobol_s = median_seconds(lambda: subprocess.run(ten, check=True), 1)
    print()
    print(f"single 3-case run (whole process)           {run_s:8.3f} s")
    ratio = sweep_s / run_s
    print(f"sweep 2 x 50 values x 3 cases = 7,500 rows  {sweep_s:8.3f} s  ({ratio:.1f}x the run)")
    print(f"compare: 4 variants x 3 cases, one batch    {compare_s:8.3f} s")
    ratio = tornado_s / run_s
    print(f"tornado: 20 inputs x 3 cases = 123 rows     {tornado_s:8.3f} s  ({ratio:.1f}x the run)")
    rate = 1024 * 12 / sobol_s
    print(f"sobol: N = 1,024, 10 inputs = 12,288 runs   {sobol_s:8.3f} s  ({rate:,.0f} runs/s)")


class TimedRng:
    """A generator that adds up the time spent inside its draw methods."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.rng, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return timed


def draw_floor(path: Path, case: str, paths: int) -> float:
    """Seconds numpy spends making the draws of a stress run (one core)."""
    resolved = load(path, cases=[case])
    inp = compile_inputs(resolved)
    unc = case_uncertainty(resolved)
    total = 0.0
    for block in range(-(-paths // BLOCK)):
        size = min(BLOCK, paths - block * BLOCK)
        timed = TimedRng(block_rng(0, _case_key(case), block))
        draw_flows(inp, unc, 0, size, timed)  # type: ignore[arg-type]
        total += timed.seconds
    return total


def stress_figures() -> None:
    staffordshire = ROOT / "scenarios" / "staffordshire.yaml"
    months = compile_inputs(load(staffordshire, cases=["medium"])).months
    print()
    print(
        f"{'paths':>10} {'months':>7} {'draw floor [s]':>15} {'wall [s]':>9} "
        f"{'x floor':>8} {'path-months/s':>14} {'peak MB':>8}"
    )
    for paths in (10_000, 100_000, 1_000_000):
        floor = draw_floor(staffordshire, "medium", paths)
        with tempfile.TemporaryDirectory() as out:
            cmd = [str(CLI), "stress", str(staffordshire), "--case", "medium"]
            cmd += ["--paths", str(paths), "--out", out, "--quiet"]
            start = time.perf_counter()
            subprocess.run(cmd, check=True)
            wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # largest so far
        rate = paths * months / wall
        print(
            f"{paths:>10,} {months:>7} {floor:>15.2f} {wall:>9.2f} {wall / floor:>8.2f} "
            f"{rate:>14,.0f} {peak:>8.0f}"
        )


PORTFOLIO = """\
name: Five contracts, one SPV (benchmark)
contracts:
  staffordshire: {root}/scenarios/staffordshire.yaml
  tower_hamlets: {root}/scenarios/tower_hamlets.yaml
  haringey: {root}/scenarios/haringey.yaml
  staffordshire_2: {root}/scenarios/staffordshire.yaml
  tower_hamlets_2: {root}/scenarios/tower_hamlets.yaml
shared_payers: {{sof: {{cap: 1650000}}, cbo: {{cap: 550000}}}}
spv: {{management_fee_annual: 130000, min_cash: 40000}}
investor: {{commitment: 700000, equity_share: 0.25}}
"""


def portfolio_figures() -> None:
    """A 5-contract portfolio: the deterministic run, and stress at 100k paths against the
    draw floor (every contract's draws) with the peak memory."""
    from mhep_model.engine.portfolio import run_portfolio
    from mhep_model.scenario.portfolio import load_portfolio
    from mhep_model.scenario.portfolio_inputs import compile_portfolio
    from mhep_model.scenario.yamlio import load_yaml
    from mhep_model.studies.portfolio import deterministic_flows
    from mhep_model.studies.portfolio_stress import contract_key

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "five.yaml"
        path.write_text(PORTFOLIO.format(root=ROOT))
        pf = load_portfolio(load_yaml(path), cases=["medium"])
        pin = compile_portfolio(pf)
        engine_s = median_seconds(lambda: run_portfolio(pin, deterministic_flows(pin)), 20)
        with tempfile.TemporaryDirectory() as out:
            cmd = [str(CLI), "run", str(path), "--out", out, "--quiet"]
            whole_s = median_seconds(lambda: subprocess.run(cmd, check=True), 3)
        print()
        print(
            f"5-contract portfolio, 3 cases: whole run {whole_s:.3f} s; engine (1 case) "
            f"{engine_s * 1000:.2f} ms"
        )
        paths = 100_000
        floor = 0.0
        for c, contract in enumerate(pf.contracts):
            resolved = contract.resolved
            unc = case_uncertainty(resolved)
            for block in range(-(-paths // BLOCK)):
                size = min(BLOCK, paths - block * BLOCK)
                timed = TimedRng(block_rng(0, contract_key(contract.name, "medium"), block))
                draw_flows(pin.contracts[c], unc, 0, size, timed)  # type: ignore[arg-type]
                floor += timed.seconds
        with tempfile.TemporaryDirectory() as out:
            cmd = [str(CLI), "stress", str(path), "--case", "medium", "--paths", str(paths)]
            cmd += ["--out", out, "--quiet"]
            start = time.perf_counter()
            subprocess.run(cmd, check=True)
            wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"5-contract portfolio stress, {paths:,} paths (medium): draw floor {floor:.2f} s, "
            f"wall {wall:.2f} s ({wall / floor:.2f}x floor), peak {peak:.0f} MB (largest child "
            "so far)"
        )


def dask_figures() -> None:
    """Stress, 1,000,000 paths of one case, on one process and on a local Dask cluster
    (a worker per core): the time of each and whether the files are the same."""
    staffordshire = ROOT / "scenarios" / "staffordshire.yaml"
    base = [str(CLI), "stress", str(staffordshire), "--case", "medium", "--paths", "1000000"]
    with tempfile.TemporaryDirectory() as out:
        alone = [*base, "--out", f"{out}/alone", "--quiet"]
        spread = [*base, "--dask", "--out", f"{out}/dask", "--quiet"]
        alone_s = median_seconds(lambda: subprocess.run(alone, check=True), 1)
        dask_s = median_seconds(lambda: subprocess.run(spread, check=True), 1)
        same = all(
            Path(f"{out}/alone/{name}").read_bytes() == Path(f"{out}/dask/{name}").read_bytes()
            for name in ("stress_summary.csv",)
        )
        ten = [str(CLI), "sensitivity", str(staffordshire), "--method", "sobol", "--quiet"]
        ten += ["--samples", "1024", "--case", "medium"]
        for path in TORNADO_INPUTS[:10]:
            ten += ["--vary", path]
        sobol_alone = median_seconds(
            lambda: subprocess.run([*ten, "--out", f"{out}/s1"], check=True), 1
        )
        sobol_dask = median_seconds(
            lambda: subprocess.run([*ten, "--dask", "--out", f"{out}/s2"], check=True), 1
        )
        sobol_same = (
            Path(f"{out}/s1/sobol.csv").read_bytes() == Path(f"{out}/s2/sobol.csv").read_bytes()
        )
    print()
    print(
        f"stress 1M paths, one case: one process {alone_s:.1f} s, local Dask cluster "
        f"{dask_s:.1f} s ({dask_s / alone_s:.2f}x); identical results: {same}"
    )
    print(
        f"sobol N = 1,024 x 10 inputs: one process {sobol_alone:.1f} s, local Dask cluster "
        f"{sobol_dask:.1f} s ({sobol_dask / sobol_alone:.2f}x); identical: {sobol_same}"
    )


if __name__ == "__main__":
    main()
    portfolio_figures()
    stress_figures()
    dask_figures()
