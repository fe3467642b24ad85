"""Print the tables of docs/calibration.md from the shipped scenarios (markdown).

    .venv/bin/python tools/calibration_tables.py > /tmp/tables.md

Each contract's cases (deterministic), then each shipped scenario's stress results beside
its deterministic figures (10,000 paths, seed 0), so the page shows what a stochastic view
adds: the deterministic medium case flatters when the median path sits below it.
"""

from __future__ import annotations

import math
from pathlib import Path

import mhep_model

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = [
    "staffordshire.yaml", "tower_hamlets.yaml", "haringey.yaml", "lcf/haringey_barnet.yaml",
    "lcf/enfield.yaml", "lcf/shropshire.yaml", "lcf/tower_hamlets_ld.yaml",
    "lcf/tower_hamlets_smi.yaml",
]  # fmt: skip
PORTFOLIOS = ["mhep_2016.yaml", "lcf/mhep_lcf.yaml"]
PATHS, SEED = 10_000, 0


def _money(v: float) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:,.0f}"


def _pct(v: float) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1%}"


def _x(v: float) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}x"


def contract_table(name: str) -> list[str]:
    s = mhep_model.run(ROOT / "scenarios" / name).summary
    out = [
        f"#### scenarios/{name}",
        "",
        "| case | engagements | job starts | income | provider surplus | provider min reserves "
        "(month) | investor drawn | multiple | IRR | funding gap | service stop |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in s.to_dict("records"):
        month = r.get("provider_min_reserves_month")
        stop = r.get("service_stopped_month")
        stopped = "–" if stop is None or stop != stop else f"month {int(stop)}"
        out.append(
            f"| {r['case']} | {r['engagement']:,.0f} | {r['job_start']:,.0f} | "
            f"{_money(r['income'])} | {_money(r['provider_surplus'])} | "
            f"{_money(r['provider_min_reserves'])} ({int(month) if month == month else '–'}) | "
            f"{_money(r['investor_drawn'])} | {_x(r['investor_multiple'])} | "
            f"{_pct(r['investor_irr'])} | {_money(r['max_funding_gap'])} | {stopped} |"
        )
    return [*out, ""]


def stress_row(name: str) -> str:
    path = ROOT / "scenarios" / name
    det = mhep_model.run(path, cases="medium").summary.iloc[0]
    st = mhep_model.stress(path, paths=PATHS, seed=SEED, cases="medium").summary
    get = lambda metric, stat: float(  # noqa: E731
        st[(st["metric"] == metric) & (st["statistic"] == stat)]["value"].iloc[0]
    )
    insolvent = "any_provider_insolvent" if name in PORTFOLIOS else "provider_insolvent"
    p_below = get(insolvent, "probability")
    return (
        f"| `{name}` | {_pct(p_below)} | {_pct(get('investor_loses_money', 'probability'))} | "
        f"{_x(get('investor_multiple', 'p50'))} | {_x(det['investor_multiple'])} | "
        f"{_pct(get('investor_irr', 'p50'))} | {_pct(det['investor_irr'])} |"
    )


def main() -> None:
    for name in CONTRACTS:
        print("\n".join(contract_table(name)))
    print(
        "| scenario (medium case) | P(provider below zero) | P(investor loss) | P50 multiple | "
        "deterministic multiple | P50 IRR | deterministic IRR |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in CONTRACTS + PORTFOLIOS:
        print(stress_row(name))


if __name__ == "__main__":
    main()
