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
    provider_arrears: FloatArray | None = None
    """v3 ``(R, T)`` what the SPV owes the provider at the end of each month [GBP]."""
    interest_capitalised: FloatArray | None = None
    """v3 ``(R, T)`` unpaid interest that joined the principal [GBP/month]."""
    performance_fee: FloatArray | None = None
    """v3 ``(R, T)`` the intermediary's share of the equity distribution [GBP/month]."""

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
    pay_when_able: BoolArray | None = None
    """v3 ``(R,)``: hold back what cash cannot pay the provider (arrears)."""
    fee_share: FloatArray | None = None
    """v3 ``(R,)`` the intermediary's share of the distribution above the hurdle."""
    hurdle: FloatArray | None = None
    """v3 ``(R,)`` the hurdle as a multiple of what the investor drew."""
    compound: BoolArray | None = None
    """v3 ``(R,)`` unpaid interest joins the principal at each month end before H."""


def _any(flags: np.ndarray | None) -> bool:
    return flags is not None and bool(np.asarray(flags).any())


def contract_waterfall(inp: Inputs) -> Waterfall:
    """The waterfall terms of a contract run on its own (its own SPV and investor)."""
    return Waterfall(
        management_fee=np.where(inp.in_service(), inp.management_fee_annual / 12.0, 0.0),
        horizon=inp.horizon,
        opening_cash=inp.opening_cash,
        min_cash=inp.min_cash,
        commitment=inp.commitment,
        equity_share=inp.equity_share,
        loan_rate=inp.loan_rate,
        sweep=inp.sweep,
        sweep_from_month=inp.sweep_from_month,
        upfront=inp.upfront,
        pay_when_able=inp.pay_when_able,
        fee_share=inp.performance_fee_share,
        hurdle=inp.hurdle_multiple,
        compound=inp.compound,
    )


@dataclass
class _V3State:
    """The v3 terms' running balances in the waterfall (spec section 7), ``(R,)``."""

    able: BoolArray | None
    provider_pay: FloatArray | None
    """``(T, R)`` block and outcome payments the provider earned, month-major."""
    fee_share: FloatArray | None
    hurdle: FloatArray
    compound: BoolArray | None
    arrears: FloatArray
    received: FloatArray
    """Interest and principal paid to the investor so far [GBP]."""
    out: dict[str, FloatArray]

    @classmethod
    def of(cls, w: Waterfall, provider_pay: FloatArray | None, rows: int, months: int) -> _V3State:
        able = w.pay_when_able if _any(w.pay_when_able) else None
        keys = []
        if able is not None:
            keys.append("provider_arrears")
        if _any(w.compound):
            keys.append("interest_capitalised")
        fee = w.fee_share if _any(w.fee_share) else None
        if fee is not None:
            keys.append("performance_fee")
        pay = None
        if able is not None:
            assert provider_pay is not None  # the provider's pay is given with arrears
            pay = np.ascontiguousarray(provider_pay.T)
        return cls(
            able=able,
            provider_pay=pay,
            fee_share=fee,
            hurdle=w.hurdle if w.hurdle is not None else np.ones(rows),
            compound=w.compound if _any(w.compound) else None,
            arrears=np.zeros(rows),
            received=np.zeros(rows),
            out={k: np.zeros((rows, months)) for k in keys},
        )

    def bring_forward(self, cash: FloatArray) -> None:
        """Step 2: last month's arrears are due again this month."""
        if self.able is not None:
            cash -= self.arrears

    def hold_back(self, cash: FloatArray, t: int, live: BoolArray | bool) -> None:
        """Step 3a: what cash cannot meet of the provider's pay (and arrears) waits."""
        if self.able is None or self.provider_pay is None:
            return
        owed = self.provider_pay[t] + self.arrears
        short = np.where(self.able & live & (cash < -ABS_TOL), np.minimum(-cash, owed), 0.0)
        cash += short
        self.arrears = short
        self.out["provider_arrears"][:, t] = short

    def fee(
        self,
        eq: FloatArray,
        drawn: FloatArray,
        ip: FloatArray,
        pr: FloatArray,
        final: BoolArray,
        t: int,
    ) -> FloatArray:
        """Step 6: the intermediary's share of the distribution above the hurdle."""
        self.received += ip + pr
        if self.fee_share is None:
            return np.zeros_like(eq)
        room = np.maximum(0.0, self.hurdle * drawn - self.received)
        fee = np.where(final, self.fee_share * np.maximum(0.0, eq - room), 0.0)
        self.out["performance_fee"][:, t] = fee
        return fee

    def capitalise(
        self, principal: FloatArray, accrued: FloatArray, before_end: BoolArray, t: int
    ) -> None:
        """Step 7: unpaid interest joins the principal at the end of month m < H."""
        if self.compound is None:
            return
        moved = np.where(self.compound & before_end, accrued, 0.0)
        principal += moved
        accrued -= moved
        self.out["interest_capitalised"][:, t] = moved


def waterfall(
    w: Waterfall,
    income: FloatArray,
    paid_out: FloatArray,
    provider_pay: FloatArray | None = None,
) -> SpvFlows:
    """Run the monthly waterfall of spec section 7 for every row at once.

    ``income`` ``(R, T)`` is outcome income; ``paid_out`` ``(R, T)`` is what leaves for the
    provider(s) in step 2 (block, outcome payments and advances, less repayments);
    ``provider_pay`` ``(R, T)`` the block and outcome payments alone (v3: what may wait).
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
    v3 = _V3State.of(w, provider_pay, rows, months)
    tracks_received = v3.fee_share is not None
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
        # 1. interest on the principal at the end of last month (v3: compound below)
        interest = principal * monthly_rate
        accrued += interest if all_live else np.where(live, interest, 0.0)
        # 2. the month's flows: income in; block, outcome pay, fee and advances out
        cash += net[t]
        v3.bring_forward(cash)
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
        v3.hold_back(cash, t, live)  # 3a. v3: only the provider waits
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
            final = np.asarray(m == w.horizon)
            avail = np.where(final, np.maximum(cash - ip - pr, 0.0), 0.0)
            ip_end = np.minimum(avail, accrued - ip)
            pr_end = np.minimum(avail - ip_end, principal - pr)
            eq = avail - ip_end - pr_end
            ip = ip + ip_end
            pr = pr + pr_end
            if tracks_received:  # v3: the intermediary's fee leaves with the distribution
                perf = v3.fee(eq, drawn, ip, pr, final, t)
                eq = eq - perf
                cash -= perf
        else:
            eq = zero
            if tracks_received and any_sweep:
                v3.received += ip + pr
        if any_sweep or m in ends:
            accrued -= ip
            principal -= pr
            cash -= ip + pr + eq
            for key, value in zip(keys[1:], (ip, pr, eq), strict=True):
                out[key][:, t] = value
        if m in ends:
            loan_loss = np.where(m == w.horizon, principal + accrued, loan_loss)
        v3.capitalise(principal, accrued, m < w.horizon, t)  # 7. v3 compound interest
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
        provider_arrears=v3.out.get("provider_arrears"),
        interest_capitalised=v3.out.get("interest_capitalised"),
        performance_fee=v3.out.get("performance_fee"),
        **out,
    )
