"""Speed figures for the closing notes: `make bench`.

1. For each seed scenario: the wall time of a whole `mhep-model run` (a fresh process:
   start-up, imports, validation, engine, tables and CSVs), and of the engine alone
   (``engine.run`` on compiled inputs), as the median of repeated runs.
2. A sweep of 2 parameters x 50 values x 3 cases (7,500 scenario rows) of Staffordshire,
   whole process, against a single 3-case run; and a 4-variant batch comparison.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mhep_model.engine import run
from mhep_model.scenario import compile_inputs, load

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
CLI = Path(sys.executable).parent / "mhep-model"


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
        run_s = median_seconds(lambda: subprocess.run(single, check=True), 5)
        sweep_s = median_seconds(lambda: subprocess.run(grid, check=True), 3)
        compare_s = median_seconds(lambda: subprocess.run(versus, check=True), 3)
    print()
    print(f"single 3-case run (whole process)           {run_s:8.3f} s")
    ratio = sweep_s / run_s
    print(f"sweep 2 x 50 values x 3 cases = 7,500 rows  {sweep_s:8.3f} s  ({ratio:.1f}x the run)")
    print(f"compare: 4 variants x 3 cases, one batch    {compare_s:8.3f} s")


if __name__ == "__main__":
    main()
