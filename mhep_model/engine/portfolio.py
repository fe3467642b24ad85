"""Portfolios (spec section 12): one SPV and one investor over several contracts.

Each contract's people, invoices and provider are computed as on its own, in its own
months; payers shared across contracts pay under one cap, by portfolio payment month, in
proportion to each contract's invoices; the SPV's waterfall then runs once over portfolio
months on the flows summed over contracts. Rows are cases (or the paths of one case).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from mhep_model.engine.funnel import stop_flows
from mhep_model.engine.inputs import FloatArray, Inputs, IntArray, repeat_row, take_rows
from mhep_model.engine.invoices import (
    Counted,
    invoices,
    outcome_dues,
    own_caps,
    settle_payments,
)
from mhep_model.engine.payments import Payments, cap_cumulative
from mhep_model.engine.provider import ProviderFlows, provider, with_arrears
from mhep_model.engine.spv import SpvFlows, Waterfall, contract_waterfall, waterfall
from mhep_model.engine.stop import (
    STOP_CAP,
    cap_stop_month,
    cap_trigger_month,
    recorded_series,
    stop_month,
)
from mhep_model.engine.summary import contract_summary, investor_summary

MONTH_METRICS = ("provider_min_reserves_month", "provider_insolvent_month")


@dataclass(frozen=True)
class PortfolioInputs:
    """Every contract's engine inputs (the same ``R`` rows in each) and the portfolio's."""

    names: tuple[str, ...]
    contracts: tuple[Inputs, ...]
    offsets: IntArray
    """``(C, R)`` months from portfolio month 1 to each contract's month 1."""
    shared: tuple[str, ...]
    """Keys of the payers shared across contracts."""
    shared_cap: FloatArray
    """``(R, S)`` one cap per shared payer over all contracts [GBP]; ``inf`` when none."""
    term: IntArray
    """``(R,)`` N_P: the last portfolio month in some contract's term."""
    waterfall: Waterfall
    """The portfolio's SPV and investor over ``T_P`` months (horizon H_P per row)."""
    uses_v3: bool = False
    """Whether any contract, or the portfolio's SPV or investor, names a v3 key."""

    @classmethod
    def of_contract(cls, inp: Inputs) -> PortfolioInputs:
        """A contract on its own as a portfolio of one: its own SPV and investor, no
        shared payers, portfolio months its own."""
        return cls(
            names=("",),
            contracts=(inp,),
            offsets=np.zeros((1, inp.rows), dtype=np.int64),
            shared=(),
            shared_cap=np.zeros((inp.rows, 0)),
            term=inp.term,
            waterfall=contract_waterfall(inp),
            uses_v3=inp.uses_v3,
        )

    @property
    def rows(self) -> int:
        return int(self.term.shape[0])

    @property
    def months(self) -> int:
        """``T_P``: the width of the portfolio's monthly arrays."""
        return int(self.waterfall.management_fee.shape[1])

    def repeat(self, row: int, n: int) -> PortfolioInputs:
        """Row ``row`` as ``n`` rows (the paths of one case) as read-only broadcast views:
        nothing is copied per path."""

        def rows(a: np.ndarray, axis: int = 0) -> np.ndarray:
            one = np.take(a, [row], axis=axis)
            shape = list(one.shape)
            shape[axis] = n
            return np.broadcast_to(one, tuple(shape))

        w = self.waterfall
        taken = Waterfall(
            **{name: _maybe(rows, getattr(w, name)) for name in w.__dataclass_fields__}  # type: ignore[arg-type]
        )
        return replace(
            self,
            contracts=tuple(repeat_row(c, row, n) for c in self.contracts),
            offsets=rows(self.offsets, axis=1),
            shared_cap=rows(self.shared_cap),
            term=rows(self.term),
            waterfall=taken,
        )

    def take(self, index: IntArray) -> PortfolioInputs:
        """Rows ``index`` of every array (repeats allowed: the paths of one case)."""
        w = self.waterfall
        taken = Waterfall(
            **{  # type: ignore[arg-type]
                name: _maybe(lambda a: a[index], getattr(w, name))
                for name in w.__dataclass_fields__  # every field is per row (or None)
            }
        )
        return replace(
            self,
            contracts=tuple(take_rows(c, index) for c in self.contracts),
            offsets=self.offsets[:, index],
            shared_cap=self.shared_cap[index],
            term=self.term[index],
            waterfall=taken,
        )


