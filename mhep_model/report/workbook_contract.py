"""A contract's Calc sheet as a live model (spec sections 5 and 6): eligible counts are
imports from the engine's funnel; tariffs, payer shares, windows and tariff factors, the
evidence check, settlement timing, payer caps, the provider's tariffs and annual cap,
block, costs and the advance are formulas over the Inputs and Amendments sheets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mhep_model.engine.inputs import Inputs
from mhep_model.engine.payments import Payments
from mhep_model.engine.provider import ProviderFlows
from mhep_model.report.workbook_formulas import Formula, Sheet, prev, sum_by
from mhep_model.report.workbook_terms import Terms


@dataclass
class Placed:
    """A Calc sheet's name and, once laid out, its column letters (formulas on other
    sheets read them when they are written)."""

    name: str
    letters: dict[str, str]

    def at(self, key: str, row: int) -> str:
        return f"'{self.name}'!${self.letters[key]}${row}"


@dataclass(frozen=True)
class Contract:
    """What a contract's Calc sheet for case row ``i`` is made from."""

    inp: Inputs
    i: int
    payments: Payments
    provider: ProviderFlows
    terms: Terms
    payer_label: dict[int, str]
    stopped: np.ndarray | None = None
    """``(h,)`` 1 from the month the service stopped (v3), else None."""
    shared: dict[int, Callable[[str], Formula]] = field(default_factory=dict)
    """Payers whose cap is shared in a portfolio: the formula of what this contract is
    paid, given the key of its invoices column (the SPV sheet applies the cap)."""

    @property
    def h(self) -> int:
        return int(self.inp.horizon[self.i])

    def e(self, a: np.ndarray) -> np.ndarray:
        """The engine's ``(R, T)`` array as this row's ``(h,)`` months."""
        return np.asarray(a[self.i, : self.h], dtype=float)


