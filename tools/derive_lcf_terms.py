"""Derive the Life Chances Fund scenarios' prices and provider terms from the sources.

    .venv/bin/python tools/derive_lcf_terms.py          # print the derivation
    .venv/bin/python tools/derive_lcf_terms.py --write  # rewrite the figures in scenarios/lcf/
    .venv/bin/python tools/derive_lcf_terms.py --check  # exit 1 if a file is not what it derives

No outcome prices are recorded for any MHEP project (indigo_mhep.md Table C). What is
recorded is what was paid (Table A), the COVID claim payments inside it (Table A's notes)
and the results (Table C). So each project's prices are seed 000 Table 3.1's relative
prices times one scale per project: the scale at which the `recorded` case, run through the
contract's own terms (quarterly settlement, the claim months replacing outcome payments),
is paid what INDIGO records:

    scale = (payments made - COVID claim payments) / (the recorded case's outcome invoices
             at Table 3.1's prices)

Tower Hamlets (learning disabilities) "finished earlier due to the project reaching the
payment caps" (Table A), so its invoices reached the maximum: its scale uses the maximum.

The provider's terms (ASSUMPTION, docs/calibration.md): the contract value is 73% of the
maximum outcome payments (Making Space's share in 2016: seed 000 s3 and s4.1); seed 002
Table 1's share of it is paid per outcome, earned in full at the targets (indigo Table C);
the rest is block. The provider's costs are 97% of the contract value (a 3% margin if the
targets are met). MHEP's fee is 8% of the maximum. None of these is chosen for a result.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

import mhep_model

ROOT = Path(__file__).resolve().parents[1]
LCF = ROOT / "scenarios" / "lcf"

# indigo_mhep.md Table A (payments made; the claim quarters' amounts) and Table B (maximum)
FACTS: dict[str, dict[str, Any]] = {
    "haringey_barnet": {"paid": 1439148, "max": 1421234, "claims": (13, [108990, 108990])},
    "enfield": {"paid": 620689, "max": 620689, "claims": (1, [38739, 38740])},
    "shropshire": {"paid": 1034483, "max": 1034484, "claims": (1, [54962, 54962])},
    "tower_hamlets_ld": {"paid": 1280316, "max": 1307059, "claims": (1, [94190, 94190]),
                         "reached_caps": True},
    "tower_hamlets_smi": {"paid": 2068270, "max": 2068270, "claims": (1, [129310, 129310])},
}  # fmt: skip
# seed 002 Table 1: "% outcome payment to providers"
PROVIDER_OUTCOME_SHARE = {
    "haringey_barnet": 0.25, "enfield": 0.30, "shropshire": 0.0,
    "tower_hamlets_ld": 0.0, "tower_hamlets_smi": 0.05,
}  # fmt: skip
CONTRACT_VALUE_SHARE = 0.73  # ASSUMPTION: Making Space's 900,000 / 1,233,564 (seed 000)
COST_SHARE = 0.97  # ASSUMPTION: the provider bid at cost plus 3%
FEE_SHARE = 0.08  # ASSUMPTION: MHEP's fee, 8% of the maximum over the term
COST_PER_FTE, FIXED, MOBILISATION = 32000, 20000, 10000  # ASSUMPTIONS (in the files)
ENGAGEMENT, JOB_UNDER, JOB_OVER, SUST_UNDER, SUST_OVER = 1000, 700, 1350, 1400, 1650


def monthly_claims(first: int, quarters: list[int]) -> tuple[list[int], list[float]]:
    """A quarter's claim payment as three monthly amounts [GBP/month] summing to it."""
    amounts: list[float] = []
    for q in quarters:
        third = round(q / 3, 2)
        amounts += [third, third, round(q - 2 * third, 2)]
    return [first, first + len(amounts) - 1], amounts


def job_start_unit(data: dict[str, Any]) -> float:
    """Table 3.1's job entry price weighted by the targets' hours mix [GBP]."""
    split = data["stages"]["sustain_13w"]["split"]
    return JOB_UNDER * split["under_16"] + JOB_OVER * split["over_16"]


def _with_prices(data: dict[str, Any], scale: float) -> dict[str, Any]:
    out = yaml.safe_load(yaml.safe_dump(data))
    o = out["outcomes"]
    o["engagement"]["tariff"] = round(ENGAGEMENT * scale)
    o["job_start"]["tariff"] = round(job_start_unit(data) * scale)
    o["sustain_13w"]["tariff"] = {
        "under_16": round(SUST_UNDER * scale),
        "over_16": round(SUST_OVER * scale),
    }
    return out


def _uncapped(data: dict[str, Any]) -> dict[str, Any]:
    out = yaml.safe_load(yaml.safe_dump(data))
    for payer in out["payers"].values():
        payer["cap"] = 1e12
    out.get("contract", {}).pop("stop", None)
    return out


def outcome_invoices(data: dict[str, Any], case: str) -> float:
    """A case's outcome invoices before caps, claim months replaced [GBP]."""
    monthly = mhep_model.run(_uncapped(data), cases=case).monthly
    return float((monthly["income"] - monthly.get("grants", 0.0)).sum())


