"""Outcomes, payers, caps and settlement (spec section 5) and the provider's outcome pay."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mhep_model.engine.inputs import (
    BoolArray,
    FloatArray,
    Inputs,
    IntArray,
    OutcomeInputs,
    shared,
)
from mhep_model.engine.months import month_diff, running_max, running_total, settle_steps

SHARE_TOL = 1e-9


@dataclass(frozen=True)
class Payments:
    """Money due and paid for outcomes. ``(R, P, T)`` or ``(R, T)`` [GBP/month]."""

    eligible: list[FloatArray]
    """Per outcome, ``(R, B, T)`` eligible counts by achievement month [people/month]."""
    invoiced: FloatArray
    """``(R, P, T)`` external payers' invoices by payment month, before caps."""
    paid: FloatArray
    """``(R, P, T)`` paid by each payer by payment month (0 for self payers)."""
    capped: FloatArray
    """``(R, P, T)`` invoiced but above the payer's cap, by payment month."""
    self_funded: FloatArray
    """``(R, T)`` the SPV's own share, by achievement month."""
    unfunded: FloatArray
    """``(R, T)`` value at full tariff of outcomes nobody pays for, by achievement month."""
    unsettled: FloatArray
    """``(R, T)`` external amounts that would be paid after H, by achievement month."""
    provider_outcome_payments: FloatArray
    """``(R, T)`` paid to the provider for outcomes, by payment month, after its annual cap."""
    grants: FloatArray | None = None
    """``(R, T)`` v3 grants owed by payment month, before caps (None: no grants)."""
    replaced: FloatArray | None = None
    """``(R, T)`` v3 outcome dues a grant replaced, by achievement month."""
    rejected: FloatArray | None = None
    """``(R, T)`` v3 amounts rejected at the evidence check, by payment month."""

    @property
    def income(self) -> FloatArray:
        """``(R, T)`` the SPV's outcome income [GBP/month]."""
        return self.paid.sum(axis=1)  # type: ignore[no-any-return]


def sum_bands(x: FloatArray) -> FloatArray:
    """``(R, T)``: ``(R, K, T)`` added up over its middle axis, one slice after another.
    The same numbers as ``x.sum(axis=1)`` (which adds that axis in the same order), without
    a strided reduction's overhead."""
    out = x[:, 0].copy()
    for k in range(1, x.shape[1]):
        out += x[:, k]
    return out


def eligible_counts(flow: FloatArray, max_count: FloatArray) -> FloatArray:
    """``(R, B, T)`` counts after the cumulative ``max_count`` cap (inf = no cap)."""
    if not np.isfinite(max_count).any():
        return flow  # no cap on any row: every count is eligible
    count = sum_bands(flow)
    elig_cum = np.minimum(running_total(count), max_count[:, None])
    elig = month_diff(elig_cum)
    with np.errstate(over="ignore"):  # subnormal counts; the factor is at most 1 anyway
        factor = np.divide(elig, count, out=np.zeros_like(count), where=count > 0)
    factor = np.clip(factor, 0.0, 1.0)  # cumsum/diff residues must not pay for more people
    capped = flow * factor[:, None, :]
    return np.where(np.isfinite(max_count)[:, None, None], capped, flow)


def settle(amount: FloatArray, pay_month: IntArray, horizon: IntArray) -> FloatArray:
    """Move ``(R, ..., T)`` amounts from achievement month to payment month.

    Amounts whose payment month passes the row's horizon are dropped (the caller counts
    them as unsettled). Sums in achievement-month order, so a quarter adds up as written.
    One step per achievement month, over every row at once; when the rows share their
    payment months (a stress run's paths of one case) a step is a plain slice.
    """
    rows, months = amount.shape[0], amount.shape[-1]
    flat = amount.reshape(rows, -1, months)
    # rows with the same payment month for each achievement month (within the horizon)
    # move alike: a handful of groups (the cases' calendars), each moved by slices
    when = np.where(pay_month <= horizon[:, None], pay_month, 0)  # 0: never paid
    if same_rows(when):
        return _shift(flat, when[0]).reshape(amount.shape)
    kinds, group = np.unique(when, axis=0, return_inverse=True)
    out = np.empty(flat.shape)
    for g, kind in enumerate(kinds):
        members = np.flatnonzero(group.reshape(-1) == g)
        out[members] = _shift(flat[members], kind)
    return out.reshape(amount.shape)


