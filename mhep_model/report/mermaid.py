"""The payment flows of a scenario or a portfolio as a Mermaid flowchart (``flows.md``)."""

from __future__ import annotations

import textwrap

from mhep_model.report.prose import amendments_by_month, md
from mhep_model.report.tables import money
from mhep_model.scenario import Resolved, Scenario
from mhep_model.scenario.portfolio import Portfolio, shared_name


def mermaid_label(text: object) -> str:
    """Text inside a Mermaid label: one line, entity codes for the characters that could
    close the label or add HTML or syntax (names are data)."""
    one_line = " ".join(str(text).split())
    for char, code in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        one_line = one_line.replace(char, code)
    return one_line.replace("`", "'")


WIDTH = 36
"""Characters per line of a label: Mermaid draws labels on one line unless told, and long
ones overlap their neighbours' edges."""


def wrapped(text: object, width: int = WIDTH) -> str:
    """A label wrapped to ``width`` characters a line (``<br/>`` between), each line
    escaped as :func:`mermaid_label` does."""
    lines = textwrap.wrap(" ".join(str(text).split()), width) or [""]
    return "<br/>".join(mermaid_label(line) for line in lines)


def mermaid(model: Resolved | Portfolio) -> list[str]:
    """The payment flows as a Mermaid flowchart (markdown, for ``flows.md``)."""
    if isinstance(model, Portfolio):
        return _portfolio(model)
    resolved = model
    sc = resolved.base
    cur = sc.contract.currency

    node = mermaid_label

    spv = node(sc.spv.name or "SPV")
    lines = [f"# Payment flows: {md(sc.name)}", "", "```mermaid", "flowchart LR"]
    lines.append(f'  SPV["{spv}"]')
    lines.append(f'  PROV["{node(sc.provider.name or "Provider")}"]')
    lines.append(f'  INV["{node(sc.investor.name or "Investor")}"]')
    for pname, payer in sc.payers.items():
        if payer.self_:
            continue
        cap = f"cap {money(payer.cap, cur)}" if payer.cap is not None else "no cap"
        paid_for = [
            f"{o} {s:.0%}"
            for o, out in sc.outcomes.items()
            for p, s in out.paid_by.items()
            if p == pname
        ]
        # what it pays for sits in the payer's box: labels on edges that meet at the SPV
        # would overlap one another
        pays = wrapped("pays for " + ", ".join(paid_for))
        lines.append(f'  P_{pname}["{wrapped(payer.name or pname)}<br/>{cap}<br/>{pays}"]')
        lines.append(f"  P_{pname} --> SPV")
    self_payers = [p for p, payer in sc.payers.items() if payer.self_]
    if self_payers:
        shares = [
            f"{o} {s:.0%}"
            for o, out in sc.outcomes.items()
            for p, s in out.paid_by.items()
            if p in self_payers
        ]
        own = wrapped(f"{sc.spv.name or 'SPV'} funds itself: " + ", ".join(shares))
        lines.append(f'  OWN["{own}"]')
        lines.append("  OWN -.-> SPV")
    inv = sc.investor
    lines.append(
        f'  INV -- "drawdowns up to {money(inv.commitment, cur)}<br/>'
        f'{inv.equity_share:.0%} equity, loan at {inv.loan_rate:.0%}" --> SPV'
    )
    lines.append('  SPV -- "interest, principal, equity at the end" --> INV')
    op = sc.provider.outcome_payments
    outcome_text = (
        "no outcome payments"
        if op is None
        else (
            f"{op.share_of_tariff:.0%} of tariffs"
            if op.share_of_tariff is not None
            else "set tariffs"
        )
    )
    block = money(sc.provider.block.annual, cur)
    waits = "<br/>held back when cash is short" if sc.spv.pay_provider_when_able else ""
    lines.append(f'  SPV -- "block {block} a year<br/>{outcome_text}{waits}" --> PROV')
    lines += _v3_flows(sc, cur)
    for k, (month, date, note, changes) in enumerate(amendments_by_month(resolved)):
        text = f"{wrapped(f'From month {month} ({date}): {note}', 48)}<br/>{wrapped(changes, 48)}"
        lines.append(f'  A{k}["{text}"]')
        lines.append(f"  A{k} -.-> SPV")
    lines += ["```", ""]
    return lines


def _v3_flows(sc: Scenario, cur: str) -> list[str]:
    """v3 flows: grants from payers, the intermediary's fee, the stop."""
    lines = []
    for g, grant in enumerate(sc.grants):
        a, b = grant.months
        amount = (
            f"{money(grant.amount, cur)} a month"
            if not isinstance(grant.amount, list)
            else f"{money(sum(grant.amount), cur)} in all"
        )
        for key in grant.paid_by:
            how = "in place of outcome pay" if grant.replaces_outcomes else "beside outcome pay"
            label = wrapped(f"grant {grant.name or g + 1}: {amount}, months {a}-{b}, {how}")
            lines.append(f'  P_{key} -. "{label}" .-> SPV')
    fee = sc.spv.performance_fee
    if fee is not None:
        lines.append('  FEE["Intermediary"]')
        lines.append(
            f'  SPV -- "performance fee: {fee.share:.0%} above '
            f'{fee.hurdle_multiple:g}x drawn" --> FEE'
        )
    stop = sc.contract.stop
    if stop is not None and (stop.on_cap or stop.on_provider_insolvency):
        on = [
            w
            for w, f in (
                ("caps reached", stop.on_cap),
                ("provider insolvent", stop.on_provider_insolvency),
            )
            if f
        ]
        label = wrapped(f"service stops: {' or '.join(on)}, {stop.notice_months} months' notice")
        lines.append(f'  STOP["{label}"]')
        lines.append("  STOP -.-> PROV")
    return lines


def _portfolio(pf: Portfolio) -> list[str]:
    """The portfolio's payment flows as a Mermaid flowchart (``flows.md``)."""
    spec = pf.spec
    cur = pf.contracts[0].resolved.base.contract.currency
    lines = [f"# Payment flows: {md(pf.name)}", "", "```mermaid", "flowchart LR"]
    lines.append(f'  SPV["{mermaid_label(spec.spv.name or "SPV")}"]')
    lines.append(f'  INV["{mermaid_label(spec.investor.name or "Investor")}"]')
    lines.append(f'  INV -- "drawdowns up to {money(spec.investor.commitment, cur)}" --> SPV')
    lines.append('  SPV -- "interest, principal, equity at the end" --> INV')
    for key, shared in spec.shared_payers.items():
        cap = f"one cap {money(shared.cap, cur)}" if shared.cap is not None else "no cap"
        lines.append(f'  S_{key}["{mermaid_label(shared_name(pf, key))}<br/>{cap}"]')
        lines.append(f'  S_{key} -- "shared by its contracts" --> SPV')
    for i, c in enumerate(pf.contracts):
        base = c.resolved.base
        provider = mermaid_label(base.provider.name or f"{c.name} provider")
        lines.append(f'  P{i}["{provider}<br/>({mermaid_label(c.name)})"]')
        block = money(base.provider.block.annual, cur)
        lines.append(f'  SPV -- "block {block} a year and outcome pay" --> P{i}')
        for key, payer in base.payers.items():
            if payer.self_ or key in spec.shared_payers:
                continue
            label = mermaid_label(f"{payer.name or key} ({c.name})")
            lines.append(f'  C{i}_{key}["{label}"]')
            lines.append(f"  C{i}_{key} --> SPV")
    lines += ["```", ""]
    return lines
