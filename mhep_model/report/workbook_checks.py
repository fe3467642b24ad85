"""The Checks sheet of the model workbook (numbered checks of its formulas against the
engine, and the master check every sheet shows) and the Variance sheet of actuals."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from xlsxwriter.workbook import Workbook

from mhep_model.engine.spv import SpvFlows
from mhep_model.report.frames import variance_frame
from mhep_model.report.workbook_layout import (
    HEADER_ROW,
    TOLERANCE,
    CalcSheet,
    Styles,
    add_table,
    finish_sheet,
    master_check,
    payer_names,
    write_value,
)
from mhep_model.studies.run import RunOutput


@dataclass(frozen=True)
class Check:
    """A numbered check: the workbook's figure against the engine's (``kind`` "eq"), a
    limit it must not exceed ("le") or fall below ("ge")."""

    text: str
    case: str
    formula: str
    cached: float
    engine: float
    kind: str = "eq"

    def fails(self) -> bool:
        if self.kind == "le":
            return self.cached > self.engine + TOLERANCE
        if self.kind == "ge":
            return self.cached < self.engine - TOLERANCE
        return abs(self.cached - self.engine) > TOLERANCE


def spv_checks(
    c: CalcSheet, spv: SpvFlows, i: int, summary: dict[str, np.ndarray], income: str
) -> list[Check]:
    """Checks of a Calc sheet's SPV side against the engine (row ``i`` of ``spv`` and
    ``summary``): income, the cash and loan corkscrews, what the investor received."""
    v = c.values
    h = len(v["cash"])
    received = sum(float(v[k].sum()) for k in ("interest", "principal", "distribution"))
    return [
        Check(
            f"Income ({income}) equals the engine's income",
            c.case,
            f"={c.total_of('income')}",
            float(v["income"].sum()),
            float(summary["income"][i]),
        ),
        Check(
            "SPV cash corkscrew closes to the engine's month-H cash",
            c.case,
            f"={c.closing('cash')}",
            float(v["cash"][-1]),
            float(spv.cash[i, h - 1]),
        ),
        Check(
            "Loan corkscrew closes to the engine's principal outstanding",
            c.case,
            f"={c.closing('loan')}",
            float(v["loan"][-1]),
            float(spv.loan_principal[i, h - 1]),
        ),
        Check(
            "Loan principal is never negative",
            c.case,
            f"=MIN({c.range('loan')})",
            float(v["loan"].min()),
            0.0,
            "ge",
        ),
        Check(
            "Investor received equals the engine's",
            c.case,
            "=" + "+".join(c.total_of(k) for k in ("interest", "principal", "distribution")),
            received,
            float(summary["investor_received"][i]),
        ),
    ]


def run_checks(result: RunOutput, sheets: list[CalcSheet]) -> list[Check]:
    """The checks of a run's Calc sheets: corkscrews close to the engine, caps hold."""
    summary, inp = result.results.summary, result.inputs
    names = payer_names(result)
    out: list[Check] = []
    for i, c in enumerate(sheets):
        v = c.values
        out += [
            Check(
                "Provider reserves corkscrew closes to the engine's closing reserves",
                c.case,
                f"={c.closing('reserves')}",
                float(v["reserves"][-1]),
                float(summary["provider_closing_reserves"][i]),
            ),
            Check(
                "Provider minimum reserves equal the engine's",
                c.case,
                f"=MIN({c.range('reserves')})",
                float(v["reserves"].min()),
                float(summary["provider_min_reserves"][i]),
            ),
            *spv_checks(c, result.results.spv, i, summary, "sum of payers"),
        ]
        for key in (k for k in c.letters if k.startswith("paid_")):
            p = int(key.removeprefix("paid_"))
            cap = float(np.max(inp.payer_cap[i, p]))
            if math.isfinite(cap):
                out.append(
                    Check(
                        f"{names[p]} pays no more than its cap",
                        c.case,
                        f"={c.total_of(key)}",
                        float(v[key].sum()),
                        cap,
                        "le",
                    )
                )
    return out