def _shift(flat: FloatArray, when: IntArray) -> FloatArray:
    """``(R, K, T)`` amounts moved to payment months ``when`` ``(T,)`` (0: dropped), added
    in achievement-month order."""
    out = np.zeros(flat.shape)
    for target, source in settle_steps(when):
        out[:, :, target] += flat[:, :, source]
    return out


def cap_cumulative(amount: FloatArray, cap: FloatArray) -> FloatArray:
    """Cap the running total along the last axis, with the cap in force in each month
    (spec section 5): ``paid_cum[m] = max(paid_cum[m-1], min(amount_cum[m], cap[m]))``.

    ``cap`` has ``amount``'s shape (or its shape without the last axis: a constant cap).
    A lowered cap never claws back what was paid; a raised one pays what it held back.
    """
    if cap.ndim < amount.ndim:
        cap = cap[..., None]
    running = running_total(amount)
    rising = bool((amount >= 0).all())  # a running total that never falls
    if rising and np.isposinf(cap).all():
        return month_diff(running)  # min and running max change nothing
    capped = np.minimum(running, cap)
    if rising and (cap == cap[..., :1]).all():
        return month_diff(capped)  # a fixed cap: capped never falls
    return month_diff(running_max(capped))


def payment_years(term: IntArray, months: int) -> IntArray:
    """``(R, T)`` contract year of each payment month; months after the term belong to the
    last contract year of the term (spec section 6: the tail has no cap of its own)."""
    m = np.arange(1, months + 1)
    last_year = -(-term // 12)
    return np.minimum(-(-m[None, :] // 12), last_year[:, None]).astype(np.int64)


def cap_per_year(amount: FloatArray, cap: FloatArray, term: IntArray) -> FloatArray:
    """Cap ``(R, T)`` payments cumulatively within each contract year of payment, with the
    cap ``(R, T)`` in force in each month (or ``(R,)`` constant)."""
    rows, months = amount.shape
    cap = np.broadcast_to(cap[:, None] if cap.ndim == 1 else cap, (rows, months))
    years = payment_years(term, months)
    paid = np.zeros_like(amount)
    if same_rows(years) and (amount >= 0).all() and (cap >= 0).all():
        # every row's years fall in the same months: each year is a slice of columns (the
        # same numbers as the masks below give, for amounts and caps that are not negative)
        edges = [int(e) for e in np.flatnonzero(np.diff(years[0], prepend=0))]
        for start, stop in zip(edges, [*edges[1:], months], strict=True):
            running = running_total(amount[:, start:stop])
            held = running_max(np.minimum(running, cap[:, start:stop]))
            paid[:, start:stop] = month_diff(held)
        return paid
    for year in range(1, int(years.max(initial=1)) + 1):  # a handful of years, not months
        inside = years == year
        if not inside.any():
            continue
        # Zero outside the year: the running total and its running maximum start at the
        # year's first month (years are contiguous runs of months).
        running = np.cumsum(np.where(inside, amount, 0.0), axis=1)
        held = np.maximum.accumulate(np.where(inside, np.minimum(running, cap), 0.0), axis=1)
        held = np.where(inside, held, 0.0)
        paid += np.where(inside, np.diff(held, axis=1, prepend=0.0), 0.0)
    return paid


def paid_ratio(invoiced: FloatArray, paid: FloatArray) -> FloatArray:
    """``(R, T)`` share of each payment month's external invoices that the payers paid,
    ``min(1, paid / invoiced)``; 1 where nothing was invoiced (spec section 6)."""
    total_invoiced = invoiced.sum(axis=1)
    total_paid = paid.sum(axis=1)
    ratio = np.ones_like(total_invoiced)
    # a subnormal invoice under a residue of payment overflows: the ratio is 1 (min below)
    with np.errstate(over="ignore"):
        np.divide(total_paid, total_invoiced, out=ratio, where=total_invoiced > 0)
    capped: FloatArray = np.minimum(ratio, 1.0)
    return capped


@dataclass(frozen=True)
class Invoices:
    """What the SPV invoices and owes for outcomes, before payer caps: ``(R, P, T)`` or
    ``(R, T)`` [GBP/month]."""

    eligible: list[FloatArray]
    invoiced: FloatArray
    """``(R, P, T)`` external payers' invoices by payment month that their caps apply to
    (outcomes after evidence checks, and grants counted against the cap)."""
    self_funded: FloatArray
    unfunded: FloatArray
    unsettled: FloatArray
    provider_due: FloatArray
    """``(R, T)`` owed to the provider for outcomes, by payment month, before any cut."""
    uncapped: FloatArray | None = None
    """``(R, P, T)`` v3 grants paid in full outside the payers' caps, by payment month."""
    grants: FloatArray | None = None
    """``(R, T)`` v3 grants owed by payment month (within the horizon), before caps."""
    replaced: FloatArray | None = None
    """``(R, T)`` v3 outcome dues replaced by grants, by achievement month."""
    rejected: FloatArray | None = None
    """``(R, T)`` v3 amounts rejected at the evidence check, by payment month."""
    provider_due_by_year: FloatArray | None = None
    """``(R, Y, T)`` v3: ``provider_due`` split by the contract year the outcomes were
    achieved in (``annual_cap_basis: achieved``)."""
    cap_due: FloatArray | None = None
    """``(R, P, T)`` v3 ``on_cap``: each payer's accepted dues and the grants against its
    cap, by achievement (covered) month, settled or not."""

    @property
    def total(self) -> FloatArray:
        """``(R, P, T)`` every external invoice by payment month, grants included."""
        return self.invoiced if self.uncapped is None else self.invoiced + self.uncapped


def once(fn: Callable[..., tuple[np.ndarray, ...]], *arrays: np.ndarray) -> tuple[Any, ...]:
    """``fn(*arrays)`` (a tuple of arrays) for what depends on inputs alone: computed on one
    row and broadcast when every row is the same (a stress run's paths of one case, or a
    sweep's grid over inputs other than these)."""
    if all(same_rows(a) for a in arrays):
        rows = arrays[0].shape[0]
        found = fn(*(a[:1] for a in arrays))
        return tuple(np.broadcast_to(x, (rows, *x.shape[1:])) for x in found)
    return fn(*arrays)


def same_rows(a: np.ndarray) -> bool:
    """Whether every row of ``a`` equals its first (NaN never does). The last row is
    compared first: rows that differ (a sweep's grid) are told apart at once."""
    if a.shape[0] == 0 or shared(a):
        return True
    return bool((a[-1] == a[0]).all()) and bool((a == a[:1]).all())


def nonzero_payers(x: FloatArray) -> BoolArray:
    """``(P,)`` whether each payer's slice of ``(R, P, T)`` is anywhere nonzero: one
    pass down the rows of the flattened ``(R, P * T)``, much faster than ``any`` over
    axes 0 and 2."""
    if shared(x):
        x = x[:1]
    per_row = int(np.prod(x.shape[1:]))
    anywhere: BoolArray = (x.reshape(x.shape[0], per_row) != 0).any(axis=0)
    return np.asarray(anywhere.reshape(x.shape[1:]).any(axis=-1))


def _weights(
    active: BoolArray, factor: FloatArray, self_payer: BoolArray
) -> tuple[FloatArray, FloatArray]:
    """What multiplies an outcome's value times its shares ``(R, P, T)``: for external
    payers (0 for self payers), and for self payers (0 for the others)."""
    weight = active * factor
    external = np.where(self_payer[:, :, None], 0.0, weight)
    own = np.where(self_payer[:, :, None], weight, 0.0)
    return external, own


def _nobody(shares: FloatArray, active: BoolArray) -> tuple[BoolArray]:
    """``(R, T)`` where no active payer has a share of an outcome (nobody pays)."""
    return (sum_bands(shares * active) <= SHARE_TOL,)


def achievement_years(inp: Inputs) -> IntArray:
    """``(R, T)`` contract year of each achievement month, tail months in the last year of
    the term (v3 ``annual_cap_basis: achieved``)."""
    return payment_years(inp.term, inp.months)


def _by_year(amount: FloatArray, years: IntArray, n_years: int) -> FloatArray:
    """``(R, T)`` amounts by achievement month split into ``(R, Y, T)`` by contract year."""
    return np.stack([np.where(years == y + 1, amount, 0.0) for y in range(n_years)], axis=1)


@dataclass
class _Dues:
    """Dues by achievement month as outcomes are added up (``invoices``)."""

    external: FloatArray
    """``(R, P, T)`` dues of outcomes without an evidence check."""
    self_funded: FloatArray
    unfunded: FloatArray
    provider: FloatArray
    """``(R, T)`` owed to the provider for outcomes without an evidence check."""
    replaced: FloatArray | None
    checked: list[tuple[FloatArray, FloatArray, FloatArray, IntArray]]
    """Per outcome with an evidence check: its ``(R, P, T)`` external dues, ``(R, T)``
    provider dues (both before rejection), ``(R,)`` rejected share and evidence lag."""


def _outcome_dues(inp: Inputs, flows: list[FloatArray]) -> tuple[list[FloatArray], _Dues]:
    """Every outcome's eligible counts, and its dues by payer and to the provider by
    achievement month (grants' replacement applied; spec sections 5 and 6)."""
    rows, months = inp.rows, inp.months
    replaces = inp.grants.replaces if inp.grants is not None else None
    if replaces is not None and not replaces.any():
        replaces = None
    dues = _Dues(
        external=np.zeros((rows, len(inp.payer_names), months)),
        self_funded=np.zeros((rows, months)),
        unfunded=np.zeros((rows, months)),
        provider=np.zeros((rows, months)),
        replaced=None if replaces is None else np.zeros((rows, months)),
        checked=[],
    )
    eligible = []
    external, own = once(_weights, inp.payer_active, inp.payer_factor, inp.payer_self)
    pays_external = nonzero_payers(external)
    pays_own = nonzero_payers(own)
    for outcome in inp.outcomes:
        elig = eligible_counts(flows[outcome.stage], outcome.max_count)
        eligible.append(elig)
        value = sum_bands(elig * outcome.tariff)  # (R, T) at full tariff
        checked = _evidence(outcome)
        due = dues.external if checked is None else np.zeros_like(dues.external)
        accepted = None if checked is None else 1.0 - checked[0][:, None]
        used = nonzero_payers(outcome.shares)  # only the payers with a share
        for p in np.flatnonzero(used & (pays_external | pays_own)):
            by_payer = value * outcome.shares[:, p]
            if pays_external[p]:
                owed = by_payer * external[:, p]
                if replaces is not None and dues.replaced is not None and replaces[:, p].any():
                    # a grant replaces this payer's dues: reported, never invoiced (5)
                    dues.replaced += np.where(replaces[:, p], owed, 0.0)
                    owed = np.where(replaces[:, p], 0.0, owed)
                due[:, p] += owed
            if pays_own[p]:
                mine = by_payer * own[:, p]
                dues.self_funded += mine if accepted is None else mine * accepted
        (nobody,) = once(_nobody, outcome.shares, inp.payer_active)
        if nobody.any():
            dues.unfunded += np.where(nobody, value, 0.0)
        provider = sum_bands(elig * outcome.provider_tariff)
        if checked is None:
            dues.provider += provider
        else:
            dues.checked.append((due, provider, checked[0], checked[1]))
    return eligible, dues


def _evidence(outcome: OutcomeInputs) -> tuple[FloatArray, IntArray] | None:
    """An outcome's rejected share and evidence lag ``(R,)``, or None without a check."""
    x, lag = outcome.rejected, outcome.evidence_lag
    if x is None or lag is None or not (x.any() or lag.any()):
        return None
    return x, lag


def invoices(inp: Inputs, flows: list[FloatArray]) -> Invoices:
    """Outcome counts to invoices by payment month and the provider's dues (spec 5, 6),
    with v3's grants, evidence checks and the provider's dues by year achieved."""
    eligible, dues = _outcome_dues(inp, flows)
    pay_month, horizon = inp.pay_month, inp.horizon
    settled = pay_month <= horizon[:, None]
    external = dues.external
    unsettled = np.where(settled, 0.0, external.sum(axis=1))
    provider_owed = dues.provider
    invoiced = settle(external, pay_month, horizon)
    rejected = None
    cap_due = external.copy() if _stops_on_cap(inp) else None
    v3 = _V3(inp)
    for due, provider, x, lag in dues.checked:
        # accepted dues paid lag months after the settlement month; rejected never (5)
        when = pay_month + lag[:, None]
        checked = when <= horizon[:, None]
        accepted = 1.0 - x[:, None, None]
        invoiced += settle(due * accepted, when, horizon)
        rejected_now = settle((due * (1.0 - accepted)).sum(axis=1), when, horizon)
        rejected = rejected_now if rejected is None else rejected + rejected_now
        unsettled += np.where(checked, 0.0, due.sum(axis=1))
        v3.provider_checked(provider * accepted[:, :, 0], when)
        if cap_due is not None:
            cap_due += due * accepted
    grants = inp.grants
    uncapped = grants_due = None
    if grants is not None:
        in_cap, outside = grants.in_cap, grants.outside_cap
        if inp.service_end is not None:  # no grant for months once the service stopped
            running = ~inp.stopped()[:, None, :]
            in_cap, outside = in_cap * running, outside * running
        invoiced += settle(in_cap, pay_month, horizon)
        uncapped = settle(outside, pay_month, horizon)
        grants_due = settle((in_cap + outside).sum(axis=1), pay_month, horizon)
        unsettled += np.where(settled, 0.0, (in_cap + outside).sum(axis=1))
        if cap_due is not None:
            cap_due += in_cap
    provider_due, by_year = v3.provider_due(provider_owed)
    return Invoices(
        eligible=eligible,
        invoiced=invoiced,
        self_funded=dues.self_funded,
        unfunded=dues.unfunded,
        unsettled=unsettled,
        provider_due=provider_due,
        uncapped=uncapped,
        grants=grants_due,
        replaced=dues.replaced,
        rejected=rejected,
        provider_due_by_year=by_year,
        cap_due=cap_due,
    )


def _stops_on_cap(inp: Inputs) -> bool:
    return inp.stop is not None and bool(inp.stop.on_cap.any())


class _V3:
    """The provider's dues by payment month: outcomes without a check on the settlement
    timing, checked ones on theirs; split by year achieved where the cap counts so."""

    def __init__(self, inp: Inputs) -> None:
        self.inp = inp
        by_year = inp.cap_by_achievement
        self.years = achievement_years(inp) if by_year is not None and by_year.any() else None
        self.n_years = int(self.years.max(initial=1)) if self.years is not None else 0
        self.checked: list[tuple[FloatArray, IntArray]] = []

    def provider_checked(self, owed: FloatArray, when: IntArray) -> None:
        self.checked.append((owed, when))

    def _settled(self, owed: FloatArray, when: IntArray) -> FloatArray:
        horizon = self.inp.horizon
        if self.years is None:
            return settle(owed, when, horizon)
        return settle(_by_year(owed, self.years, self.n_years), when, horizon)

    def provider_due(self, owed: FloatArray) -> tuple[FloatArray, FloatArray | None]:
        """``(R, T)`` owed to the provider by payment month, and ``(R, Y, T)`` by year
        achieved when the annual cap counts by it (else None)."""
        total = self._settled(owed, self.inp.pay_month)
        for checked, when in self.checked:
            total = total + self._settled(checked, when)
        if self.years is None:
            return total, None
        return sum_bands(total), total


def own_caps(inp: Inputs, inv: Invoices) -> FloatArray:
    """``(R, P, T)`` paid by each payer under its own cap (spec section 5), grants outside
    the cap paid in full (v3)."""
    paid = cap_cumulative(inv.invoiced, inp.payer_cap)
    return paid if inv.uncapped is None else paid + inv.uncapped


def settle_payments(inp: Inputs, inv: Invoices, paid: FloatArray) -> Payments:
    """Given what each payer paid ``(R, P, T)``: capped amounts, and the provider's outcome
    pay (back to back on these payments, then its annual cap; spec section 6)."""
    provider_due = inv.provider_due
    by_year = inv.provider_due_by_year
    invoiced = inv.total
    if inp.back_to_back.any():
        # back to back: the SPV passes the payers' caps on, before the provider's own cap
        ratio = np.where(inp.back_to_back[:, None], paid_ratio(invoiced, paid), 1.0)
        provider_due = provider_due * ratio
        if by_year is not None:
            by_year = by_year * ratio[:, None, :]
    provider_paid = cap_per_year(provider_due, inp.provider_annual_cap, inp.term)
    if by_year is not None and inp.cap_by_achievement is not None:
        # v3: each year's outcomes fill that year's cap, whenever they are paid (6)
        cap = np.broadcast_to(inp.provider_annual_cap[:, None, :], by_year.shape)
        achieved = sum_bands(cap_cumulative(by_year, cap))
        provider_paid = np.where(inp.cap_by_achievement[:, None], achieved, provider_paid)
    return Payments(
        eligible=inv.eligible,
        invoiced=invoiced,
        paid=paid,
        capped=invoiced - paid,
        self_funded=inv.self_funded,
        unfunded=inv.unfunded,
        unsettled=inv.unsettled,
        provider_outcome_payments=provider_paid,
        grants=inv.grants,
        replaced=inv.replaced,
        rejected=inv.rejected,
    )
