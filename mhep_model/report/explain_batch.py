"""``explain`` on a batch file: each variant, in words, as a change to its base."""

from __future__ import annotations

from mhep_model.report.prose import described, md, phrase
from mhep_model.scenario.yamlio import Document


def explain_batch(doc: Document) -> list[str]:
    """A batch file's variants: what each changes on the base explained below it."""
    data = doc.data if isinstance(doc.data, dict) else {}
    variants = data.get("variants") or {}
    lines = [f"# {md(data.get('name') or doc.file)}", ""]
    lines.append(f"{len(variants)} variants of {md(data.get('base'))}, each the base below with:")
    for name, v in variants.items():
        v = v or {}
        parts = [md(described(k, x, "")) for k, x in (v.get("set") or {}).items()]
        for a in v.get("amendments") or []:
            where = f" in {md(a.get('contract'))}" if a.get("contract") else ""
            changes = ", ".join(md(described(k, x, "")) for k, x in (a.get("set") or {}).items())
            changes += "".join(
                f", {md(phrase(k)[0])} x {x}" for k, x in (a.get("scale") or {}).items()
            )
            parts.append(f"from month {a.get('month')}{where}: {changes.strip(', ')}")
        if v.get("base_amendments") == "drop":
            parts.append("without the base's own amendments")
        title = f" ({md(v['name'])})" if v.get("name") else ""
        lines.append(f"- **{md(name)}**{title}: {'; '.join(parts) or 'the base as it is'}.")
    return lines
