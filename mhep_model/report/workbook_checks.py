"""The Checks sheet of the model workbook (numbered checks of its formulas against the
engine, and the master check every sheet shows) and the Variance sheet of actuals."""

from __future__ import annotations

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
    write_value,
)
from mhep_model.studies.run import RunOutput

EDITED = "Checks!$C$4"
"""How many input cells differ from the inputs the engine ran (0: as run)."""


@dataclass(frozen=True)
class Check:
    """A numbered check. ``eq``: the workbook's figure against the engine's (off once an
    input is edited: the engine ran the inputs as written). ``le``/``ge``: a limit the
    figure must not exceed or fall below, ``same``: two formulas that must agree; these
    integrity checks stay live whatever the inputs (``limit`` is then a formula too)."""

    text: str
    case: str
    formula: str
    cached: float
    engine: float
    kind: str = "eq"
    limit: str | None = None

    def fails(self) -> bool:
        if self.kind == "le":
            return self.cached > self.engine + TOLERANCE
        if self.kind == "ge":
            return self.cached < self.engine - TOLERANCE
        return abs(self.cached - self.engine) > TOLERANCE


def spv_checks(
    c: CalcSheet, spv: SpvFlows, i: int, summary: dict[str, np.ndarray], income: str
) -> list[Check]:
    """Checks of a Calc sheet's SPV side: against the engine (row ``i`` of ``spv`` and
    ``summary``) the income, the cash and loan corkscrews and what the investor received;
    live, that cash and the loan close over the month's flows and the commitment holds."""
    v = c.values
    h = len(v["cash"])
    received = sum(float(v[k].sum()) for k in ("interest", "principal", "distribution"))
    out = [
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
            "Investor received equals the engine's",
            c.case,
            "=" + "+".join(c.total_of(k) for k in ("interest", "principal", "distribution")),
            received,
            float(summary["investor_received"][i]),
        ),
        Check(
            "Loan principal is never negative",
            c.case,
            f"=MIN({c.range('loan')})",
            float(v["loan"].min()),
            0.0,
            "ge",
        ),
    ]
    return out + _closing_checks(c)


def _closing_checks(c: CalcSheet) -> list[Check]:
    """Live identities: closing SPV cash and loan equal their opening plus the month's
    flows summed, and the investor never draws more than committed."""
    v = c.values
    money_in = ["income", "advance_repaid", "drawdown"]
    money_out = ["block", "outcome_pay", "fee", "advance", "interest", "principal", "rest"]
    flows = "+".join(c.total_of(k) for k in money_in) + "".join(
        f"-{c.total_of(k)}" for k in money_out
    )
    held = f"+{c.closing('arrears')}" if "arrears" in v else ""
    opening = c.refs["opening_cash"]
    cash = float(v["cash"][-1])
    joins = f"+{c.total_of('capitalised')}" if "capitalised" in v else ""
    loan = float(v["loan"][-1])
    return [
        Check(
            "SPV cash closes: opening cash plus every month's flows",
            c.case,
            f"={c.closing('cash')}",
            cash,
            cash,
            "same",
            f"={opening}+{flows}{held}",
        ),
        Check(
            "Loan closes: drawn as loan, less repaid, plus interest capitalised",
            c.case,
            f"={c.closing('loan')}",
            loan,
            loan,
            "same",
            f"=SUMPRODUCT({c.range('drawdown')}*(1-{c.refs['equity']}))-{c.total_of('principal')}{joins}",
        ),
        Check(
            "The investor draws no more than its commitment",
            c.case,
            f"={c.closing('drawn')}",
            float(v["drawn"][-1]),
            c.limits["commitment"],
            "le",
            f"={c.refs['commitment']}",
        ),
    ]


def run_checks(result: RunOutput, sheets: list[CalcSheet]) -> list[Check]:
    """The checks of a run's Calc sheets: corkscrews close to the engine, caps hold."""
    summary = result.results.summary
    out: list[Check] = []
    for i, c in enumerate(sheets):
        out += provider_checks(c, summary, i)
        out += spv_checks(c, result.results.spv, i, summary, "sum of payers")
    return out


