"""Plain-English account of a scenario's money flows (the Mermaid diagram: ``mermaid``).

The seed (002, section 3) reports that stakeholders found MHEP's payment structures too
complex to follow; this says who pays whom, for what, how much, when, under which caps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mhep_model.report.explain_terms import (
    interest_words,
    investor_terms,
    payer_terms,
    people_terms,
    provider_terms,
)
from mhep_model.report.frames import month_label
from mhep_model.report.prose import amount, described, md, phrase
from mhep_model.report.tables import money
from mhep_model.scenario import Resolved, Scenario
from mhep_model.scenario.model import bands_of
from mhep_model.scenario.model_inputs import month_index
from mhep_model.scenario.portfolio import Portfolio, shared_name


def upper(text: str) -> str:
    """A sentence's first letter as a capital (``the SPV`` starts a sentence)."""
    return text[:1].upper() + text[1:]


def _pct(x: float) -> str:
    return f"{x * 100:.4g}%"


def _month(sc: Scenario, m: int) -> str:
    return f"month {m} ({month_label(sc.contract.start, np.array([m - 1]))[0]})"


def _lag(lag: int | list[float]) -> str:
    if isinstance(lag, int):
        return "in the same month" if lag == 0 else f"{lag} month{'s' if lag != 1 else ''} later"
    parts = [
        f"{_pct(w)} after {j} month{'s' if j != 1 else ''}" for j, w in enumerate(lag) if w > 0
    ]
    return "spread over the following months: " + ", ".join(parts)


def _tariff(value: float | dict[str, float], currency: str) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{money(v, currency)} ({band})" for band, v in value.items())
    return money(value, currency)