def settlement(sh: Sheet, c: Contract) -> None:
    """The month each month's outcomes are paid in, and the contract year of payment."""
    t = c.terms
    n = t.ref("contract.term_months", float(c.inp.term[c.i]))
    freq, lag = t.ref("settlement.frequency", 0), t.ref("settlement.lag_months", 0)
    engine = c.e(c.inp.pay_month)
    lag_value = t.cell("settlement.lag_months", 0)
    quarterly = bool(np.any(engine - (lag_value.value if lag_value else 0) != sh.m))
    mine = np.where(quarterly, 3 * np.ceil(sh.m / 3), sh.m) + (lag_value.value if lag_value else 0)
    formula = f'IF({freq}="quarterly",3*ROUNDUP({{MONTH}}/3,0),{{MONTH}})+{lag}'
    same = np.array_equal(mine, engine)
    sh.add("settle", "Paid in month", "month", engine, formula if same else None, False)
    year = np.minimum((sh.m - 1) // 12 + 1, np.ceil(c.inp.term[c.i] / 12))
    sh.add(
        "year",
        "Contract year of payment",
        "month",
        year,
        f"MIN(INT(({{MONTH}}-1)/12)+1,ROUNDUP({n}/12,0))",
        False,
    )
    if c.stopped is not None:
        sh.add("stopped", "Service stopped (1, import)", "int", c.stopped, None, False)


def outcome_dues(sh: Sheet, c: Contract, external: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Per outcome: eligible counts (imports), tariffs, the value at full tariff, the
    provider's due and each external payer's accepted due, by achievement month; returns
    per payer the (payment-month column, due column) pairs that make its invoices."""
    inp, t = c.inp, c.terms
    dues: dict[int, list[tuple[str, str]]] = {p: [] for p in external}
    payers = {p: _payer_terms(sh, c, p) for p in external}
    sot = _share_of_tariff(sh, c)
    for o, out in enumerate(inp.outcomes):
        value, owed_terms, owed = _outcome_value(sh, c, o, sot is None)
        rej = t.ref(f"outcomes.{out.name}.evidence.rejected", 0.0)
        x = float(out.rejected[c.i]) if out.rejected is not None else 0.0
        pay_key = "settle"
        lag = t.cell(f"outcomes.{out.name}.evidence.lag_months")
        if lag is not None:
            pay_key = f"pay_{o}"
            header = f"Paid in month: {out.name}"
            sh.add(
                pay_key, header, "month", sh.v["settle"] + lag.value, f"{{settle}}+{lag.ref}", False
            )
        if sot is not None:
            owed, owed_terms = sot[1] * value, [f"{sot[0]}*{{value_{o}}}"]
        template = f"({'+'.join(owed_terms)})*(1-{rej})"
        sh.add(
            f"powed_{o}", f"Owed to provider: {out.name}", "money", owed * (1 - x), template, False
        )
        for p in external:
            key = inp.payer_names[p]
            share_term = t.term(f"outcomes.{out.name}.paid_by.{key}")
            engine_share = c.e(out.shares[:, p])
            if share_term is None and not engine_share.any():
                continue
            header = f"Share: {out.name} by {c.payer_label[p]}"
            share_term = share_term or t.term(f"outcomes.{out.name}.paid_by.{key}", 0.0)
            sref, share = sh.term(f"share_{o}_{p}", header, "percent", share_term, engine_share)
            terms, values = payers[p]
            due = value * share * values * (1 - x)
            template = f"{{value_{o}}}*{sref}*{terms}*(1-{rej})"
            header = f"Due: {out.name} from {c.payer_label[p]}"
            sh.add(f"due_{o}_{p}", header, "money", due, template, False)
            dues[p].append((pay_key, f"due_{o}_{p}"))
    return dues


def _payer_terms(sh: Sheet, c: Contract, p: int) -> tuple[str, np.ndarray]:
    """What multiplies every due of payer ``p`` in a month: its window, tariff factor and
    (v3) a grant replacing its dues; the template and ``(h,)`` values."""
    key, label, grants = c.inp.payer_names[p], c.payer_label[p], c.inp.grants
    aref, active = _active(sh, c, p)
    factor_term = c.terms.term(f"payers.{key}.tariff_factor", 1.0)
    engine = c.e(c.inp.payer_factor[:, p])
    fref, factor = sh.term(f"factor_{p}", f"Tariff factor: {label}", "rate", factor_term, engine)
    template, values = f"{aref}*{fref}", active * factor
    if grants is not None and c.e(grants.replaces[:, p]).any():
        replaced = c.e(grants.replaces[:, p])
        header = f"Replaced by a grant: {label} (1, import)"
        sh.add(f"repl_{p}", header, "int", replaced, None, False)
        template, values = f"{template}*(1-{{repl_{p}}})", values * (1 - replaced)
    return template, values


def _share_of_tariff(sh: Sheet, c: Contract) -> tuple[str, np.ndarray] | None:
    """The provider's ``share_of_tariff`` in force, when it gives the engine's provider
    tariffs; None when they are given per outcome (or imported band by band)."""
    t = c.terms
    if t.has("provider.outcome_payments.tariffs"):
        return None
    term = t.term("provider.outcome_payments.share_of_tariff", 1.0)
    assert term is not None
    mine = term.values(sh.m)
    if not all(
        np.allclose(mine * c.e(out.tariff[:, b]), c.e(out.provider_tariff[:, b]))
        for out in c.inp.outcomes
        for b in range(out.tariff.shape[1])
    ):
        return None
    return sh.term("sot", "Provider share of tariff", "rate", term, mine)


def _outcome_value(
    sh: Sheet, c: Contract, o: int, per_band: bool
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Outcome ``o``'s eligible counts (imports), tariffs in force and its value at full
    tariff; with ``per_band``, the provider's tariffs too: (value, owed terms, owed)."""
    out, t = c.inp.outcomes[o], c.terms
    bands = c.inp.stages[out.stage].bands or ("",)
    value_terms, owed_terms, value, owed = [], [], np.zeros(c.h), np.zeros(c.h)
    for b, band in enumerate(bands):
        suffix = f".{band}" if band else ""
        header = f"Eligible: {out.name} {band}".strip() + " (import)"
        elig = sh.add(f"elig_{o}_{b}", header, "people", c.e(c.payments.eligible[o][:, b]))
        tariff_term = t.term(f"outcomes.{out.name}.tariff{suffix}")
        header = f"Tariff: {out.name}{suffix}"
        ref, tariff = sh.term(
            f"tariff_{o}_{b}", header, "money", tariff_term, c.e(out.tariff[:, b])
        )
        value_terms.append(f"{{elig_{o}_{b}}}*{ref}")
        value = value + elig * tariff
        if per_band:
            term = t.term(f"provider.outcome_payments.tariffs.{out.name}{suffix}", 0.0)
            header = f"Provider tariff: {out.name}{suffix}"
            engine = c.e(out.provider_tariff[:, b])
            pref, pt = sh.term(f"ptariff_{o}_{b}", header, "money", term, engine)
            owed_terms.append(f"{{elig_{o}_{b}}}*{pref}")
            owed = owed + elig * pt
    header = f"Value at full tariff: {out.name}"
    sh.add(f"value_{o}", header, "money", value, "+".join(value_terms), False)
    return value, owed_terms, owed


def _active(sh: Sheet, c: Contract, p: int) -> tuple[str, np.ndarray]:
    """Whether payer ``p`` pays for outcomes achieved in each month (its window)."""
    key = c.inp.payer_names[p]
    first, last = c.terms.cell(f"payers.{key}.window.from"), c.terms.cell(f"payers.{key}.window.to")
    engine = c.e(c.inp.payer_active[:, p])
    if first is None or last is None:
        if engine.all():
            return "1", engine
        ref, _ = sh.term(f"active_{p}", f"Pays: {c.payer_label[p]}", "int", None, engine)
        return ref, engine
    mine = ((sh.m >= first.value) & (sh.m <= last.value)).astype(float)
    formula = f"({{MONTH}}>={first.ref})*({{MONTH}}<={last.ref})"
    if not np.array_equal(mine, engine):
        ref, _ = sh.term(f"active_{p}", f"Pays: {c.payer_label[p]}", "int", None, engine)
        return ref, engine
    return formula, mine


def payer_payments(
    sh: Sheet, c: Contract, external: list[int], dues: dict[int, list[tuple[str, str]]]
) -> list[str]:
    """Each external payer's invoices by payment month (with grants), its cap and what it
    paid; the keys of the paid columns."""
    inp, t, grants = c.inp, c.terms, c.inp.grants
    paid_keys = []
    for p in external:
        key, label = inp.payer_names[p], c.payer_label[p]
        parts = [f"SUMIF({{{pk}:}},{{MONTH}},{{{dk}:}})" for pk, dk in dues[p]]
        invoiced = sum((sum_by(sh.v[pk], sh.v[dk], c.h) for pk, dk in dues[p]), np.zeros(c.h))
        outside = np.zeros(c.h)
        if grants is not None:
            for name, arr in (("gcap", grants.in_cap), ("gout", grants.outside_cap)):
                owed = c.e(arr[:, p])
                if owed.any():
                    sh.add(
                        f"{name}_{p}",
                        f"Grant owed by {label}"
                        + (" outside its cap" if name == "gout" else "")
                        + " (import)",
                        "money",
                        owed,
                        None,
                    )
                    paid = sum_by(sh.v["settle"], owed, c.h)
                    if name == "gcap":
                        parts.append(f"SUMIF({{settle:}},{{MONTH}},{{{name}_{p}:}})")
                        invoiced = invoiced + paid
                    else:
                        sh.add(
                            f"out_{p}",
                            f"Grant paid outside the cap: {label}",
                            "money",
                            paid,
                            f"SUMIF({{settle:}},{{MONTH}},{{gout_{p}:}})",
                        )
                        outside = paid
        sh.add(f"inv_{p}", f"Invoiced to {label}", "money", invoiced, "+".join(parts) or "0")
        extra = f"+{{out_{p}}}" if f"out_{p}" in sh.v else ""
        if p in c.shared:
            sh.add(
                f"paid_{p}",
                f"Paid by {label}",
                "money",
                c.e(c.payments.paid[:, p]),
                c.shared[p](f"inv_{p}"),
            )
        else:
            cap_term = t.term(f"payers.{key}.cap")
            engine_cap = c.e(inp.payer_cap[:, p])
            if cap_term is None and np.isinf(engine_cap).all():
                sh.add(
                    f"paid_{p}",
                    f"Paid by {label}",
                    "money",
                    invoiced + outside,
                    f"{{inv_{p}}}{extra}",
                )
            else:
                cref, cap = sh.term(f"cap_{p}", f"Cap: {label}", "money", cap_term, engine_cap)
                cum = np.maximum.accumulate(np.minimum(np.cumsum(invoiced), cap))
                sh.add(
                    f"pcum_{p}",
                    f"Paid to date within cap: {label}",
                    "money",
                    cum,
                    f"MAX({{pcum_{p}@-1}},MIN(SUM({{inv_{p}:}}),{cref}))",
                    False,
                )
                sh.add(
                    f"paid_{p}",
                    f"Paid by {label}",
                    "money",
                    cum - prev(cum) + outside,
                    f"{{pcum_{p}}}-{{pcum_{p}@-1}}{extra}",
                )
        paid_keys.append(f"paid_{p}")
    return paid_keys