def provider_checks(c: CalcSheet, summary: dict[str, np.ndarray], i: int) -> list[Check]:
    """A contract's Calc sheet: reserves against the engine; live, the payers' caps and the
    provider's annual cap hold and reserves close over the month's flows."""
    v = c.values
    out = [
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
        Check(
            "Provider outcome payments equal the engine's",
            c.case,
            f"={c.total_of('outcome_pay')}",
            float(v["outcome_pay"].sum()),
            float(summary["provider_outcome_payments"][i]),
        ),
    ]
    for key in (k for k in c.letters if k.startswith("pcum_")):
        p = key.removeprefix("pcum_")
        cap = f"cap_{p}"
        limit = f"=MAX({c.range(cap)})" if cap in c.letters else f"={c.refs[cap]}"
        out.append(
            Check(
                f"{c.headers[f'paid_{p}'].removeprefix('Paid by ')} pays no more than its cap",
                c.case,
                f"=MAX({c.range(key)})",
                float(v[key].max()),
                float(c.limits[cap]),
                "le",
                limit,
            )
        )
    if "ycum" in c.letters:
        limit = f"=MAX({c.range('acap')})" if "acap" in c.letters else f"={c.refs['acap']}"
        out.append(
            Check(
                "The provider's outcome payments stay within its annual cap",
                c.case,
                f"=MAX({c.range('ycum')})",
                float(v["ycum"].max()),
                float(c.limits["acap"]),
                "le",
                limit,
            )
        )
    return out


def checks_pass(checks: list[Check]) -> bool:
    """Whether every numbered check passes on the engine's figures."""
    return not any(c.fails() for c in checks)


def write_checks(wb: Workbook, st: Styles, checks: list[Check], compared: str) -> bool:
    """Checks: each numbered, with the workbook's figure, the engine's (or the limit), and a
    flag (1 = fails); the master check in C3, and in C4 how many inputs differ from those
    the engine ran (``compared``: the formula counting them). Returns whether all pass."""
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
    ws.write_string(3, 1, "Input cells changed since the engine ran", st.label)
    ws.write_formula(3, 2, compared, st.fmt("int", "calc"), 0)
    ws.write_formula(
        3,
        3,
        '=IF(C4=0,"inputs as run: formulas compared with the engine",'
        '"inputs edited: engine comparison off")',
        None,
        "inputs as run: formulas compared with the engine",
    )
    tests = {"eq": f"within {TOLERANCE}", "le": "at most", "ge": "at least", "same": "equal"}
    for r, chk in enumerate(checks, start=first):
        d, e = f"D{r + 1}", f"E{r + 1}"
        flag = {
            "eq": f"=IF({EDITED}>0,0,IF(ABS({d}-{e})>{TOLERANCE},1,0))",
            "same": f"=IF(ABS({d}-{e})>{TOLERANCE},1,0)",
            "le": f"=IF({d}>{e}+{TOLERANCE},1,0)",
            "ge": f"=IF({d}<{e}-{TOLERANCE},1,0)",
        }[chk.kind]
        ws.write_number(r, 0, r - HEADER_ROW, st.fmt("month"))
        ws.write_string(r, 1, chk.text)
        ws.write_string(r, 2, chk.case)
        ws.write_formula(r, 3, chk.formula, st.fmt("money", "calc"), chk.cached)
        if chk.limit is not None:
            ws.write_formula(r, 4, chk.limit, st.fmt("money", "calc"), chk.engine)
        else:
            ws.write_number(r, 4, chk.engine, st.fmt("money", "import"))
        test = tests[chk.kind]
        if chk.kind == "eq":
            ws.write_formula(r, 5, f'=IF({EDITED}>0,"off: inputs edited","{test}")', None, test)
        else:
            ws.write_string(r, 5, test)
        ws.write_formula(r, 6, flag, st.fmt("month", "calc"), int(chk.fails()))
    add_table(ws, last, headers, "Checks", st)
    ws.conditional_format(
        first, 6, last, 6, {"type": "cell", "criteria": ">", "value": 0, "format": st.bad}
    )
    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, 60)
    ws.set_column(2, 2, 15)
    ws.set_column(3, 3, 18)
    ws.set_column(4, 6, 15)
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
