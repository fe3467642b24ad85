"""Speed figures for the closing notes: `make bench`.

For each seed scenario: the wall time of a whole `mhep-model run` (a fresh process: start-up,
imports, validation, engine, tables and CSVs), and of the engine alone (``engine.run`` on
compiled inputs), as the median of repeated runs.
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


if __name__ == "__main__":
    main()