def derive(name: str) -> dict[str, Any]:
    """The derived figures of one project (see the module docstring)."""
    facts = FACTS[name]
    data = yaml.safe_load((LCF / f"{name}.yaml").read_text(encoding="utf-8"))
    months, amounts = monthly_claims(*facts["claims"])
    data["grants"] = [_grant(months, amounts)]
    claims = sum(facts["claims"][1])
    paid = facts["max"] if facts.get("reached_caps") else facts["paid"]
    unit = outcome_invoices(_with_prices(data, 1.0), "recorded")
    scale = (paid - claims) / unit
    priced = _with_prices(data, scale)
    years = data["contract"]["term_months"] / 12
    value = CONTRACT_VALUE_SHARE * facts["max"]
    share = PROVIDER_OUTCOME_SHARE[name]
    at_targets = outcome_invoices(priced, "high")
    running = (COST_SHARE * value - MOBILISATION) / years
    return {
        "grant_months": months,
        "grant_amounts": amounts,
        "scale": scale,
        "tariffs": priced["outcomes"],
        "block": round((1 - share) * value / years, -2),
        "share_of_tariff": round(share * value / at_targets, 4),
        "staff_fte": round((running - FIXED) / COST_PER_FTE, 1),
        "fee": round(FEE_SHARE * facts["max"] / years, -2),
        "value": value,
    }


def _grant(months: list[int], amounts: list[float]) -> dict[str, Any]:
    return {
        "name": "COVID claim payments",
        "paid_by": {"lcf": 0.42, "commissioner": 0.58},
        "months": months,
        "amount": amounts,
        "replaces_outcomes": True,
        "counts_against_cap": True,
    }


RULES: list[tuple[str, str]] = [
    (r"(  engagement: \{stage: engagement, tariff: )\d+", "{engagement}"),
    (r"(  job_start: \{stage: job_start, tariff: )\d+", "{job_start}"),
    (r"(    tariff: \{under_16: )\d+(, over_16: )\d+", "{sust_under}\\g<2>{sust_over}"),
    (r"(  block: \{annual: )\d+", "{block}"),
    (r"(    share_of_tariff: )[\d.]+", "{share_of_tariff}"),
    (r"(    staff_fte: )[\d.]+", "{staff_fte}"),
    (r"(  management_fee_annual: )\d+", "{fee}"),
    (r"(  - \{months: )\[\d+, \d+\](, amount: )\[[^\]]*\]", "{grant_months}\\g<2>{grant_amounts}"),
]


def _number(a: float) -> str:
    return str(int(a)) if a == int(a) else repr(a)


def rewrite(text: str, d: dict[str, Any]) -> str:
    """The file's text with its derived figures replaced (comments kept)."""
    t = d["tariffs"]
    values = {
        "engagement": t["engagement"]["tariff"],
        "job_start": t["job_start"]["tariff"],
        "sust_under": t["sustain_13w"]["tariff"]["under_16"],
        "sust_over": t["sustain_13w"]["tariff"]["over_16"],
        "block": int(d["block"]),
        "share_of_tariff": d["share_of_tariff"],
        "staff_fte": d["staff_fte"],
        "fee": int(d["fee"]),
        "grant_months": d["grant_months"],
        "grant_amounts": "[" + ", ".join(_number(a) for a in d["grant_amounts"]) + "]",
    }
    for pattern, template in RULES:
        repl = "\\g<1>" + template.format(**values)
        text = re.sub(pattern, repl, text, count=1)
    return text


NO_STOP = ROOT / "scenarios" / "lcf" / "tower_hamlets_ld_no_stop.yaml"
STOP_BLOCK = re.compile(
    r"  # indigo Table A: 0192 \"finished earlier.*?\n  stop: \{on_cap: true\}\n", re.S
)


def without_stop(text: str) -> str:
    """tower_hamlets_ld.yaml without its stop, for the LCF portfolio: a portfolio's
    contract may not stop (spec section 11), so there the project runs its 39 months."""
    body, n = STOP_BLOCK.subn("", text)
    if n != 1:
        raise SystemExit("tower_hamlets_ld.yaml: its contract.stop block was not found")
    return (
        "# GENERATED by tools/derive_lcf_terms.py --write from tower_hamlets_ld.yaml: do not\n"
        "# edit. The same project without `contract.stop`, for mhep_lcf.yaml: a portfolio's\n"
        "# contract may not stop (spec v3 section 11), so in the portfolio the project runs its\n"
        "# 39 months (seed 002 Table 1) and its payers' caps hold the income back instead.\n"
        "#\n" + body
    )


def main(argv: list[str]) -> int:
    stale = []
    for name in FACTS:
        d = derive(name)
        path = LCF / f"{name}.yaml"
        text = path.read_text(encoding="utf-8")
        new = rewrite(text, d)
        t = d["tariffs"]
        print(
            f"{name}: scale {d['scale']:.4f}; tariffs {t['engagement']['tariff']} / "
            f"{t['job_start']['tariff']} / {t['sustain_13w']['tariff']}; contract value "
            f"{d['value']:,.0f}: block {d['block']:,.0f} a year, share_of_tariff "
            f"{d['share_of_tariff']}, staff {d['staff_fte']}, fee {d['fee']:,.0f} a year"
        )
        if new != text:
            stale.append(path.name)
            if "--write" in argv:
                path.write_text(new, encoding="utf-8")
    twin = without_stop((LCF / "tower_hamlets_ld.yaml").read_text(encoding="utf-8"))
    if not NO_STOP.is_file() or NO_STOP.read_text(encoding="utf-8") != twin:
        stale.append(NO_STOP.name)
        if "--write" in argv:
            NO_STOP.write_text(twin, encoding="utf-8")
    if "--check" in argv and stale:
        print("not what the sources derive:", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
