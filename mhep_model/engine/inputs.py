"""What the engine needs, as arrays: one row per case (or variant, or path).

Shapes use ``R`` rows, ``T`` months (the longest horizon of the rows; shorter rows are
padded and masked), ``B`` bands of a stage (1 for an unbanded stage), ``P`` payers.
A value that an amendment can change is given per month; the others per row.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class StageInputs:
    """One funnel stage."""

    name: str
    parent: int
    """Index of the parent stage, or -1 for referrals."""
    bands: tuple[str, ...]
    """Band names; ``()`` for an unbanded stage (one implicit band)."""
    split: FloatArray | None
    """``(R, B)`` band shares when this stage splits its parent's total flow, else None."""
    rate: FloatArray
    """``(R, B, T)`` share of the parent's flow in cohort month m reaching this stage [1]."""
    lag: FloatArray
    """``(R, K+1)`` share of a cohort arriving j months later [1]."""
    after_term: BoolArray
    """``(R,)`` whether the stage can occur after month N."""
    capacity: FloatArray
    """``(R, T)`` people one FTE can take on in arrival month m [people/FTE/month]; ``inf``
    where the stage has no ``capacity_per_fte`` (v2)."""
    recorded: FloatArray | None = None
    """``(R, B, T)`` recorded flows [people/month], NaN where not recorded (spec 13)."""
    opening: FloatArray | None = None
    """``(R, B)`` people in this stage when the service starts (v3, a continuation
    service) [people]: the stages below see them in month 1; they are not its outcomes."""


@dataclass(frozen=True)
class OutcomeInputs:
    """One payable outcome."""

    name: str
    stage: int
    """Index of the stage whose flow is the outcome count."""
    tariff: FloatArray
    """``(R, B, T)`` tariff by achievement month [GBP/person]."""
    shares: FloatArray
    """``(R, P, T)`` each payer's share by achievement month (0 where not a payer) [1]."""
    max_count: FloatArray
    """``(R,)`` cap on the cumulative eligible count [people]; ``inf`` when none."""
    provider_tariff: FloatArray
    """``(R, B, T)`` what the SPV owes the provider per outcome [GBP/person]."""
    rejected: FloatArray | None = None
    """``(R,)`` share of each invoice rejected at the evidence check (v3) [1]; None: 0."""
    evidence_lag: IntArray | None = None
    """``(R,)`` months the evidence check adds to the payment month (v3); None: 0."""


@dataclass(frozen=True)
class Grants:
    """Flat payments by payers for covered months (v3, spec section 5): ``(R, P, T)`` by
    covered month [GBP/month]."""

    in_cap: FloatArray
    """Owed by each payer, counted against its cap."""
    outside_cap: FloatArray
    """Owed by each payer, paid in full outside its cap."""
    replaces: BoolArray
    """Whether payer p's outcome dues of month m are replaced (not invoiced)."""


@dataclass(frozen=True)
class Stop:
    """When the service stops early (v3, spec sections 1 and 6): ``(R,)`` per row."""

    on_cap: BoolArray
    on_insolvency: BoolArray
    notice: IntArray
    """Months of notice after the stop month S [months]."""
    window_end: FloatArray
    """``(R, P)`` the last month of each payer's explicit ``window`` (``inf`` without one):
    a payer whose window has ended counts as exhausted."""