def _get(data: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def explain(model: Resolved | Portfolio) -> list[str]:
    """Paragraphs (markdown-ish lines) explaining the base scenario and its amendments (a
    portfolio's shared payers, SPV and investor, then each contract in full)."""
    if isinstance(model, Portfolio):
        return _portfolio(model)
    resolved = model
    sc = resolved.base
    cur = sc.contract.currency
    c = sc.contract
    h = c.horizon
    spv_name = md(sc.spv.name or "the SPV")
    provider = md(sc.provider.name or "the provider")
    investor = md(sc.investor.name or "the investor")
    cur_shown = md(cur)
    lines = [
        f"# {md(sc.name)}",
        "",
        f"A {c.term_months}-month contract from {_month(sc, 1)}: people are referred and the "
        f"provider is paid its block in months 1-{c.term_months}; outcomes achieved up to "
        f"{_month(sc, h)} can still be paid. Money is in {cur_shown}.",
        "",
        "## The people",
    ]
    lines += _people(sc)
    lines += _payers(sc, cur, spv_name)
    lines += _provider(resolved, cur, spv_name, provider)
    lines += _investor(sc, cur, spv_name, investor)
    lines += _amendments(resolved, cur)
    lines += _cases(sc, cur)
    return lines


def _people(sc: Scenario) -> list[str]:
    """Referrals and the stages people move through."""
    lines: list[str] = []
    r = sc.referrals
    if r.workers is not None:
        volume = (
            f"{r.workers:,.6g} workers each referring {r.per_worker_per_year:,.6g} people a year "
            f"({(r.workers or 0) * (r.per_worker_per_year or 0) / 12:,.4g} a month)"
        )
    elif isinstance(r.monthly, list):
        volume = f"a planned number each month ({sum(r.monthly):,.6g} in all)"
    else:
        volume = f"{r.monthly:,.6g} people a month"
    ramp = f", building up over the first {r.ramp_up_months} months" if r.ramp_up_months else ""
    scale = f", times {r.scale:g}" if r.scale != 1 else ""
    lines.append(f"- Referrals: {volume}{ramp}{scale}.")
    bands = bands_of(sc)
    for name, stage in sc.stages.items():
        parent = "referrals" if stage.from_ == "referral" else f"those reaching {stage.from_}"
        rate = (
            ", ".join(f"{_pct(v)} ({b})" for b, v in stage.rate.items())
            if isinstance(stage.rate, dict)
            else _pct(stage.rate)
        )
        text = f"- {md(name)}: {rate} of {md(parent)}, {_lag(stage.lag)}"
        if stage.split is not None:
            text += "; divided into " + ", ".join(
                f"{md(b)} {_pct(s)}" for b, s in stage.split.items()
            )
        elif bands[name]:
            text += f" (in bands {md(', '.join(bands[name]))})"
        text += "; can also happen after the term." if stage.after_term else "; only in the term."
        if stage.capacity_per_fte is not None:
            staff = sc.provider.costs.staff_fte
            text += (
                f" Staff capacity: at most {stage.capacity_per_fte:g} a month per FTE "
                f"({staff:g} FTE: {stage.capacity_per_fte * staff:,.4g} a month) in the term; "
                "the rest are over capacity and go no further."
            )
        lines.append(text)
    lines += people_terms(sc)
    return lines


def _payers(sc: Scenario, cur: str, spv_name: str) -> list[str]:
    """Who pays for which outcome, when, capped how, settled when."""
    h = sc.contract.horizon
    lines: list[str] = []
    lines += ["", f"## Who pays {spv_name} for outcomes"]
    for oname, outcome in sc.outcomes.items():
        lines.append(
            f"- **{md(oname)}** (reaching {md(outcome.stage)}): "
            f"{md(_tariff(outcome.tariff, cur))} a person."
        )
        total_active = 0.0
        for pname, share in outcome.paid_by.items():
            payer = sc.payers[pname]
            label = md(payer.name or pname)
            window = payer.window or [1, h]
            when = (
                "in every month"
                if window[0] <= 1 and window[1] >= h
                else f"for outcomes achieved in months {window[0]}-{min(window[1], h)}"
            )
            factor = (
                f" at {_pct(payer.tariff_factor)} of the tariff" if payer.tariff_factor != 1 else ""
            )
            if payer.self_:
                lines.append(f"  - {label} funds {_pct(share)} itself {when}{factor} (not income).")
            else:
                lines.append(f"  - {label} pays {_pct(share)} {when}{factor}.")
            total_active += share
        if outcome.max_count is not None:
            lines.append(f"  - Only the first {outcome.max_count:,.6g} are paid for.")
    lines.append("- Caps on what each payer pays in all:")
    for pname, payer in sc.payers.items():
        if payer.self_:
            continue
        cap = money(payer.cap, cur) if payer.cap is not None else "no cap"
        lines.append(f"  - {md(payer.name or pname)}: {md(cap)}.")
    st = sc.settlement
    when = "each month" if st.frequency == "monthly" else "at the end of each quarter"
    lag = (
        "at once"
        if st.lag_months == 0
        else f"{st.lag_months} month{'s' if st.lag_months != 1 else ''} later"
    )
    lines.append(
        f"- Outcomes are invoiced {when} and paid {lag}; whatever would be paid after "
        f"{_month(sc, h)} is never paid. Months where no payer is active for an outcome are "
        "unfunded: the SPV still pays the provider for them."
    )
    lines += payer_terms(sc, cur)
    return lines


def _provider(resolved: Resolved, cur: str, spv_name: str, provider: str) -> list[str]:
    """The provider's block, outcome pay, advance and costs."""
    sc = resolved.base
    c = sc.contract
    lines: list[str] = []
    lines += ["", f"## What {provider} receives and spends"]
    lines.append(f"- {_block_schedule(resolved, cur)}, paid by {spv_name} whatever the outcomes.")
    op = sc.provider.outcome_payments
    if op is None:
        lines.append("- No outcome-linked payments: block only.")
    else:
        if op.tariffs is not None:
            parts = [f"{md(o)}: {md(_tariff(t, cur))}" for o, t in op.tariffs.items()]
            lines.append(
                f"- For outcomes, when {spv_name} is paid for them: {'; '.join(parts)} a person."
            )
        else:
            lines.append(
                f"- For outcomes, when {spv_name} is paid for them: "
                f"{_pct(op.share_of_tariff or 0)} of each tariff (before payer shares and caps)."
            )
        if op.back_to_back:
            lines.append(
                "  - Back to back: the provider's outcome payments are cut when payers' caps "
                f"hold invoices back (each month, by the share of {spv_name}'s invoices that "
                "the payers paid)."
            )
        if op.annual_cap is not None:
            last_year = -(-c.term_months // 12)
            lines.append(
                f"  - At most {money(op.annual_cap, cur)} in a contract year of payment; "
                f"payments after the term count in year {last_year}."
            )
    lines += provider_terms(sc, cur)
    adv = sc.provider.advance
    if adv is not None and adv.amount > 0:
        each = adv.amount / adv.repay_months
        last = adv.repay_from + adv.repay_months - 1
        lines.append(
            f"- {upper(spv_name)} lends {provider} {money(adv.amount, cur)} of working capital in "
            f"{_month(sc, adv.month)}, repaid {money(each, cur)} a month from "
            f"{_month(sc, adv.repay_from)} to {_month(sc, last)} (whatever its reserves)."
        )
    costs = sc.provider.costs
    lines.append(
        f"- Costs: {costs.staff_fte:g} staff at {money(costs.cost_per_fte, cur)} a year"
        + (f", {money(costs.fixed_annual, cur)} a year fixed" if costs.fixed_annual else "")
        + (
            f", {money(costs.mobilisation, cur)} to mobilise in month 1"
            if costs.mobilisation
            else ""
        )
        + f"; it starts with {money(sc.provider.opening_reserves, cur)} of reserves."
    )

    return lines


def _investor(sc: Scenario, cur: str, spv_name: str, investor: str) -> list[str]:
    """The SPV's waterfall and the investor's money."""
    h = sc.contract.horizon
    lines: list[str] = []
    inv = sc.investor
    lines += ["", f"## {upper(spv_name)} and {investor}"]
    lines.append(
        f"- {upper(spv_name)} pays the block, the provider's outcome payments and a "
        f"management fee of {money(sc.spv.management_fee_annual, cur)} a year from outcome "
        f"income; when its cash falls below {money(sc.spv.min_cash, cur)} it draws on "
        f"{investor}'s commitment of {money(inv.commitment, cur)}."
    )
    if inv.upfront > 0:
        lines.append(
            f"- {investor} puts in {money(min(inv.upfront, inv.commitment), cur)} upfront in "
            f"{_month(sc, 1)}, whatever {spv_name}'s cash."
        )
    lines.append(
        f"- Each drawdown is {_pct(inv.equity_share)} equity and {_pct(1 - inv.equity_share)} "
        f"loan at {_pct(inv.loan_rate)} a year ({interest_words(sc)})."
    )
    lines += investor_terms(sc, cur)
    if inv.repayment == "sweep":
        lines.append(
            f"- From month {inv.sweep_from_month}, cash above the buffer pays interest, then "
            f"principal; in {_month(sc, h)} what is left goes to interest, principal, then equity."
        )
    else:
        lines.append(
            f"- In {_month(sc, h)} what is left pays interest, then principal; the rest goes to "
            f"{investor} as equity. What cannot be repaid is the loan loss."
        )

    return lines


def _amendments(resolved: Resolved, cur: str) -> list[str]:
    """Each amendment's changes, old value to new."""
    sc = resolved.base
    lines: list[str] = []
    payers = {k: p.name or k for k, p in sc.payers.items()}
    lines += ["", "## Changes of terms (amendments, in every case)"]
    if not sc.amendments:
        lines.append("- None.")
    first_case = resolved.cases[0].scenario if resolved.cases else sc
    before = first_case.model_dump(by_alias=True)
    for amendment in sorted(sc.amendments, key=lambda a: a.month):
        lines.append(f"- From {_month(sc, amendment.month)}: {md(amendment.note or 'amendment')}")
        for path, value in amendment.set_.items():
            text, kind = phrase(path, payers)
            old = _get(before, path)
            new = md(amount(value, kind, cur))
            if old is not None:
                lines.append(f"  - {md(text)}: {md(amount(old, kind, cur))} → {new}")
            else:
                lines.append(f"  - {md(text)}: now {new}")
        for path, by in amendment.scale.items():
            text = phrase(path, payers)[0]
            lines.append(
                f"  - {md(text)} is multiplied by {by:g} in each case (its own value then in force)"
            )

    return lines


def _cases(sc: Scenario, cur: str) -> list[str]:
    """What each case changes."""
    lines: list[str] = []
    payers = {k: p.name or k for k, p in sc.payers.items()}
    lines += ["", "## Cases"]
    for name, overrides in (sc.cases or {"base": {}}).items():
        what = ", ".join(described(k, v, cur, payers) for k, v in overrides.items()) or "as above"
        lines.append(f"- {md(name)}: {md(what)}")
    return lines


def _block_schedule(resolved: Resolved, cur: str) -> str:
    """The block as amendments shape it (the first case's versions): "A block of £160,000
    a year (...) in months 1-6, then none from month 7"."""
    sc = resolved.base
    n = sc.contract.term_months
    versions = resolved.cases[0].versions if resolved.cases else ()
    steps: list[tuple[int, float]] = []
    for v in versions:
        if v.month > n:
            break
        annual = v.scenario.provider.block.annual
        if not steps or steps[-1][1] != annual:
            steps.append((v.month, annual))
    if not steps:
        steps = [(1, sc.provider.block.annual)]
    parts = []
    for i, (month, annual) in enumerate(steps):
        last = steps[i + 1][0] - 1 if i + 1 < len(steps) else n
        months = f"month {month}" if month == last else f"months {month}-{last}"
        amount = (
            "none"
            if annual == 0
            else f"{money(annual, cur)} a year ({money(annual / 12, cur)} a month)"
        )
        parts.append(f"{amount} in {months}")
    return "A block of " + ", then ".join(parts)


def _portfolio(pf: Portfolio) -> list[str]:
    """The portfolio's shared payers, SPV and investor, then each contract in full."""
    spec = pf.spec
    cur = pf.contracts[0].resolved.base.contract.currency
    spv = md(spec.spv.name or "the SPV")
    investor = md(spec.investor.name or "the investor")
    first = min((c.resolved.base.contract.start for c in pf.contracts), key=month_index)
    lines = [
        f"# {md(pf.name)}",
        "",
        f"One SPV and one investor over {len(pf.contracts)} contracts:",
    ]
    for c in pf.contracts:
        base = c.resolved.base
        offset = month_index(base.contract.start) - month_index(first)
        lines.append(
            f"- **{md(c.name)}** ({md(base.name)}): from {base.contract.start} (portfolio month "
            f"{offset + 1}), {base.contract.term_months} months of service; provider "
            f"{md(base.provider.name or 'unnamed')}."
        )
    lines += ["", "## Payers shared across contracts"]
    if not spec.shared_payers:
        lines.append("- None: each contract's payers and caps are its own.")
    for key, shared in spec.shared_payers.items():
        users = [c.name for c in pf.contracts if key in c.resolved.base.payers]
        cap = f"one cap of {money(shared.cap, cur)}" if shared.cap is not None else "no cap"
        lines.append(
            f"- {md(shared_name(pf, key))}: {md(cap)} over {md(', '.join(users))}; the "
            "contracts' own caps for it are not used, and each month's payment is shared in "
            "proportion to their invoices."
        )
    inv = spec.investor
    lines += ["", f"## {upper(spv)} and {investor}"]
    lines.append(
        f"- The SPV receives every contract's outcome income and pays every provider's block "
        f"and outcome payments, and a management fee of "
        f"{money(spec.spv.management_fee_annual, cur)} a year while any contract is in its term."
    )
    lines.append(
        f"- When its cash falls below {money(spec.spv.min_cash, cur)} it draws on {investor}'s "
        f"commitment of {money(inv.commitment, cur)} ({inv.equity_share * 100:.4g}% equity, "
        f"the rest a loan at {inv.loan_rate * 100:.4g}% a year); at the end, what is left pays "
        "interest, principal, then equity."
    )
    lines.append(
        "- Each contract's own `spv` and `investor` sections are not used in the portfolio."
    )
    for c in pf.contracts:
        lines += ["", "---", ""]
        lines += [("#" + line) if line.startswith("#") else line for line in explain(c.resolved)]
    return lines