def _maybe(fn: Callable[[np.ndarray], np.ndarray], a: np.ndarray | None) -> np.ndarray | None:
    return None if a is None else fn(a)


@dataclass(frozen=True)
class ContractFlows:
    """One contract's flows in its own months ``(R, T_c)`` and its summary."""

    name: str
    inputs: Inputs
    offset: IntArray
    """``(R,)`` months from portfolio month 1 to this contract's month 1."""
    referrals: FloatArray
    stages: list[FloatArray]
    over_capacity: FloatArray
    payments: Payments
    provider: ProviderFlows
    summary: dict[str, FloatArray]
    """Per metric ``(R,)``; months are portfolio months."""
    cap_stop: FloatArray | None = None
    """``(R,)`` v3: the month every external payer's cap is exhausted (NaN: never)."""


@dataclass(frozen=True)
class PortfolioResults:
    """The contracts' flows and the portfolio's, ``(R, T_P)`` by portfolio month."""

    inputs: PortfolioInputs
    contracts: tuple[ContractFlows, ...]
    income: FloatArray
    paid_shared: FloatArray
    """``(R, S, T_P)`` paid by each shared payer, all contracts together."""
    capped: FloatArray
    self_funded: FloatArray
    block: FloatArray
    provider_outcome_payments: FloatArray
    advance: FloatArray
    advance_repaid: FloatArray
    spv: SpvFlows
    summary: dict[str, FloatArray]
    investor: dict[str, FloatArray]
    """The SPV's and investor's part of ``summary`` (spec section 10)."""
    grants: FloatArray | None = None
    """``(R, T_P)`` v3 grants owed to the SPV by payment month, all contracts."""


def shift(values: FloatArray, offset: IntArray, width: int) -> FloatArray:
    """``(R, T_c)`` in contract months to ``(R, width)`` in portfolio months (``values``
    itself when they are the same months: a contract on its own)."""
    rows, months = values.shape
    if months == width and not offset.any():
        return values
    out = np.zeros((rows, width))
    out[np.arange(rows)[:, None], offset[:, None] + np.arange(months)[None, :]] = values
    return out


def unshift(values: FloatArray, offset: IntArray, months: int) -> FloatArray:
    """``(R, T_P)`` in portfolio months to ``(R, months)`` in one contract's months."""
    rows = values.shape[0]
    picked: FloatArray = values[
        np.arange(rows)[:, None], offset[:, None] + np.arange(months)[None, :]
    ]
    return picked


Flows = tuple[FloatArray, list[FloatArray], FloatArray]
"""A contract's referrals ``(R, T_c)``, stage flows ``(R, B, T_c)``, over capacity."""


