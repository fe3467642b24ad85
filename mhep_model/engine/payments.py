"""Money due and paid (spec sections 5 and 6): eligible counts, settlement, caps by payer
and by contract year, and the helpers :mod:`mhep_model.engine.invoices` builds on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mhep_model.engine.inputs import (
    BoolArray,
    FloatArray,
    IntArray,
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


def payer_weights(
    active: BoolArray, factor: FloatArray, self_payer: BoolArray
) -> tuple[FloatArray, FloatArray]:
    """What multiplies an outcome's value times its shares ``(R, P, T)``: for external
    payers (0 for self payers), and for self payers (0 for the others)."""
    weight = active * factor
    external = np.where(self_payer[:, :, None], 0.0, weight)
    own = np.where(self_payer[:, :, None], weight, 0.0)
    return external, own


def nobody_pays(shares: FloatArray, active: BoolArray) -> tuple[BoolArray]:
    """``(R, T)`` where no active payer has a share of an outcome (nobody pays)."""
    return (sum_bands(shares * active) <= SHARE_TOL,)
