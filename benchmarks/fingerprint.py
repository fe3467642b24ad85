"""A fingerprint of everything the engine computes for the project's scenarios: used to tell
mutants that change an output from those that cannot (``make mutation`` then
``python benchmarks/fingerprint.py --survivors``).

Every deterministic array of a run (monthly flows and summaries) of the spec's examples and
the shipped scenarios and portfolios, a few stochastic blocks (a contract, a stopping
contract and a portfolio), a compiled sweep grid and a goal seek, hashed bit for bit.
Run from the mutants folder with ``MUTANT_UNDER_TEST`` set, a mutant whose hash equals the
original's changes no output of these runs.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "data" / "examples"
SCENARIOS = ROOT / "scenarios"


def _feed(h: Any, value: Any) -> None:
    if isinstance(value, np.ndarray):
        h.update(str(value.shape).encode())
        h.update(np.ascontiguousarray(value, dtype=np.float64).tobytes())
    elif isinstance(value, dict):
        for k in sorted(value):
            h.update(str(k).encode())
            _feed(h, value[k])
    elif isinstance(value, list | tuple):
        for v in value:
            _feed(h, v)
    elif hasattr(value, "__dataclass_fields__"):
        for k in value.__dataclass_fields__:
            if k != "inputs":
                _feed(h, getattr(value, k))
    elif value is None or isinstance(value, str | int | float | bool):
        h.update(repr(value).encode())


def fingerprint() -> str:
    from mhep_model.engine.model import run_model
    from mhep_model.engine.stochastic import block_streams, block_summary
    from mhep_model.scenario.batch import is_batch
    from mhep_model.scenario.model_inputs import compile_model, in_case_order
    from mhep_model.scenario.yamlio import load_yaml
    from mhep_model.studies.run import load_model
    from mhep_model.studies.solve import solve
    from mhep_model.studies.stress import case_uncertainty, stream_key
    from mhep_model.studies.sweep import parse_param, sweep

    h = hashlib.sha256()
    files = [*sorted(EXAMPLES.glob("*/scenario.yaml")), EXAMPLES / "e06_portfolio/portfolio.yaml"]
    # the shipped scenarios and portfolios (not the batches: their variants are amendments)
    files += [p for p in sorted(SCENARIOS.rglob("*.yaml")) if not is_batch(load_yaml(p))]
    for path in files:
        model = load_model(path)
        done = run_model(compile_model(model))
        _feed(h, done)
    stochastic = [
        SCENARIOS / "staffordshire.yaml",
        EXAMPLES / "e10_service_stop/scenario.yaml",
        EXAMPLES / "e11_spv_cash/scenario.yaml",
        EXAMPLES / "e09_grants_opening_evidence/scenario.yaml",
        SCENARIOS / "mhep_2016.yaml",
    ]
    for path in stochastic:
        model = load_model(path)
        pin = compile_model(model)
        contracts = (
            [model] if not hasattr(model, "contracts") else [c.resolved for c in model.contracts]
        )
        names = [c.name for c in contracts[0].cases]
        unc = [case_uncertainty(in_case_order(c, names)) for c in contracts]
        for row, case in enumerate(names):
            streams = [block_streams(7, stream_key(c, case), 0, 64) for c in pin.names]
            by_month = {"r": "provider_reserves", "c": "spv_cash"} if pin.names == ("",) else {}
            _feed(h, block_summary(pin, unc, row, streams, by_month))
    grid = sweep(
        SCENARIOS / "staffordshire.yaml",
        [
            parse_param("provider.block.annual=0:120000:20000"),
            parse_param("referrals.scale=0.5:1.5:0.5"),
        ],
    )
    _feed(h, grid.run.summary)
    found = solve(
        SCENARIOS / "staffordshire.yaml",
        "provider.block.annual",
        ("provider_min_reserves", 0.0),
    )
    _feed(h, [found.roots.value, found.roots.at_lo, found.roots.at_hi])
    return h.hexdigest()


def _survivors() -> list[str]:
    out = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "mutmut"), "results"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return [line.split(":")[0].strip() for line in out.splitlines() if "survived" in line]


def main() -> None:
    if "--one" in sys.argv:  # in a child: the mutant is in the environment
        print(fingerprint())
        return
    mutants = ROOT / "mutants"
    env = dict(os.environ, PYTHONPATH=str(mutants), MUTANT_UNDER_TEST="")

    def child(name: str) -> str:
        run = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--one"],
            cwd=mutants,
            env=env | {"MUTANT_UNDER_TEST": name},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return run.stdout.strip() or f"error: {run.stderr.strip().splitlines()[-1:]}"

    original = child("")
    survivors = _survivors()
    changed = []
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = pool.map(child, survivors)
        for i, (name, mine) in enumerate(zip(survivors, results, strict=True), 1):
            if mine != original:
                changed.append(name)
                print(f"CHANGES OUTPUT {name} ({mine[:30]})", flush=True)
            if i % 20 == 0:
                print(f"{i}/{len(survivors)} checked", flush=True)
    print(f"{len(survivors)} survivors; {len(changed)} change an output of the fingerprint runs")


if __name__ == "__main__":
    main()
