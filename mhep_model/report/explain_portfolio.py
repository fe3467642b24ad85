"""Plain English and a Mermaid diagram of who pays whom across a portfolio (spec 12)."""

from __future__ import annotations

from mhep_model.report.explain import explain, md, upper
from mhep_model.report.mermaid import mermaid_label
from mhep_model.report.tables import money
from mhep_model.scenario.portfolio import Portfolio
from mhep_model.scenario.portfolio_inputs import month_index


def explain_portfolio(pf: Portfolio) -> list[str]:
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


def mermaid_portfolio(pf: Portfolio) -> list[str]:
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


def shared_name(pf: Portfolio, key: str) -> str:
    """A shared payer's display name: the portfolio's, else a contract's, else the key."""
    shared = pf.spec.shared_payers[key]
    if shared.name:
        return shared.name
    for c in pf.contracts:
        payer = c.resolved.base.payers.get(key)
        if payer is not None and payer.name:
            return payer.name
    return key
