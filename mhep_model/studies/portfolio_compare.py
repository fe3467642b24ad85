"""Comparing portfolios side by side: portfolio files, or the variants of a batch file
whose base is a portfolio (spec section 12). Every one needs the same contracts and cases;
all run as rows of one batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mhep_model import __version__
from mhep_model.errors import UsageError
from mhep_model.scenario.batch import is_batch, load_batch
from mhep_model.scenario.limits import MAX_VARIANTS
from mhep_model.scenario.portfolio import Portfolio, is_portfolio, load_portfolio
from mhep_model.scenario.yamlio import Source, load_yaml
from mhep_model.studies.compare import label_of, safe_label, structure, unique_labels
from mhep_model.studies.portfolio import PortfolioRun, run_portfolios
from mhep_model.studies.run import sha256_of


@dataclass(frozen=True)
class PortfolioComparison:
    """Several portfolios (or variants of one), each with the same contracts and cases."""

    labels: tuple[str, ...]
    case_names: tuple[str, ...]
    run: PortfolioRun
    """Every variant's cases as rows of one batch (``run.labels`` says which)."""
    from_batch: str | None

    def manifest(self) -> dict[str, Any]:
        files = sorted({pf.file for pf in self.run.portfolios})
        contract_files = sorted({c.file for pf in self.run.portfolios for c in pf.contracts})
        return {
            "tool": "mhep-model",
            "tool_version": __version__,
            "command": "compare",
            "batch": self.from_batch,
            "batch_sha256": sha256_of(self.from_batch) if self.from_batch else None,
            "portfolios": {f: sha256_of(f) for f in files},
            "contracts": {f: sha256_of(f) for f in contract_files},
            "variants": list(self.labels),
            "cases": list(self.case_names),
            "seed": None,
        }


def involves_portfolio(paths: Sequence[Source]) -> bool:
    """Whether ``compare`` is given portfolios (or a batch of a portfolio)."""
    for path in paths:
        doc = load_yaml(path)
        if is_portfolio(doc):
            return True
        if is_batch(doc) and isinstance(doc.data, dict) and isinstance(doc.data.get("base"), str):
            base = Path(doc.file).parent / doc.data["base"]
            if base.is_file() and is_portfolio(load_yaml(base)):
                return True
    return False


def compare_portfolios(
    paths: Sequence[Source],
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
) -> PortfolioComparison:
    """Run portfolio files (labelled by file stem) or one batch file's variants."""
    entries: list[tuple[str, Portfolio]] = []
    batch_file = None
    for i, path in enumerate(paths):
        doc = load_yaml(path)
        if is_batch(doc):
            batch = load_batch(doc, sets=sets, cases=cases)
            if not batch.portfolios:
                raise UsageError(f"{doc.file}: compare portfolios with portfolios, not scenarios")
            batch_file = batch_file or batch.file
            entries += list(batch.portfolios)
        elif is_portfolio(doc):
            entries.append((label_of(path, i), load_portfolio(doc, sets=sets, cases=cases)))
        else:
            raise UsageError(f"{doc.file}: compare portfolios with portfolios, not scenarios")
    if len(entries) < 2:
        raise UsageError(
            "compare needs at least two portfolios, or a batch file with two or more variants"
        )
    if len(entries) > MAX_VARIANTS:
        raise UsageError(f"compare takes at most {MAX_VARIANTS} portfolios, got {len(entries)}")
    labels = unique_labels([safe_label(label) for label, _ in entries])
    first = entries[0][1]
    for label, pf in entries[1:]:
        if [c.name for c in pf.contracts] != [c.name for c in first.contracts]:
            raise UsageError(
                f"{label} ({pf.file}) has contracts {', '.join(c.name for c in pf.contracts)}; "
                f"the first has {', '.join(c.name for c in first.contracts)}: compared "
                "portfolios need the same contracts"
            )
        if pf.case_names != first.case_names:
            raise UsageError(
                f"{label} ({pf.file}) has cases {', '.join(pf.case_names)}; the first has "
                f"{', '.join(first.case_names)}: compared portfolios need the same cases"
            )
        for mine, theirs in zip(pf.contracts, first.contracts, strict=True):
            if structure(mine.resolved) != structure(theirs.resolved):
                raise UsageError(
                    f"{label}: contract {mine.name} ({mine.file}) has other stages, bands, "
                    f"outcomes or payers than in {entries[0][0]} ({theirs.file}): compared "
                    "portfolios need contracts of the same structure"
                )
    run = run_portfolios([pf for _, pf in entries], labels)
    return PortfolioComparison(tuple(labels), first.case_names, run, batch_file)
