"""The shipped scenarios carry the source facts they are built from (issues 11 and 22,
docs/calibration.md): payers, capital, volumes and what INDIGO records was paid. Nothing
here requires a return, a solvency or a funding level: those are results."""

from __future__ import annotations

from pathlib import Path

import pytest

import mhep_model
from mhep_model.report.frames import run_summary
from mhep_model.scenario import load
from mhep_model.scenario.portfolio import load_portfolio
from mhep_model.scenario.yamlio import load_yaml
from mhep_model.studies.run import run_scenario
from mhep_model.studies.run import run_scenario as run_portfolio_file
from tests.conftest import ROOT

SCENARIOS = ROOT / "scenarios"
CONTRACTS_2016 = ["staffordshire", "tower_hamlets", "haringey"]
# indigo_mhep.md Tables B and C; seed 002 Table 1 (capital, share of provider pay on outcomes)
LCF = {
    "haringey_barnet": dict(lcf=596918, com=824316, capital=227000, share=0.25, paid=1439148,
                            claims=2 * 108990, tgt=(799, 379, 113, 93), res=(695, 218, 40, 63)),
    "enfield": dict(lcf=260689, com=360000, capital=126000, share=0.30, paid=620689,
                    claims=38739 + 38740, tgt=(546, 181, 55, 55), res=(254, 88, 14, 44)),
    "shropshire": dict(lcf=434484, com=600000, capital=204000, share=0.0, paid=1034483,
                       claims=2 * 54962, tgt=(419, 197, 66, 56), res=(496, 170, 18, 60)),
    "tower_hamlets_smi": dict(lcf=868966, com=1199304, capital=300000, share=0.05, paid=2068270,
                              claims=2 * 129310, tgt=(1950, 718, 248, 302),
                              res=(1171, 359, 60, 136)),
    "tower_hamlets_ld": dict(lcf=548965, com=758094, capital=328000, share=0.0, paid=1280316,
                             claims=2 * 94190, tgt=(370, 182, 40, 17), res=(75, 119, 96, 9)),
}  # fmt: skip


def _volumes(path: Path, case: str) -> tuple[float, float, float, float]:
    """Engagements, job starts and 13-week sustainments under / over 16 hours of a case,
    run to the end of its term (a service that stops on its caps: as if it had not)."""
    overrides = {"contract.stop.on_cap": False} if load(path).base.contract.stop else None
    m = mhep_model.run(path, cases=case, overrides=overrides).monthly
    return (
        float(m["engagement"].sum()),
        float(m["job_start"].sum()),
        float(m["sustain_13w[under_16]"].sum()),
        float(m["sustain_13w[over_16]"].sum()),
    )


def test_the_2016_maximums_add_up_to_the_seed() -> None:
    # seed 000 s3: commissioners 674,240 + 736,960 + 180,000; SOF 990,000; CBO 330,000
    payers = [load(SCENARIOS / f"{name}.yaml").base.payers for name in CONTRACTS_2016]
    commissioners = [p["commissioner"].cap for p in payers]
    assert commissioners == [674240, 736960, 180000]
    assert sum(p["sof"].cap or 0 for p in payers) == pytest.approx(990000, abs=1)
    assert sum(p["cbo"].cap or 0 for p in payers) == pytest.approx(330000, abs=1)
    pf = load_portfolio(load_yaml(SCENARIOS / "mhep_2016.yaml"))
    shared = sum(s.cap or 0 for s in pf.spec.shared_payers.values())
    assert shared + sum(c for c in commissioners if c) == pytest.approx(2911200)
    assert pf.spec.investor.commitment == 400000  # seed 000 s3


@pytest.mark.parametrize("name", list(LCF))
def test_lcf_payers_capital_and_volumes(name: str) -> None:
    facts = LCF[name]
    path = SCENARIOS / "lcf" / f"{name}.yaml"
    base = load(path).base
    assert base.payers["lcf"].cap == facts["lcf"]
    assert base.payers["commissioner"].cap == facts["com"]
    maximum = facts["lcf"] + facts["com"]
    assert facts["lcf"] / maximum == pytest.approx(0.42, abs=0.0005)  # indigo Table B
    for outcome in base.outcomes.values():
        assert outcome.paid_by == {"lcf": 0.42, "commissioner": 0.58}
    assert base.investor.commitment == facts["capital"] == base.investor.upfront
    assert base.provider.advance is None  # no source gives the LCF providers one
    for case, expected in (("high", facts["tgt"]), ("recorded", facts["res"])):
        got = _volumes(path, case)
        for g, e in zip(got, expected, strict=True):
            assert g == pytest.approx(e, rel=0.05), (case, got, expected)


@pytest.mark.parametrize("name", list(LCF))
def test_lcf_recorded_case_is_paid_what_indigo_records(name: str) -> None:
    # indigo Table A: payments made (the COVID claim payments inside them), within 5%
    facts = LCF[name]
    path = SCENARIOS / "lcf" / f"{name}.yaml"
    (grant,) = load(path).base.grants
    assert sum(grant.amount) == pytest.approx(facts["claims"], abs=0.01)  # type: ignore[arg-type]
    assert grant.replaces_outcomes and grant.counts_against_cap
    monthly = mhep_model.run(path, cases="recorded").monthly
    assert monthly["income"].sum() == pytest.approx(facts["paid"], rel=0.05)
    assert monthly["grants"].sum() == pytest.approx(facts["claims"], abs=0.01)


