"""The v3 terms in plain English for ``explain`` (spec sections 1 and 4-7): opening
caseloads, evidence checks, grants, the service stop, the provider's cap by year achieved,
provider arrears, the performance fee and compound interest. Each function gives the lines
a section of the explanation adds (none when the scenario does not use the term)."""

from __future__ import annotations

from mhep_model.report.prose import md
from mhep_model.report.tables import money
from mhep_model.scenario import Scenario


def _months(a: int, b: int) -> str:
    return f"month {a}" if a == b else f"months {a}-{b}"


def people_terms(sc: Scenario) -> list[str]:
    """Opening caseloads: people already in a stage when the service starts."""
    lines = []
    for name, stage in sc.stages.items():
        if stage.opening is None:
            continue
        count = (
            ", ".join(f"{v:,} ({md(b)})" for b, v in stage.opening.items())
            if isinstance(stage.opening, dict)
            else f"{stage.opening:,}"
        )
        lines.append(
            f"- {md(name)} starts with {count} people carried over (a continuation service): "
            "they go on to the stages below from month 1, but are not paid for as "
            f"{md(name)} outcomes."
        )
    return lines


def payer_terms(sc: Scenario, cur: str) -> list[str]:
    """Evidence checks, grants and a stop once the payers' caps are reached."""
    lines = []
    for oname, outcome in sc.outcomes.items():
        ev = outcome.evidence
        if ev is None:
            continue
        lag = (
            f", the rest paid {ev.lag_months} month{'s' if ev.lag_months != 1 else ''} later "
            "than the settlement timing"
            if ev.lag_months
            else ", the rest paid on the settlement timing"
        )
        lines.append(
            f"- Evidence check on {md(oname)}: {ev.rejected * 100:.4g}% of each invoice is "
            f"rejected, never paid nor owed to the provider{lag}."
        )
    for grant in sc.grants:
        a, b = grant.months
        amount = (
            f"{money(grant.amount, cur)} a month"
            if not isinstance(grant.amount, list)
            else f"{money(sum(grant.amount), cur)} in all"
        )
        payers = ", ".join(
            f"{md(sc.payers[k].name or k)} {v * 100:.4g}%" for k, v in grant.paid_by.items()
        )
        what = (
            "in place of their outcome payments for those months (the provider is still owed "
            "its outcome payments)"
            if grant.replaces_outcomes
            else "beside the outcome payments"
        )
        cap = "counting against" if grant.counts_against_cap else "outside"
        name = f"{md(grant.name)}: " if grant.name else ""
        lines.append(
            f"- Grant, {name}{amount} for {_months(a, b)} from {payers}, {what}, paid on the "
            f"settlement timing, {cap} their caps."
        )
    return lines


def provider_terms(sc: Scenario, cur: str) -> list[str]:
    """The provider's cap by year achieved, pay held back, and when the service stops."""
    lines = []
    op = sc.provider.outcome_payments
    if op is not None and op.annual_cap is not None and op.annual_cap_basis == "achieved":
        lines.append(
            "  - The annual cap counts outcomes in the contract year they were achieved in, "
            "whenever they are paid."
        )
    if sc.spv.pay_provider_when_able:
        lines.append(
            "- When the SPV's cash (after drawing on the investor and paying its fee) cannot "
            "meet the block and outcome payments, the provider waits: what is not paid is "
            "owed to it (arrears) and paid first when cash comes in; its reserves see only "
            "what it was paid."
        )
    stop = sc.contract.stop
    if stop is not None and (stop.on_cap or stop.on_provider_insolvency):
        when = " or ".join(
            w
            for w, on in (
                ("every payer's cap is reached (or its window has ended)", stop.on_cap),
                ("the provider's reserves go below zero", stop.on_provider_insolvency),
            )
            if on
        )
        notice = (
            f"after {stop.notice_months} month{'s' if stop.notice_months != 1 else ''} of notice"
            if stop.notice_months
            else "the month after"
        )
        lines.append(
            f"- The service stops once {when}: {notice}, no more referrals, outcomes, block, "
            "costs or management fee; outcomes already achieved are still paid."
        )
    return lines


def investor_terms(sc: Scenario, cur: str) -> list[str]:
    """The intermediary's performance fee."""
    fee = sc.spv.performance_fee
    if fee is None:
        return []
    return [
        f"- At the end, {fee.share * 100:.4g}% of what the investor's equity distribution "
        f"brings above {fee.hurdle_multiple:g} times what it drew goes to the intermediary as "
        "a performance fee."
    ]


def interest_words(sc: Scenario) -> str:
    """How the loan's interest runs: simple, or compounded monthly (v3)."""
    if sc.investor.interest == "compound":
        return "compound interest: unpaid interest joins the loan each month"
    return "simple interest"
