"""Outcome counts to what the SPV invoices and owes (spec sections 5 and 6), with the v3
terms: grants replacing outcome dues, evidence checks, the provider's dues by year achieved;
then what each payer paid under its cap and the provider's outcome pay."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mhep_model.engine.inputs import FloatArray, Inputs, IntArray, OutcomeInputs
from mhep_model.engine.payments import (
    Payments,
    cap_cumulative,
    cap_per_year,
    eligible_counts,
    nobody_pays,
    nonzero_payers,
    once,
    paid_ratio,
    payer_weights,
    payment_years,
    settle,
    sum_bands,
)


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


def achievement_years(inp: Inputs) -> IntArray:
    """``(R, T)`` contract year of each achievement month, tail months in the last year of
    the term (v3 ``annual_cap_basis: achieved``)."""
    return payment_years(inp.term, inp.months)


def _by_year(amount: FloatArray, years: IntArray, n_years: int) -> FloatArray:
    """``(R, T)`` amounts by achievement month split into ``(R, Y, T)`` by contract year."""
    return np.stack([np.where(years == y + 1, amount, 0.0) for y in range(n_years)], axis=1)


@dataclass
class Dues:
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

    def before(self, end: IntArray) -> Dues:
        """These dues for outcomes achieved before each row's month ``end`` only: what the
        stage flows stopped from ``end`` give (no outcome from then on; spec section 1)."""
        keep = np.arange(1, self.self_funded.shape[1] + 1)[None, :] < end[:, None]

        def cut(x: FloatArray) -> FloatArray:
            return np.where(keep if x.ndim == 2 else keep[:, None, :], x, 0.0)

        return Dues(
            external=cut(self.external),
            self_funded=cut(self.self_funded),
            unfunded=cut(self.unfunded),
            provider=cut(self.provider),
            replaced=None if self.replaced is None else cut(self.replaced),
            checked=[(cut(d), cut(p), x, lag) for d, p, x, lag in self.checked],
        )


Counted = tuple[list[FloatArray], "Dues"]
"""Each outcome's ``(R, B, T)`` eligible counts and the dues by achievement month."""


def outcome_dues(inp: Inputs, flows: list[FloatArray]) -> Counted:
    """Every outcome's eligible counts, and its dues by payer and to the provider by
    achievement month (grants' replacement applied; spec sections 5 and 6)."""
    rows, months = inp.rows, inp.months
    replaces = inp.grants.replaces if inp.grants is not None else None
    if replaces is not None and not replaces.any():
        replaces = None
    dues = Dues(
        external=np.zeros((rows, len(inp.payer_names), months)),
        self_funded=np.zeros((rows, months)),
        unfunded=np.zeros((rows, months)),
        provider=np.zeros((rows, months)),
        replaced=None if replaces is None else np.zeros((rows, months)),
        checked=[],
    )
    eligible = []
    external, own = once(payer_weights, inp.payer_active, inp.payer_factor, inp.payer_self)
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
        (nobody,) = once(nobody_pays, outcome.shares, inp.payer_active)
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


def invoices(inp: Inputs, flows: list[FloatArray], counted: Counted | None = None) -> Invoices:
    """Outcome counts to invoices by payment month and the provider's dues (spec 5, 6),
    with v3's grants, evidence checks and the provider's dues by year achieved.
    ``counted``: the flows' :func:`outcome_dues` when already known."""
    eligible, dues = counted if counted is not None else outcome_dues(inp, flows)
    pay_month, horizon = inp.pay_month, inp.horizon
    settled = pay_month <= horizon[:, None]
    external = dues.external
    unsettled = np.where(settled, 0.0, external.sum(axis=1))
    provider_owed = dues.provider
    invoiced = settle(external, pay_month, horizon)
    rejected = None
    cap_due = cap_dues(inp, dues) if _stops_on_cap(inp) else None
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


def cap_dues(inp: Inputs, dues: Dues) -> FloatArray:
    """``(R, P, T)`` what counts against each payer's cap for the ``on_cap`` trigger, by
    achievement month: accepted dues, and grants counting against the cap (spec 6)."""
    out = dues.external.copy()
    for due, _, x, _ in dues.checked:
        out += due * (1.0 - x[:, None, None])
    if inp.grants is not None:
        in_cap = inp.grants.in_cap
        if inp.service_end is not None:  # no grant for months once the service stopped
            in_cap = in_cap * ~inp.stopped()[:, None, :]
        out += in_cap
    return out


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