@dataclass(frozen=True)
class Inputs:
    """Everything the deterministic engine reads, for ``R`` rows over ``T`` months."""

    term: IntArray
    """``(R,)`` service months N."""
    horizon: IntArray
    """``(R,)`` months H = N + tail; ``T = horizon.max()``."""
    referrals_monthly: FloatArray
    """``(R, T)`` referral volume before ramp-up and scale [people/month]."""
    referrals_scale: FloatArray
    """``(R, T)`` multiplier on referrals [1]."""
    ramp_up_months: IntArray
    """``(R,)`` ramp-up length [months]; 0 for none."""
    stages: tuple[StageInputs, ...]
    outcomes: tuple[OutcomeInputs, ...]
    payer_names: tuple[str, ...]
    payer_self: BoolArray
    """``(R, P)`` self-funded payers (the SPV's own share; not income)."""
    payer_active: BoolArray
    """``(R, P, T)`` whether each payer pays for outcomes achieved in month m."""
    payer_factor: FloatArray
    """``(R, P, T)`` tariff factor by achievement month [1]."""
    payer_cap: FloatArray
    """``(R, P, T)`` most each payer pays in total, in force in payment month m [GBP];
    ``inf`` when none (v2: amendable)."""
    pay_month: IntArray
    """``(R, T)`` month in which outcomes achieved in month m are paid (may pass H)."""
    provider_annual_cap: FloatArray
    """``(R, T)`` cap on outcome payments to the provider per contract year, in force in
    payment month m [GBP]; ``inf`` when none (v2: amendable)."""
    back_to_back: BoolArray
    """``(R,)`` the provider's outcome payments are cut when payer caps hold invoices back."""
    advance: FloatArray
    """``(R, T)`` working capital the SPV lends the provider [GBP/month]."""
    advance_repaid: FloatArray
    """``(R, T)`` the provider's repayments of the advance [GBP/month]."""
    block_annual: FloatArray
    """``(R, T)`` provider block [GBP/year]."""
    staff_fte: FloatArray
    """``(R, T)`` provider staff [FTE]."""
    cost_per_fte: FloatArray
    """``(R, T)`` fully loaded cost per FTE [GBP/year]."""
    fixed_annual: FloatArray
    """``(R, T)`` provider fixed costs [GBP/year]."""
    mobilisation: FloatArray
    """``(R,)`` one-off provider cost in month 1 [GBP]."""
    opening_reserves: FloatArray
    """``(R,)`` provider cash at risk at the start [GBP]."""
    management_fee_annual: FloatArray
    """``(R, T)`` SPV management fee [GBP/year]."""
    opening_cash: FloatArray
    """``(R,)`` SPV cash at the start [GBP]."""
    min_cash: FloatArray
    """``(R,)`` SPV cash buffer that drawdowns top up to [GBP]."""
    commitment: FloatArray
    """``(R,)`` most the investor can ever be asked to draw [GBP]."""
    equity_share: FloatArray
    """``(R,)`` share of each drawdown that is equity [1]."""
    loan_rate: FloatArray
    """``(R,)`` nominal annual loan interest rate [1/year]."""
    sweep: BoolArray
    """``(R,)`` cash sweep repayment (else repayment at the end)."""
    sweep_from_month: IntArray
    """``(R,)`` first month of sweep repayments."""
    upfront: FloatArray
    """``(R,)`` capital drawn in month 1 whatever the cash [GBP] (v2)."""
    recorded_referrals: FloatArray | None = None
    """``(R, T)`` recorded referrals [people/month], NaN where not recorded (spec 13)."""
    grants: Grants | None = None
    """v3 grants in place of (or beside) outcome payments; None when no row has any."""
    stop: Stop | None = None
    """v3 ``contract.stop``; None when no row can stop."""
    service_end: IntArray | None = None
    """``(R,)`` F: the first month without service (v3, found by the engine from a run
    without the stop); None: the service runs its term."""
    cap_by_achievement: BoolArray | None = None
    """``(R,)`` the provider's annual cap counts outcomes by the contract year they were
    achieved in (v3 ``annual_cap_basis: achieved``); None: by year of payment."""
    pay_when_able: BoolArray | None = None
    """``(R,)`` the SPV holds back what it cannot pay the provider (v3)."""
    performance_fee_share: FloatArray | None = None
    """``(R,)`` the intermediary's share of equity distributions above the hurdle (v3)."""
    hurdle_multiple: FloatArray | None = None
    """``(R,)`` the investor's money multiple above which the fee is taken (v3)."""
    compound: BoolArray | None = None
    """``(R,)`` unpaid interest joins the principal monthly (v3 ``interest: compound``)."""
    uses_v3: bool = False
    """Whether the scenario names any v3 key: the outputs then carry the v3 columns."""

    @property
    def rows(self) -> int:
        """Number of rows R."""
        return int(self.term.shape[0])

    @property
    def months(self) -> int:
        """Number of months T (the longest horizon)."""
        return int(self.referrals_monthly.shape[1])

    def month_numbers(self) -> IntArray:
        """``(T,)`` contract months 1..T."""
        return np.arange(1, self.months + 1, dtype=np.int64)

    def in_term(self) -> BoolArray:
        """``(R, T)`` months within the service term (m <= N)."""
        return self.month_numbers()[None, :] <= self.term[:, None]

    def in_horizon(self) -> BoolArray:
        """``(R, T)`` months within each row's horizon (m <= H)."""
        return self.month_numbers()[None, :] <= self.horizon[:, None]

    def in_service(self) -> BoolArray:
        """``(R, T)`` months within the term in which the service runs (m <= N, m < F)."""
        if self.service_end is None:
            return self.in_term()
        return self.in_term() & (self.month_numbers()[None, :] < self.service_end[:, None])

    def stopped(self) -> BoolArray:
        """``(R, T)`` months from F on (v3: the service has stopped)."""
        if self.service_end is None:
            return np.zeros((self.rows, self.months), dtype=bool)
        return self.month_numbers()[None, :] >= self.service_end[:, None]