def checks_pass(checks: list[Check]) -> bool:
    """Whether every numbered check passes on the engine's figures."""
    return not any(c.fails() for c in checks)


def write_checks(wb: Workbook, st: Styles, checks: list[Check]) -> bool:
    """Checks: each numbered, with the workbook's figure, the engine's, and a flag (1 =
    fails); the master check in C3. Returns whether every check passes."""
    ws = wb.add_worksheet("Checks")
    ok = not any(c.fails() for c in checks)
    master_check(ws, st, ok)
    ws.write_string(0, 0, "Checks: the workbook's formulas against the engine", st.title)
    headers = ["No.", "Check", "Case", "Workbook", "Engine or limit", "Test", "Fails (1)"]
    first, last = HEADER_ROW + 1, HEADER_ROW + len(checks)
    ws.write_string(2, 1, "Master check (all checks pass)", st.label)
    ws.write_formula(
        2,
        2,
        f'=IF(SUM(G{first + 1}:G{last + 1})=0,"OK","ERROR")',
        st.ok if ok else st.bad,
        "OK" if ok else "ERROR",
    )
    # the fill follows the value after a recalculation (an edited input), not the cache
    for criteria, fill in (("==", st.ok), ("!=", st.bad)):
        ws.conditional_format(
            "C3", {"type": "cell", "criteria": criteria, "value": '"OK"', "format": fill}
        )
    test = {"eq": f"within {TOLERANCE}", "le": "at most", "ge": "at least"}
    for r, chk in enumerate(checks, start=first):
        d, e = f"D{r + 1}", f"E{r + 1}"
        flag = {
            "eq": f"=IF(ABS({d}-{e})>{TOLERANCE},1,0)",
            "le": f"=IF({d}>{e}+{TOLERANCE},1,0)",
            "ge": f"=IF({d}<{e}-{TOLERANCE},1,0)",
        }[chk.kind]
        ws.write_number(r, 0, r - HEADER_ROW, st.fmt("month"))
        ws.write_string(r, 1, chk.text)
        ws.write_string(r, 2, chk.case)
        ws.write_formula(r, 3, chk.formula, st.fmt("money", "calc"), chk.cached)
        ws.write_number(r, 4, chk.engine, st.fmt("money", "import"))
        ws.write_string(r, 5, test[chk.kind])
        ws.write_formula(r, 6, flag, st.fmt("month", "calc"), int(chk.fails()))
    add_table(ws, last, headers, "Checks", st)
    ws.conditional_format(
        first, 6, last, 6, {"type": "cell", "criteria": ">", "value": 0, "format": st.bad}
    )
    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, 60)
    ws.set_column(2, 6, 15)
    finish_sheet(ws, HEADER_ROW, landscape=True)
    return ok


def write_variance(wb: Workbook, st: Styles, result: RunOutput) -> None:
    """Variance: recorded months against the projection from the signing date."""
    ws = wb.add_worksheet("Variance")
    ws.write_string(0, 0, "Variance: actuals against the projection", st.title)
    master_check(ws, st, st.ok_all)
    frame = variance_frame(result)
    kinds = {"months": "month", "ratio": "percent"}
    for j, col in enumerate(frame.columns):
        for r, value in enumerate(frame[col].tolist(), start=HEADER_ROW + 1):
            kind = kinds.get(
                col, "number" if col in ("actual", "projected", "variance") else "text"
            )
            write_value(ws, r, j, value, st.fmt(kind, "import"), st.fmt("text", "import"))
    add_table(ws, HEADER_ROW + len(frame), [str(c) for c in frame.columns], "Variance", st)
    ws.set_column(0, len(frame.columns) - 1, 16)
    finish_sheet(ws, HEADER_ROW)


def portfolio_checks(run: RunOutput, sheets: list[CalcSheet]) -> list[Check]:
    """Each SPV sheet's identities against the portfolio's engine totals."""
    summary, spv = run.model_results.summary, run.model_results.spv
    return [
        check
        for i, c in enumerate(sheets)
        for check in spv_checks(c, spv, i, summary, "sum of contracts")
    ]
