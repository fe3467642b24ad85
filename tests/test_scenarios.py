"""The seed scenarios in scenarios/: they run, cite their sources, and respect every cap."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from mhep_model.studies.run import run_scenario
from tests.conftest import ROOT, SCENARIOS


def test_the_three_seed_contracts_are_here() -> None:
    assert {p.stem for p in SCENARIOS} >= {"staffordshire", "tower_hamlets", "haringey"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_runs_and_respects_caps(path: Path) -> None:
    out = run_scenario(path)
    assert [c.name for c in out.first.cases] == ["low", "medium", "high"]
    inp, res = out.inputs, out.results
    paid_total = res.payments.paid.sum(axis=2)
    assert np.all(paid_total <= inp.payer_cap.max(axis=2) + 1e-6)
    assert np.all(res.spv.drawdown.sum(axis=1) <= inp.commitment + 1e-6)
    s = res.summary
    # more referrals and better conversion give more job starts
    assert s["job_start"][0] < s["job_start"][1] < s["job_start"][2]


ALL_FILES = sorted((ROOT / "scenarios").rglob("*.yaml"))


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_figure_line_cites_a_seed_or_says_assumption(path: Path) -> None:
    """Lines that set a number carry a comment naming a seed or marking an assumption,
    or sit under a comment block that does."""
    lines = path.read_text().splitlines()
    uncited = []
    block_cites = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            block_cites = block_cites or bool(re.search(r"seed 00\d|ASSUMPTION|indigo", stripped))
            continue
        has_number = re.search(r":\s*\[?-?\d", line) and not stripped.startswith(
            ("start:", "name:")
        )
        cites = re.search(r"#.*(seed 00\d|ASSUMPTION|indigo)", line)
        if has_number and not cites and not block_cites:
            uncited.append(line)
        if not stripped.startswith("-"):
            block_cites = False
    assert uncited == []


def test_staffordshire_reset_in_september_2017() -> None:
    out = run_scenario(Path(__file__).parent.parent / "scenarios" / "staffordshire.yaml")
    case = out.first.cases[1]
    assert [v.month for v in case.versions] == [1, 18]
    assert case.versions[0].scenario.provider.block.annual == 60000
    assert case.versions[1].scenario.provider.block.annual == 82500
    assert out.inputs.block_annual[1, 16] == 60000 and out.inputs.block_annual[1, 17] == 82500
    assert out.first.base.payers["commissioner"].cap == 674240