def _take(obj: Any, index: IntArray | slice) -> Any:
    """A copy of a frozen inputs dataclass with every per-row array indexed by ``index``."""
    changes: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, np.ndarray):
            changes[f.name] = value[index]
        elif hasattr(value, "__dataclass_fields__"):
            changes[f.name] = _take(value, index)
        elif isinstance(value, tuple) and value and hasattr(value[0], "__dataclass_fields__"):
            changes[f.name] = tuple(_take(v, index) for v in value)
    return replace(obj, **changes)


def take_rows(inp: Inputs, index: IntArray) -> Inputs:
    """``inp`` with rows ``index`` (repeats allowed: one row per path of a case)."""
    taken: Inputs = _take(inp, np.asarray(index, dtype=np.int64))
    return taken


def slice_rows(inp: Inputs, start: int, stop: int) -> Inputs:
    """``inp``'s rows ``start`` to ``stop`` (exclusive) as views: nothing is copied."""
    taken: Inputs = _take(inp, slice(start, stop))
    return taken


def _repeat(obj: Any, row: int, n: int) -> Any:
    changes: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, np.ndarray):
            one = value[row : row + 1]
            changes[f.name] = np.broadcast_to(one, (n, *one.shape[1:]))
        elif hasattr(value, "__dataclass_fields__"):
            changes[f.name] = _repeat(value, row, n)
        elif isinstance(value, tuple) and value and hasattr(value[0], "__dataclass_fields__"):
            changes[f.name] = tuple(_repeat(v, row, n) for v in value)
    return replace(obj, **changes)


def repeat_row(inp: Inputs, row: int, n: int) -> Inputs:
    """``inp``'s row ``row`` as ``n`` rows (one per path of a case) without copying:
    every array is a read-only broadcast view of the one row, so paths share their case's
    inputs and the engine can compute what depends on inputs alone once (``shared``)."""
    repeated: Inputs = _repeat(inp, row, n)
    return repeated


def shared(a: np.ndarray) -> bool:
    """Whether every row of ``a`` is one row (a broadcast view made by :func:`repeat_row`,
    or a single row): what depends on it alone can be computed once and broadcast."""
    return a.shape[0] == 1 or (a.ndim > 0 and a.strides[0] == 0)