def run_portfolio(pin: PortfolioInputs, flows: Sequence[Flows]) -> PortfolioResults:
    """Spec section 12 for every row at once, given each contract's people.

    v3 ``contract.stop`` (a contract on its own): nothing before the first month without
    service F depends on the stop, so every row is computed once without it, each row's
    stop month S found, and the rows computed again with no service from F = S + notice
    + 1 (the months before F come out the same; spec section 1)."""
    stop = pin.contracts[0].stop if len(pin.contracts) == 1 else None
    if stop is None or not (stop.on_cap.any() or stop.on_insolvency.any()):
        return _run_once(pin, flows)
    (inp,) = pin.contracts
    done: PortfolioResults | None = None
    if stop.on_insolvency.any():  # the trigger reads the provider's reserves: a whole run
        done = _run_once(pin, flows)
        first = done.contracts[0]
        month, reason = stop_month(inp, first.cap_stop, first.summary["provider_insolvent_month"])
    else:  # the caps' trigger reads only the dues (issue 25: no whole first run)
        counted = outcome_dues(inp, flows[0][1])
        month = cap_trigger_month(inp, counted[1])
        reason = np.where(np.isnan(month), 0.0, STOP_CAP)
    never = inp.horizon + 1  # F past H: nothing stops
    end = np.where(np.isnan(month), never, np.nan_to_num(month) + stop.notice + 1)
    end = np.minimum(end, never).astype(np.int64)
    if (end <= inp.horizon).any():  # some row stops within its horizon: every row again
        # (its stop month is known: the rerun computes no trigger of its own)
        stopped = replace(inp, service_end=end, stop=None)
        pin = replace(pin, contracts=(stopped,), waterfall=_stopped_waterfall(pin, stopped))
        # the dues of outcomes before F are unchanged (recorded months after F are not:
        # what happened stays, so those rows count again)
        kept = None
        if done is None and not recorded_series(inp):
            kept = (
                [np.where(stopped.stopped()[:, None, :], 0.0, e) for e in counted[0]],
                counted[1].before(end),
            )
        done = _run_once(pin, [stop_flows(stopped, *flows[0])], kept)
    elif done is None:
        done = _run_once(pin, flows, counted)
    (own,) = done.contracts
    own.summary["service_stopped_month"] = month
    own.summary["service_stop_reason"] = reason
    return done


def _stopped_waterfall(pin: PortfolioInputs, stopped: Inputs) -> Waterfall:
    """The contract's waterfall with no management fee from F on (spec section 1)."""
    fee = np.where(stopped.stopped(), 0.0, pin.waterfall.management_fee)
    return replace(pin.waterfall, management_fee=fee)


def _run_once(
    pin: PortfolioInputs, flows: Sequence[Flows], counted: Counted | None = None
) -> PortfolioResults:
    """Spec sections 5-7 and 12 for every row, given each contract's people (``counted``:
    a contract on its own, its flows' dues when already known)."""
    width = pin.months
    invoiced = [
        invoices(inp, f[1], counted if len(pin.contracts) == 1 else None)
        for inp, f in zip(pin.contracts, flows, strict=True)
    ]
    paid = [own_caps(inp, inv) for inp, inv in zip(pin.contracts, invoiced, strict=True)]

    # Shared payers: one cap over the sum of the contracts' invoices by portfolio month;
    # each contract gets the month's payment in proportion to its invoices.
    paid_shared = np.zeros((pin.rows, len(pin.shared), width))
    for s, key in enumerate(pin.shared):
        members = [
            (c, inp.payer_names.index(key))
            for c, inp in enumerate(pin.contracts)
            if key in inp.payer_names
        ]
        total = np.zeros((pin.rows, width))
        for c, p in members:
            total += shift(invoiced[c].invoiced[:, p], pin.offsets[c], width)
        paid_total = cap_cumulative(total, pin.shared_cap[:, s])
        paid_shared[:, s] = paid_total
        share = np.zeros_like(total)
        np.divide(paid_total, total, out=share, where=total > 0)
        for c, p in members:
            months = invoiced[c].invoiced.shape[-1]
            paid[c][:, p] = unshift(share, pin.offsets[c], months) * invoiced[c].invoiced[:, p]
            uncapped = invoiced[c].uncapped
            if uncapped is not None:  # v3 grants outside the cap use none of its room
                paid[c][:, p] += uncapped[:, p]

    contracts = []
    parts: dict[str, list[FloatArray]] = {k: [] for k in _SUMMED}
    for c, (inp, inv, f) in enumerate(zip(pin.contracts, invoiced, flows, strict=True)):
        pay = settle_payments(inp, inv, paid[c])
        prov = provider(inp, pay.provider_outcome_payments)
        own = contract_summary(inp, f[0], f[1], f[2], pay, prov)
        cap_stop = cap_stop_month(inp, inv.cap_due) if inv.cap_due is not None else None
        offset = pin.offsets[c]
        if offset.any():
            for metric in MONTH_METRICS:
                own[metric] = own[metric] + offset
        for key, values in (
            ("income", pay.income),
            ("capped", pay.capped.sum(axis=1)),
            ("self_funded", pay.self_funded),
            ("block", prov.block),
            ("provider_outcome_payments", prov.outcome_payments),
            ("advance", prov.advance),
            ("advance_repaid", prov.advance_repaid),
        ):
            parts[key].append(shift(values, offset, width))
        contracts.append(
            ContractFlows(pin.names[c], inp, offset, f[0], f[1], f[2], pay, prov, own, cap_stop)
        )
    sums = {k: _added(v) for k, v in parts.items()}

    provider_pay = sums["block"] + sums["provider_outcome_payments"]
    paid_out = provider_pay + sums["advance"] - sums["advance_repaid"]
    cash = waterfall(pin.waterfall, sums["income"], paid_out, provider_pay)
    if cash.provider_arrears is not None:
        contracts = _with_arrears(contracts, cash.provider_arrears, flows)
    summary: dict[str, FloatArray] = {"income": sums["income"].sum(axis=1)}
    for s, key in enumerate(pin.shared):
        summary[f"paid_{key}"] = paid_shared[:, s].sum(axis=1)
    summary["capped"] = sums["capped"].sum(axis=1)
    summary["self_funded"] = sums["self_funded"].sum(axis=1)
    v3 = pin.uses_v3
    grants = None
    if v3:
        grants = _added([_grants_by_month(c, width) for c in contracts])
        summary["grants"] = grants.sum(axis=1)
    investor = investor_summary(cash, v3)
    summary.update(investor)
    insolvent = np.stack([~np.isnan(c.summary["provider_insolvent_month"]) for c in contracts])
    summary["providers_insolvent"] = insolvent.sum(axis=0).astype(np.float64)
    return PortfolioResults(
        inputs=pin,
        contracts=tuple(contracts),
        paid_shared=paid_shared,
        spv=cash,
        summary=summary,
        investor=investor,
        grants=grants,
        **sums,
    )