def test_lcf_prices_and_provider_terms_are_what_the_sources_derive() -> None:
    # tools/derive_lcf_terms.py: one scale per project on Table 3.1's relative prices, from
    # what was paid; nothing tuned by hand after it
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "derive_lcf_terms.py"), "--check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_project_that_ended_on_its_caps_stops_on_them() -> None:
    # indigo Table A: 0192 "finished earlier due to the project reaching the payment caps"
    path = SCENARIOS / "lcf" / "tower_hamlets_ld.yaml"
    assert load(path).base.contract.stop.on_cap
    summary = mhep_model.run(path, cases="high").summary
    assert summary.loc[0, "service_stop_reason"] == "cap"
    assert summary.loc[0, "service_stopped_month"] < 39


def test_the_lcf_portfolio_pools_the_capital_and_the_fees() -> None:
    pf = load_portfolio(load_yaml(SCENARIOS / "lcf" / "mhep_lcf.yaml"))
    assert pf.spec.investor.upfront == sum(f["capital"] for f in LCF.values())
    assert [c.name for c in pf.contracts] == list(LCF)
    fees = sum(c.resolved.base.spv.management_fee_annual for c in pf.contracts)
    assert pf.spec.spv.management_fee_annual == fees


def _contracts() -> list[Path]:
    return [SCENARIOS / f"{n}.yaml" for n in CONTRACTS_2016] + [
        SCENARIOS / "lcf" / f"{n}.yaml" for n in LCF
    ]


@pytest.mark.parametrize("path", _contracts(), ids=lambda p: p.stem)
def test_no_counterfactual_in_a_base_scenario(path: Path) -> None:
    base = load(path).base
    assert base.provider.advance is None  # kept as `with_advance` batch variants
    assert all(s.capacity_per_fte is None for s in base.stages.values())


@pytest.mark.parametrize("name", CONTRACTS_2016)
def test_each_2016_batch_keeps_the_advance_as_a_counterfactual(name: str) -> None:
    batch = load_yaml(SCENARIOS / f"{name}_renegotiations.yaml")
    assert "provider.advance" in batch.data["variants"]["with_advance"]["set"]


def test_the_2016_capital_is_bii_s_400000_shared_as_the_funds_are() -> None:
    commitments = [load(SCENARIOS / f"{n}.yaml").base.investor.commitment for n in CONTRACTS_2016]
    assert sum(commitments) == pytest.approx(400000, abs=2)


def test_staffordshire_puts_the_volume_risk_on_the_provider() -> None:
    # seed 000 s2.2, s4.1, s5.3: the providers bore the risk of low referrals
    s = mhep_model.run(SCENARIOS / "staffordshire.yaml").summary.set_index("case")
    pay = s["provider_revenue"]
    assert pay["low"] < 0.85 * pay["high"]
    assert s.loc["low", "provider_surplus"] < s.loc["medium", "provider_surplus"]
    assert s.loc["medium", "provider_surplus"] < s.loc["high", "provider_surplus"]


def test_haringey_s_block_is_mhep_s_90000() -> None:
    # seed 000 s4.3: MHEP "provided an additional £90,000 for Year 3"
    monthly = mhep_model.run(SCENARIOS / "haringey.yaml", cases="medium").monthly
    assert monthly["block"].sum() == pytest.approx(90000)


def test_tower_hamlets_switch_to_job_starts_is_neutral_at_the_medium_case() -> None:
    # seed 000 s4.2: at Working Well's request, "the overall outcome payments ceiling
    # remained the same": the switch does not cut the provider's pay at medium volumes
    s = mhep_model.compare(SCENARIOS / "tower_hamlets_renegotiations.yaml").summary
    pay = s.set_index(["variant", "case"])["provider_revenue"]
    assert pay["job_starts_2017", "medium"] == pytest.approx(pay["as_signed", "medium"], rel=0.01)


@pytest.mark.parametrize("name", CONTRACTS_2016)
def test_lcf_style_variants_rebalance_risk_not_pay(name: str) -> None:
    s = mhep_model.compare(SCENARIOS / f"{name}_renegotiations.yaml").summary
    s = s.set_index(["variant", "case"])
    signed = s.loc["as_signed"]
    lcf = s.loc["lcf_style"]
    # the same pay at the medium case's volumes (within the longer ramp's effect) ...
    assert lcf.loc["medium", "provider_revenue"] == pytest.approx(
        signed.loc["medium", "provider_revenue"], rel=0.02
    )
    # ... and less of the provider's result riding on volume
    spread = lambda t: t.loc["high", "provider_surplus"] - t.loc["low", "provider_surplus"]  # noqa: E731
    assert spread(lcf) < spread(signed)


@pytest.mark.parametrize("name", CONTRACTS_2016)
def test_the_2016_low_cases_leave_the_provider_below_zero(name: str) -> None:
    # seed 000 s2.3: "too little margin for error for providers to get up and running"
    summary = run_summary(run_scenario(SCENARIOS / f"{name}.yaml")).set_index("case")
    assert summary.loc["low", "provider_min_reserves"] < 0


@pytest.mark.parametrize("name", ["mhep_2016", "lcf/mhep_lcf"])
def test_the_portfolios_run_their_contracts_under_one_investor(name: str) -> None:
    run = run_portfolio_file(SCENARIOS / f"{name}.yaml", cases=["medium"])
    s = run.model_results.summary
    contracts = [c.resolved for c in run.pf.contracts]
    alone = sum(mhep_model.run(c.file, cases="medium").summary.loc[0, "income"] for c in contracts)
    # shared caps can only hold income back, never add to it
    assert s["income"][0] <= alone + 1e-6
