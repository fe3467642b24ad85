"""Speed figures for the closing notes: `make bench` (about 2 minutes on 2 cores) and
`make bench-full` (adds the 1M-path figures and Dask, about 20 minutes).

Every figure that has a target is printed as a ratio of two times measured in the same
run, so that a busy machine moves both; the stress draw floor is also given in thread CPU
time (what numpy spends making the draws on one core, whatever else the machine does).

1. Start-up: `mhep-model --help` against `python -c "import typer, rich.console"`, taken
   in turns (15 pairs, medians).
2. Each shipped scenario: a whole `mhep-model run` (a fresh process: start-up, imports,
   validation, engine, tables and CSVs) and the engine alone.
3. The engine on a 10,000-case batch: case-months a second, with and without the IRR.
4. Sweeps: 2 x 50 values x 3 cases = 7,500 rows against a single run; a 100,000-row one
   (its peak memory).
5. compare, tornado (20 inputs) and Sobol (N = 1,024 over 10 inputs).
6. `stress` of Staffordshire's medium case (48 months), 10k and 100k paths, against the
   draw floor; with --full also 1M paths, and 1M paths over 192 months (peak memory, and
   the same results for two --chunk sizes).
7. A 5-contract portfolio: run, and stress at 100k paths against its draw floor.
8. With --full: stress 1M paths and Sobol on a local Dask cluster against one process.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mhep_model.engine import model, summary
from mhep_model.engine.heap import retain_freed_memory
from mhep_model.engine.inputs import take_rows
from mhep_model.engine.stochastic import BLOCK, block_streams, draw_flows
from mhep_model.scenario import compile_inputs, load
from mhep_model.studies.stress import case_uncertainty, stream_key

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = [
    ROOT / "scenarios" / f"{n}.yaml" for n in ("haringey", "staffordshire", "tower_hamlets")
]
STAFFORDSHIRE = ROOT / "scenarios" / "staffordshire.yaml"
CLI = Path(sys.executable).parent / "mhep-model"
LONG = ["--set", "contract.term_months=180", "--set", "payers.cbo.window=[25, 192]"]
"""Staffordshire over 192 months: a 180-month term, CBO paying from month 25 on."""

TORNADO_INPUTS = [
    "referrals.workers",
    "referrals.per_worker_per_year",
    "stages.engagement.rate",
    "stages.job_start.rate",
    "stages.sustainment.rate",
    "stages.sustain_6w.rate",
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


@dataclasses.dataclass(frozen=True)
class Child:
    """One finished process: its wall time, CPU time and peak memory."""

    wall: float
    cpu: float
    peak_mb: float


def child(cmd: list[str]) -> Child:
    """Run ``cmd`` to the end; its own resource use (not the largest child so far). Its
    notes on stderr are shown only if it fails."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            sys.stderr.write(err.read().decode(errors="replace"))
            raise SystemExit(f"bench: {' '.join(cmd)} exited with {proc.returncode}")
    return Child(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_child(cmd: list[str], repeat: int) -> float:
    return statistics.median(child(cmd).wall for _ in range(repeat))


def startup() -> None:
    baseline = [sys.executable, "-c", "import typer, rich.console"]
    pairs = [(child(baseline).wall, child([str(CLI), "--help"]).wall) for _ in range(15)]
    # taken in turns, so that a busy spell of the machine moves both sides alike
    imports = statistics.median(a for a, _ in pairs)
    helps = statistics.median(b for _, b in pairs)
    print(
        f"start-up: mhep-model --help {helps:.3f} s, import typer, rich.console "
        f"{imports:.3f} s: {helps / imports:.2f}x (target 1.3x)"
    )


def scenarios() -> None:
    print()
    print(f"{'scenario':<16} {'rows x months':>14} {'whole run [s]':>14} {'engine [ms]':>12}")
    whole = {}
    for path in SCENARIOS:
        inputs = compile_inputs(load(path))
        engine_s = median_seconds(lambda inputs=inputs: model.run(inputs), 20)
        with tempfile.TemporaryDirectory() as out:
            cmd = [str(CLI), "run", str(path), "--out", out, "--quiet"]
            whole[path.stem] = median_child(cmd, 3)
        shape = f"{inputs.rows} x {inputs.months}"
        print(f"{path.stem:<16} {shape:>14} {whole[path.stem]:>14.3f} {engine_s * 1000:>12.2f}")


def engine_batch(rows: int = 10_000) -> None:
    """Case-months a second of the engine (summaries, as sweeps and samples read them)."""
    inp = compile_inputs(load(STAFFORDSHIRE))
    big = take_rows(inp, np.arange(rows) % inp.rows)
    scale = np.random.default_rng(0).uniform(0.5, 1.5, size=(rows, 1))
    big = dataclasses.replace(big, referrals_scale=big.referrals_scale * scale)
    cells = big.rows * big.months
    with_irr = min(median_seconds(lambda: model.run_summary(big), 1) for _ in range(5))
    saved = summary.irr_annual
    summary.irr_annual = lambda cf: np.zeros(cf.shape[0])  # type: ignore[assignment]
    try:
        without = min(median_seconds(lambda: model.run_summary(big), 1) for _ in range(5))
    finally:
        summary.irr_annual = saved
    print()
    print(
        f"engine, {rows:,} cases x {big.months} months: {cells / without / 1e6:.2f}M "
        f"case-months/s without IRR (target 3M), {cells / with_irr / 1e6:.2f}M with it "
        "(target 1.5M)"
    )


def _batch(path: Path, rows: int, sets: Sequence[tuple[str, Any]] = ()) -> Any:
    """``rows`` cases of a scenario's engine inputs, referral scale spread 0.5-1.5."""
    inp = compile_inputs(load(path, sets=list(sets)))
    big = take_rows(inp, np.arange(rows) % inp.rows)
    scale = np.random.default_rng(0).uniform(0.5, 1.5, size=(rows, 1))
    return dataclasses.replace(big, referrals_scale=big.referrals_scale * scale)


def v3_costs(rows: int = 10_000) -> None:
    """Issue 25: the engine with the v3 service stop (run, find each row's stop month,
    run again) and with provider arrears, against the same rows without them."""
    ld = ROOT / "scenarios" / "lcf" / "tower_hamlets_ld.yaml"
    no_stop = ROOT / "scenarios" / "lcf" / "tower_hamlets_ld_no_stop.yaml"
    e11 = ROOT / "tests" / "data" / "examples" / "e11_spv_cash" / "scenario.yaml"
    pairs = [
        ("service stop (Tower Hamlets LD, on_cap)", _batch(ld, rows), _batch(no_stop, rows)),
        (
            "provider arrears (e11, pay_provider_when_able)",
            _batch(e11, rows),
            _batch(e11, rows, [("spv.pay_provider_when_able", False)]),
        ),
    ]
    print()
    for label, with_v3, without in pairs:
        cells = with_v3.rows * with_v3.months
        on = min(median_seconds(lambda b=with_v3: model.run_summary(b), 1) for _ in range(5))
        off = min(median_seconds(lambda b=without: model.run_summary(b), 1) for _ in range(5))
        print(
            f"engine with {label}: {cells / on / 1e6:.2f}M case-months/s, "
            f"{cells / off / 1e6:.2f}M without: {on / off:.2f}x (target 1.3x)"
        )


def studies() -> None:
    with tempfile.TemporaryDirectory() as out:
        single = [str(CLI), "run", str(STAFFORDSHIRE), "--out", out, "--quiet"]
        grid = [str(CLI), "sweep", str(STAFFORDSHIRE), "--out", out, "--quiet"]
        grid += ["--param", "provider.block.annual=0:245000:5000"]
        grid += ["--param", "referrals.scale=0.5:1.48:0.02"]
        large = [str(CLI), "sweep", str(STAFFORDSHIRE), "--out", out, "--quiet"]
        large += ["--param", "referrals.scale=0.5:1.49:0.01"]
        large += ["--param", "stages.job_start.rate=0.1:0.432:0.001"]
        batch = ROOT / "scenarios" / "staffordshire_renegotiations.yaml"
        versus = [str(CLI), "compare", str(batch), "--out", out, "--quiet"]
        twenty = [str(CLI), "sensitivity", str(STAFFORDSHIRE), "--out", out, "--quiet"]
        for path in TORNADO_INPUTS:
            twenty += ["--vary", path]
        ten = [str(CLI), "sensitivity", str(STAFFORDSHIRE), "--method", "sobol"]
        ten += ["--samples", "1024", "--case", "medium", "--out", out, "--quiet"]
        for path in TORNADO_INPUTS[:10]:
            ten += ["--vary", path]
        # the same 12,288 rows as a sweep on the fast path: 96 x 128 values, one case
        rows = [str(CLI), "sweep", str(STAFFORDSHIRE), "--case", "medium", "--out", out]
        rows += ["--param", "referrals.scale=0.5:1.45:0.01", "--quiet"]
        rows += ["--param", "stages.job_start.rate=0.1:0.354:0.002"]
        run_s = median_child(single, 3)
        sweep_s = median_child(grid, 3)
        big = child(large)
        compare_s = median_child(versus, 3)
        tornado_s = median_child(twenty, 3)
        sobol_s = child(ten).wall
        same_rows_s = median_child(rows, 3)
    print()
    print(f"single 3-case run (whole process)           {run_s:8.3f} s")
    ratio = sweep_s / run_s
    print(
        f"sweep 2 x 50 values x 3 cases = 7,500 rows  {sweep_s:8.3f} s  ({ratio:.2f}x the run; "
        "target 2x)"
    )
    print(
        f"sweep 333 x 100 values x 3 cases = 99,900 rows {big.wall:5.1f} s, peak "
        f"{big.peak_mb:,.0f} MB"
    )
    print(f"compare: 4 variants x 3 cases, one batch    {compare_s:8.3f} s")
    ratio = tornado_s / run_s
    print(f"tornado: 20 inputs x 3 cases = 123 rows     {tornado_s:8.3f} s  ({ratio:.1f}x the run)")
    rate = 1024 * 12 / sobol_s
    print(f"sobol: N = 1,024, 10 inputs = 12,288 runs   {sobol_s:8.3f} s  ({rate:,.0f} runs/s)")
    print(
        f"  (its inputs include workers x referrals per worker) against a 12,288-row sweep "
        f"{same_rows_s:.3f} s: {sobol_s / same_rows_s:.2f}x (target 2x)"
    )


def draw_floor(path: Path, case: str, paths: int, sets: Sequence[str] = ()) -> tuple[float, float]:
    """Wall and thread CPU seconds of the draws alone of a stress run (one core): every
    block's whole people (keyed uniforms and their inversion), no engine."""
    from mhep_model.scenario import parse_set

    resolved = load(path, cases=[case], sets=[parse_set(s) for s in sets[1::2]])
    inp = compile_inputs(resolved)
    unc = case_uncertainty(resolved)
    start, cpu = time.perf_counter(), time.thread_time()
    for block in range(-(-paths // BLOCK)):
        size = min(BLOCK, paths - block * BLOCK)
        draw_flows(inp, unc, 0, block_streams(0, stream_key("", case), block, size))
    return time.perf_counter() - start, time.thread_time() - cpu


def batch_figures() -> None:
    """A batch of k variants stressed over the same paths against one scenario's stress
    (issue 23: about k times)."""
    batch = ROOT / "scenarios" / "staffordshire_renegotiations.yaml"
    from mhep_model.scenario.yamlio import load_yaml

    k = len(load_yaml(batch).data["variants"])
    with tempfile.TemporaryDirectory() as out:
        one = median_child(
            [str(CLI), "stress", str(STAFFORDSHIRE), "--paths", "10000", "-q", "--out", out], 3
        )
        many = median_child(
            [str(CLI), "stress", str(batch), "--paths", "10000", "-q", "--out", out], 3
        )
    print(
        f"batch stress, {k} variants x 3 cases x 10,000 paths: {many:.2f} s against {one:.2f} s "
        f"for one scenario ({many / one:.2f}x; at most about {k}x: variants with the same "
        "funnel share their draws)"
    )


def stress_figures(full: bool) -> None:
    print()
    print(
        f"{'paths':>10} {'months':>7} {'floor [s]':>10} {'floor CPU':>10} {'wall [s]':>9} "
        f"{'x floor':>8} {'x CPU':>6} {'path-months/s':>14} {'peak MB':>8}"
    )
    runs = [(10_000, [], 1), (100_000, [], 3)]
    if full:
        runs += [(1_000_000, [], 1), (1_000_000, LONG, 1)]
    for paths, sets, repeat in runs:
        floor, floor_cpu = draw_floor(STAFFORDSHIRE, "medium", paths, sets)
        with tempfile.TemporaryDirectory() as out:
            cmd = [str(CLI), "stress", str(STAFFORDSHIRE), "--case", "medium"]
            cmd += ["--paths", str(paths), "--out", out, "--quiet", *sets]
            done = [child(cmd) for _ in range(repeat)]
        best = sorted(done, key=lambda c: c.wall)[len(done) // 2]
        months = 192 if sets else 48
        print(
            f"{paths:>10,} {months:>7} {floor:>10.2f} {floor_cpu:>10.2f} {best.wall:>9.2f} "
            f"{best.wall / floor:>8.2f} {best.wall / floor_cpu:>6.2f} "
            f"{paths * months / best.wall:>14,.0f} {best.peak_mb:>8.0f}"
        )
    print("(target at 100k paths: wall within 1.2x the draw floor)")
    stop_figures()
    batch_figures()
    if full:
        with tempfile.TemporaryDirectory() as out:
            base = [str(CLI), "stress", str(STAFFORDSHIRE), "--case", "medium", "--quiet"]
            base += ["--paths", "1000000", *LONG]
            big = child([*base, "--chunk", "65536", "--out", f"{out}/a"])
            small = (Path(out) / "a" / "stress_summary.csv").read_bytes()
            child([*base, "--chunk", "8192", "--out", f"{out}/b"])
            same = small == (Path(out) / "b" / "stress_summary.csv").read_bytes()
        print(
            f"1M paths x 192 months with --chunk 65536: peak {big.peak_mb:,.0f} MB (target "
            f"2,000); the same results as --chunk 8192: {same}"
        )


def stop_figures(paths: int = 100_000) -> None:
    """Stress of a contract that stops on its caps (v3: each path finds its own stop
    month) against its draw floor (issue 25: within 1.2x)."""
    ld = ROOT / "scenarios" / "lcf" / "tower_hamlets_ld.yaml"
    floor, floor_cpu = draw_floor(ld, "medium", paths)
    with tempfile.TemporaryDirectory() as out:
        cmd = [str(CLI), "stress", str(ld), "--case", "medium", "--paths", str(paths)]
        done = [child([*cmd, "--out", out, "--quiet"]) for _ in range(3)]
    best = sorted(done, key=lambda c: c.wall)[1]
    print(
        f"stress with the service stop (Tower Hamlets LD, {paths:,} paths): floor "
        f"{floor:.2f} s (CPU {floor_cpu:.2f} s), wall {best.wall:.2f} s: "
        f"{best.wall / floor:.2f}x the floor (target 1.2x)"
    )


PORTFOLIO = """\
name: Five contracts, one SPV (benchmark)
contracts:
  staffordshire: staffordshire.yaml
  tower_hamlets: tower_hamlets.yaml
  haringey: haringey.yaml
  staffordshire_2: staffordshire.yaml
  tower_hamlets_2: tower_hamlets.yaml
shared_payers: {sof: {cap: 1650000}, cbo: {cap: 550000}}
spv: {management_fee_annual: 130000, min_cash: 40000}
investor: {commitment: 700000, equity_share: 0.25}
"""


def portfolio_figures() -> None:
    """A 5-contract portfolio: the deterministic run, and stress at 100k paths against the
    draw floor (every contract's draws) with the peak memory."""
    from mhep_model.engine.model import run_model
    from mhep_model.scenario.model_inputs import compile_portfolio
    from mhep_model.scenario.portfolio import load_portfolio
    from mhep_model.scenario.yamlio import load_yaml

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "five.yaml"
        path.write_text(PORTFOLIO)  # its contracts beside it, as a portfolio's must be
        for name in ("staffordshire", "tower_hamlets", "haringey"):
            shutil.copy(ROOT / "scenarios" / f"{name}.yaml", folder)
        pf = load_portfolio(load_yaml(path), cases=["medium"])
        pin = compile_portfolio(pf)
        engine_s = median_seconds(lambda: run_model(pin), 20)
        with tempfile.TemporaryDirectory() as out:
            whole_s = median_child([str(CLI), "run", str(path), "--out", out, "--quiet"], 3)
        print()
        print(
            f"5-contract portfolio, 3 cases: whole run {whole_s:.3f} s; engine (1 case) "
            f"{engine_s * 1000:.2f} ms"
        )
        paths = 100_000
        start = time.perf_counter()
        for c, contract in enumerate(pf.contracts):
            unc = case_uncertainty(contract.resolved)
            for block in range(-(-paths // BLOCK)):
                size = min(BLOCK, paths - block * BLOCK)
                key = stream_key(contract.name, "medium")
                draw_flows(pin.contracts[c], unc, 0, block_streams(0, key, block, size))
        floor = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as out:
            cmd = [str(CLI), "stress", str(path), "--case", "medium", "--paths", str(paths)]
            done = child([*cmd, "--out", out, "--quiet"])
        print(
            f"5-contract portfolio stress, {paths:,} paths (medium): draw floor {floor:.2f} s, "
            f"wall {done.wall:.2f} s ({done.wall / floor:.2f}x floor), peak "
            f"{done.peak_mb:,.0f} MB"
        )


def dask_figures() -> None:
    """Stress, 1,000,000 paths of one case, and Sobol, on one process and on a local Dask
    cluster (a worker per core): the time of each and whether the files are the same."""
    base = [str(CLI), "stress", str(STAFFORDSHIRE), "--case", "medium", "--paths", "1000000"]
    ten = [str(CLI), "sensitivity", str(STAFFORDSHIRE), "--method", "sobol", "--quiet"]
    ten += ["--samples", "1024", "--case", "medium"]
    for path in TORNADO_INPUTS[:10]:
        ten += ["--vary", path]
    with tempfile.TemporaryDirectory() as out:
        alone_s = child([*base, "--out", f"{out}/alone", "--quiet"]).wall
        dask_s = child([*base, "--dask", "--out", f"{out}/dask", "--quiet"]).wall
        name = "stress_summary.csv"
        same = Path(f"{out}/alone/{name}").read_bytes() == Path(f"{out}/dask/{name}").read_bytes()
        sobol_alone = child([*ten, "--out", f"{out}/s1"]).wall
        sobol_dask = child([*ten, "--dask", "--out", f"{out}/s2"]).wall
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


def main() -> None:
    full = "--full" in sys.argv[1:]
    retain_freed_memory()  # the engine as the CLI runs it
    start = time.perf_counter()
    startup()
    scenarios()
    engine_batch()
    v3_costs()
    studies()
    stress_figures(full)
    portfolio_figures()
    if full:
        dask_figures()
    print()
    print(f"make bench{'-full' if full else ''} took {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