def _grants_by_month(c: ContractFlows, width: int) -> FloatArray:
    grants = c.payments.grants
    if grants is None:
        return np.zeros((c.inputs.rows, width))
    return shift(grants, c.offset, width)


PROVIDER_METRICS = ("provider_surplus", "provider_min_reserves", "provider_insolvent_month")
"""Each provider's metrics a portfolio's paths keep, as ``<contract>.<metric>``."""


def path_metrics(results: PortfolioResults) -> dict[str, FloatArray]:
    """Per row, what a stressed path keeps ``(R,)``: a contract on its own (a portfolio of
    one unnamed contract, :meth:`PortfolioInputs.of_contract`) its ``summary.csv``
    metrics; a portfolio its own, then each provider's :data:`PROVIDER_METRICS`."""
    if results.inputs.names == ("",):
        (own,) = results.contracts
        return own.summary | results.investor
    out = dict(results.summary)
    for contract in results.contracts:
        for metric in PROVIDER_METRICS:
            out[f"{contract.name}.{metric}"] = contract.summary[metric]
    return out


def _with_arrears(
    contracts: list[ContractFlows], arrears: FloatArray, flows: Sequence[Flows]
) -> list[ContractFlows]:
    """The contract's provider reserves as cash, after what the SPV held back (v3,
    ``pay_provider_when_able``; a contract on its own), and its summary of them."""
    if len(contracts) != 1:
        raise ValueError("pay_provider_when_able is for a contract on its own (spec 11)")
    (c,) = contracts
    (f,) = flows
    months = c.inputs.months
    prov = with_arrears(c.provider, arrears[:, :months])
    own = contract_summary(c.inputs, f[0], f[1], f[2], c.payments, prov)
    return [replace(c, provider=prov, summary=own)]


def _added(arrays: Sequence[FloatArray]) -> FloatArray:
    """The contracts' flows summed month by month (one contract's: its own array)."""
    if len(arrays) == 1:
        return arrays[0]
    total = arrays[0] + arrays[1]
    for more in arrays[2:]:
        total += more
    return total


_SUMMED = (
    "income",
    "capped",
    "self_funded",
    "block",
    "provider_outcome_payments",
    "advance",
    "advance_repaid",
)
