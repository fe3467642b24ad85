"""The SPV's cash waterfall, drawdowns and loan servicing (spec section 7).

The one place that loops over months: each month's drawdown depends on the cash left by
the month before. Every step is vectorised across rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mhep_model.engine.inputs import FloatArray, Inputs

ABS_TOL = 1e-6
REL_TOL = 1e-7


@dataclass(frozen=True)
class SpvFlows:
    """``(R, T)`` monthly flows [GBP/month] and end-of-month balances [GBP]; ``(R,)`` totals."""

    management_fee: FloatArray
    drawdown: FloatArray
    interest_paid: FloatArray
    principal_repaid: FloatArray
    equity_distribution: FloatArray
    loan_principal: FloatArray
    cash: FloatArray
    funding_gap: FloatArray
    investor_cashflow: FloatArray
    loan_loss: FloatArray
    """``(R,)`` principal plus interest still owed after month H [GBP]."""


def spv(
    inp: Inputs,
    income: FloatArray,
    block: FloatArray,
    provider_outcome_payments: FloatArray,
) -> SpvFlows:
    """Run the monthly waterfall of spec section 7 for every row at once."""
    rows, months = inp.rows, inp.months
    fee = np.where(inp.in_term(), inp.management_fee_annual / 12.0, 0.0)
    out = {
        k: np.zeros((rows, months))
        for k in (
            "drawdown",
            "interest_paid",
            "principal_repaid",
            "equity_distribution",
            "loan_principal",
            "cash",
            "funding_gap",
        )
    }
    cash = inp.opening_cash.astype(np.float64).copy()
    principal = np.zeros(rows)
    accrued = np.zeros(rows)
    drawn = np.zeros(rows)
    loan_loss = np.zeros(rows)
    monthly_rate = inp.loan_rate / 12.0
    draw_tol = ABS_TOL + REL_TOL * np.abs(inp.min_cash)
    for t in range(months):
        m = t + 1
        live = m <= inp.horizon
        final = m == inp.horizon
        # 1. interest on the principal at the end of last month; simple, never compounded
        accrued += np.where(live, principal * monthly_rate, 0.0)
        # 2. the month's flows, the provider's advance and its repayments included
        cash += income[:, t] - block[:, t] - provider_outcome_payments[:, t] - fee[:, t]
        cash += inp.advance_repaid[:, t] - inp.advance[:, t]
        # 3. top up to the buffer from what is left of the commitment
        need = inp.min_cash - cash
        d = np.where(live & (need > draw_tol), np.minimum(need, inp.commitment - drawn), 0.0)
        d = np.maximum(d, 0.0)
        if m == 1:  # upfront capital is drawn in month 1 whatever the cash (v2)
            d = np.maximum(d, np.minimum(inp.upfront, inp.commitment))
        drawn += d
        principal += d * (1.0 - inp.equity_share)
        cash += d
        # 4. what the SPV cannot meet
        gap = np.where(live & (cash < -ABS_TOL), -cash, 0.0)
        # 5. sweep: interest first, then principal, from cash above the buffer
        sweeping = inp.sweep & (m >= inp.sweep_from_month) & (m < inp.horizon)
        if m == 1:  # upfront capital is not swept straight back
            sweeping = sweeping & ~(inp.upfront > 0)
        s = np.where(sweeping, np.maximum(cash - inp.min_cash, 0.0), 0.0)
        ip = np.minimum(s, accrued)
        pr = np.minimum(s - ip, principal)
        # 6. month H: everything left goes to interest, principal, then equity
        avail = np.where(final, np.maximum(cash - ip - pr, 0.0), 0.0)
        ip_end = np.minimum(avail, accrued - ip)
        pr_end = np.minimum(avail - ip_end, principal - pr)
        eq = avail - ip_end - pr_end
        ip = ip + ip_end
        pr = pr + pr_end
        accrued -= ip
        principal -= pr
        cash -= ip + pr + eq
        loan_loss = np.where(final, principal + accrued, loan_loss)
        for key, value in (
            ("drawdown", d),
            ("interest_paid", ip),
            ("principal_repaid", pr),
            ("equity_distribution", eq),
            ("loan_principal", principal),
            ("cash", cash),
            ("funding_gap", gap),
        ):
            out[key][:, t] = value
    # Past a row's horizon nothing moves: show the balances as zero, not carried.
    live_all = inp.in_horizon()
    for key in ("loan_principal", "cash"):
        out[key] = np.where(live_all, out[key], 0.0)
    cashflow = -out["drawdown"] + out["interest_paid"] + out["principal_repaid"]
    cashflow = cashflow + out["equity_distribution"]
    return SpvFlows(
        management_fee=fee,
        investor_cashflow=cashflow,
        loan_loss=loan_loss,
        **out,
    )
