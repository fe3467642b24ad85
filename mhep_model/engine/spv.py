"""The SPV's cash waterfall, drawdowns and loan servicing (spec section 7).

The one place that loops over months: each month's drawdown depends on the cash left by
the month before. Every step is vectorised across rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mhep_model.engine.inputs import BoolArray, FloatArray, Inputs, IntArray

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
    funding_gap: FloatArray
    investor_cashflow: FloatArray
    loan_loss: FloatArray
    """``(R,)`` principal plus interest still owed after month H [GBP]."""
    loan_principal_by_month: FloatArray
    """``(T, R)`` loan principal at the end of each month [GBP], month-major as the
    waterfall makes it (0 past a row's horizon)."""
    cash_by_month: FloatArray
    """``(T, R)`` the SPV's cash at the end of each month [GBP], month-major."""

    @cached_property
    def loan_principal(self) -> FloatArray:
        """``(R, T)`` loan principal at the end of each month [GBP]."""
        return np.ascontiguousarray(self.loan_principal_by_month.T)

    @cached_property
    def cash(self) -> FloatArray:
        """``(R, T)`` the SPV's cash at the end of each month [GBP] (transposed when
        first read: summaries never need it)."""
        return np.ascontiguousarray(self.cash_by_month.T)


@dataclass(frozen=True)
class Waterfall:
    """What the SPV's monthly waterfall reads besides the month's flows: ``(R,)`` terms of
    the SPV and the investor, ``(R, T)`` management fee [GBP/month] and ``(R,)`` horizon."""

    management_fee: FloatArray
    horizon: IntArray
    opening_cash: FloatArray
    min_cash: FloatArray
    commitment: FloatArray
    equity_share: FloatArray
    loan_rate: FloatArray
    sweep: BoolArray
    sweep_from_month: IntArray
    upfront: FloatArray


def contract_waterfall(inp: Inputs) -> Waterfall:
    """The waterfall terms of a contract run on its own (its own SPV and investor)."""
    return Waterfall(
        management_fee=np.where(inp.in_term(), inp.management_fee_annual / 12.0, 0.0),
        horizon=inp.horizon,
        opening_cash=inp.opening_cash,
        min_cash=inp.min_cash,
        commitment=inp.commitment,
        equity_share=inp.equity_share,
        loan_rate=inp.loan_rate,
        sweep=inp.sweep,
        sweep_from_month=inp.sweep_from_month,
        upfront=inp.upfront,
    )


def waterfall(w: Waterfall, income: FloatArray, paid_out: FloatArray) -> SpvFlows:
    """Run the monthly waterfall of spec section 7 for every row at once.

    ``income`` ``(R, T)`` is outcome income; ``paid_out`` ``(R, T)`` is what leaves for the
    provider(s) in step 2 (block, outcome payments and advances, less repayments).
    """
    rows, months = income.shape
    fee = w.management_fee
    # Each month's net flow and balances are contiguous rows of month-major arrays (a
    # column of an (R, T) array is strided, several times slower to read and write);
    # flows that most months leave at 0 are written as columns only where they move.
    net = np.ascontiguousarray((income - paid_out - fee).T)
    balances = {k: np.zeros((months, rows)) for k in ("loan_principal", "cash")}
    keys = ("drawdown", "interest_paid", "principal_repaid", "equity_distribution")
    out = {k: np.zeros((rows, months)) for k in (*keys, "funding_gap")}
    cash = w.opening_cash.astype(np.float64).copy()
    principal = np.zeros(rows)
    accrued = np.zeros(rows)
    drawn = np.zeros(rows)
    loan_loss = np.zeros(rows)
    monthly_rate = w.loan_rate / 12.0
    draw_tol = ABS_TOL + REL_TOL * np.abs(w.min_cash)
    # Steps that can move nothing this month for any row are skipped (they would add
    # exact zeros): most months have no row at its horizon, many contracts no sweep.
    first_end = int(w.horizon.min(initial=months))
    ends = set(np.unique(w.horizon).tolist())
    any_sweep = bool(w.sweep.any())
    zero = np.zeros(rows)
    loan_part = 1.0 - w.equity_share  # the share of a drawdown that is loan
    for t in range(months):
        m = t + 1
        all_live = m <= first_end
        live = True if all_live else m <= w.horizon
        # 1. interest on the principal at the end of last month; simple, never compounded
        interest = principal * monthly_rate
        accrued += interest if all_live else np.where(live, interest, 0.0)
        # 2. the month's flows: income in; block, outcome pay, fee and advances out
        cash += net[t]
        # 3. top up to the buffer from what is left of the commitment
        need = w.min_cash - cash
        wanted = need > draw_tol if all_live else live & (need > draw_tol)
        d = np.where(wanted, np.minimum(need, w.commitment - drawn), 0.0)
        d = np.maximum(d, 0.0)
        if m == 1:  # upfront capital is drawn in month 1 whatever the cash (v2)
            d = np.maximum(d, np.minimum(w.upfront, w.commitment))
        drawn += d
        principal += d * loan_part
        cash += d
        # 4. what the SPV cannot meet
        short = cash < -ABS_TOL if all_live else live & (cash < -ABS_TOL)
        if short.any():
            out["funding_gap"][:, t] = np.where(short, -cash, 0.0)
        # 5. sweep: interest first, then principal, from cash above the buffer
        if any_sweep:
            sweeping = w.sweep & (m >= w.sweep_from_month) & (m < w.horizon)
            if m == 1:  # upfront capital is not swept straight back
                sweeping = sweeping & ~(w.upfront > 0)
            s = np.where(sweeping, np.maximum(cash - w.min_cash, 0.0), 0.0)
            ip = np.minimum(s, accrued)
            pr = np.minimum(s - ip, principal)
        else:
            ip = pr = zero
        # 6. month H: everything left goes to interest, principal, then equity
        if m in ends:
            final = m == w.horizon
            avail = np.where(final, np.maximum(cash - ip - pr, 0.0), 0.0)
            ip_end = np.minimum(avail, accrued - ip)
            pr_end = np.minimum(avail - ip_end, principal - pr)
            eq = avail - ip_end - pr_end
            ip = ip + ip_end
            pr = pr + pr_end
        else:
            eq = zero
        if any_sweep or m in ends:
            accrued -= ip
            principal -= pr
            cash -= ip + pr + eq
            for key, value in zip(keys[1:], (ip, pr, eq), strict=True):
                out[key][:, t] = value
        if m in ends:
            loan_loss = np.where(m == w.horizon, principal + accrued, loan_loss)
        if d.any():
            out["drawdown"][:, t] = d
        balances["loan_principal"][t] = principal
        balances["cash"][t] = cash
    # Past a row's horizon nothing moves: show the balances as zero, not carried.
    live = np.arange(1, months + 1)[:, None] <= w.horizon[None, :]
    for key in ("loan_principal", "cash"):
        balances[key] = np.where(live, balances[key], 0.0)
    cashflow = -out["drawdown"] + out["interest_paid"] + out["principal_repaid"]
    cashflow = cashflow + out["equity_distribution"]
    return SpvFlows(
        management_fee=fee,
        investor_cashflow=cashflow,
        loan_loss=loan_loss,
        loan_principal_by_month=balances["loan_principal"],
        cash_by_month=balances["cash"],
        **out,
    )
