"""Comparing scenario files, or the variants of a batch file, side by side (same cases).

Scenarios of the same structure run as one vectorised batch; labels are file stems (made
safe as folder names) or variant names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from mhep_model import __version__
from mhep_model.errors import UsageError
from mhep_model.scenario import Resolved, resolve
from mhep_model.scenario.batch import is_batch, load_batch
from mhep_model.scenario.limits import MAX_VARIANTS
from mhep_model.scenario.model import bands_of
from mhep_model.scenario.portfolio import (
    Portfolio,
    is_portfolio,
    load_portfolio,
    refuse_portfolio_actuals,
)
from mhep_model.scenario.yamlio import Source, load_yaml
from mhep_model.studies.run import RunOutput, run_models, sha256_of


@dataclass(frozen=True)
class Comparison:
    """Several scenarios or variants (or portfolios with the same contracts), each with
    the same cases, computed and tabulated."""

    labels: tuple[str, ...]
    case_names: tuple[str, ...]
    runs: tuple[RunOutput, ...]
    from_batch: str | None
    """The batch file, when the variants come from one."""
    batch_base: str | None = None
    """The batch file's base scenario."""
    titles: tuple[str, ...] = ()
    """Each variant's display name: a batch variant's ``name:``, else its label."""
    title: str | None = None
    """The batch file's ``name:``, when it has one."""

    def title_of(self, label: str) -> str:
        """``label``'s display name (the label itself when it has none of its own)."""
        return dict(zip(self.labels, self.titles, strict=False)).get(label, label)

    @property
    def heading(self) -> str:
        """What is compared: the batch's name, else the labels joined by "vs"."""
        return self.title or " vs ".join(self.labels)

    @property
    def portfolio(self) -> Portfolio | None:
        """The first portfolio, when portfolios are compared (their cases are rows of one
        run: ``runs[0].labels`` says which variant each is)."""
        return self.runs[0].portfolio

    def manifest(self) -> dict[str, Any]:
        if self.portfolio is not None:
            models = self.runs[0].models
            contract_files = sorted(
                {c.file for pf in models if isinstance(pf, Portfolio) for c in pf.contracts}
            )
            return _manifest(self.from_batch, self.labels, self.case_names) | {
                "portfolios": {f: sha256_of(f) for f in sorted({pf.file for pf in models})},
                "contracts": {f: sha256_of(f) for f in contract_files},
            }
        files = sorted({r.file for run in self.runs for r in run.resolved})
        return _manifest(self.from_batch, self.labels, self.case_names) | {
            "batch_base": self.batch_base,
            # a base outside the batch file's folder is allowed, and said so
            "batch_base_outside_its_folder": (
                self.batch_base is not None
                and self.from_batch is not None
                and Path(self.batch_base).resolve().parent != Path(self.from_batch).resolve().parent
            ),
            "scenarios": {f: sha256_of(f) for f in files},
        }


def _manifest(batch: str | None, labels: Sequence[str], cases: Sequence[str]) -> dict[str, Any]:
    """``run.json`` of a comparison: what every one records."""
    return {
        "tool": "mhep-model",
        "tool_version": __version__,
        "command": "compare",
        "batch": batch,
        "batch_sha256": sha256_of(batch) if batch else None,
        "variants": list(labels),
        "cases": list(cases),
        "seed": None,
    }


def structure(r: Resolved) -> tuple[Any, ...]:
    base = r.base
    return (
        tuple(base.stages),
        tuple(bands_of(base).items()),
        tuple(base.outcomes),
        tuple(base.payers),
    )


Entry = tuple[str, Resolved | Portfolio]


def compare(
    paths: Sequence[Source],
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
    actuals: str | Path | None = None,
) -> Comparison:
    """Run scenario or portfolio files (labelled by file stem), or one batch file's
    variants, side by side: every one needs the same cases (a portfolio's, the same
    contracts of the same structure). Contracts of the same structure run as one
    vectorised batch; portfolios run as one batch."""
    entries, shown, batch = load_entries(paths, sets, cases, actuals)
    portfolio = isinstance(entries[0][1], Portfolio) if entries else False
    noun = "portfolios" if portfolio else "scenarios"
    if len(entries) < 2:
        raise UsageError(
            f"compare needs at least two {noun}, or a batch file with two or more variants"
        )
    if len(entries) > MAX_VARIANTS:
        more = "" if portfolio else " or variants"
        raise UsageError(f"compare takes at most {MAX_VARIANTS} {noun}{more}, got {len(entries)}")
    labels = unique_labels([safe_label(label) for label, _ in entries])
    if portfolio:
        group = [(label, b) for label, b in entries if isinstance(b, Portfolio)]
        return _compare_portfolios(group, labels, batch[0])
    contracts = [(label, b) for label, b in entries if isinstance(b, Resolved)]
    titles = tuple(t or label for t, label in zip(shown, labels, strict=True))
    return _compare_contracts(contracts, labels, titles, batch)


def load_entries(
    paths: Sequence[Source],
    sets: Sequence[tuple[str, Any]],
    cases: Sequence[str] | None,
    actuals: str | Path | None,
) -> tuple[list[Entry], list[str | None], tuple[str | None, str | None, str | None]]:
    """Each compared scenario or portfolio with its label, each one's display name, and
    the batch file, its base and its name (when the variants come from one). Scenarios
    and portfolios are not compared with each other."""
    entries: list[Entry] = []
    shown: list[str | None] = []
    batch_file = batch_base = batch_title = None
    for i, path in enumerate(paths):
        doc = load_yaml(path)
        if is_batch(doc):
            batch = load_batch(doc, sets=sets, cases=cases, actuals=actuals)
            if batch.portfolios:
                refuse_portfolio_actuals(actuals, doc)
            batch_file = batch_file or batch.file
            batch_base = batch_base or batch.base_file
            batch_title = batch_title or batch.name
            entries += list(batch.portfolios)
            shown += [None] * len(batch.portfolios)
            entries += [(r.variant or "", r) for r in batch.variants]
            shown += [batch.titles.get(r.variant or "") for r in batch.variants]
        elif is_portfolio(doc):
            refuse_portfolio_actuals(actuals, doc)
            entries.append((label_of(path, i), load_portfolio(doc, sets=sets, cases=cases)))
            shown.append(None)
        else:
            entries.append(
                (label_of(path, i), resolve(doc, sets=sets, cases=cases, actuals=actuals))
            )
            shown.append(None)
        if len({isinstance(b, Portfolio) for _, b in entries}) > 1:
            raise UsageError(f"{doc.file}: compare portfolios with portfolios, not scenarios")
    return entries, shown, (batch_file, batch_base, batch_title)


def _compare_contracts(
    entries: list[tuple[str, Resolved]],
    labels: list[str],
    titles: tuple[str, ...],
    batch: tuple[str | None, str | None, str | None],
) -> Comparison:
    _check_same_cases(labels, [r for _, r in entries])
    # Scenarios of the same structure run as one vectorised batch.
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, (_, r) in enumerate(entries):
        groups.setdefault(structure(r), []).append(i)
    outputs: dict[int, RunOutput] = {}
    for members in groups.values():
        out = run_models([entries[i][1] for i in members], [labels[i] for i in members])
        for i in members:
            outputs[i] = out
    runs = []
    seen = set()
    for i in range(len(entries)):
        if id(outputs[i]) not in seen:
            seen.add(id(outputs[i]))
            runs.append(outputs[i])
    case_names = tuple(c.name for c in entries[0][1].cases)
    batch_file, batch_base, batch_title = batch
    return Comparison(
        tuple(labels), case_names, tuple(runs), batch_file, batch_base, titles, batch_title
    )


def _compare_portfolios(
    entries: list[tuple[str, Portfolio]], labels: list[str], batch_file: str | None
) -> Comparison:
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
    run = run_models([pf for _, pf in entries], labels)
    return Comparison(tuple(labels), first.case_names, (run,), batch_file)


def label_of(source: Source, i: int) -> str:
    """A compared scenario's label: its file's stem, or ``scenario_<n>`` (1-based) for one
    given as a mapping."""
    if isinstance(source, str | PathLike):
        return Path(source).stem
    return f"scenario_{i + 1}"


def safe_label(stem: str) -> str:
    """A scenario file's stem as a folder name: letters, digits, ``_`` and ``-`` (a ``.``
    becomes ``_``: a folder ``run.json`` would clash with the outputs' own files)."""
    label = re.sub(r"[^A-Za-z0-9_-]", "_", stem)[:64].strip("_")
    return label or "scenario"


def unique_labels(labels: list[str]) -> list[str]:
    """Distinct labels, also when compared without case (folders on some systems)."""
    out: list[str] = []
    for label in labels:
        name, n = label, 2
        while name.lower() in {o.lower() for o in out}:
            name, n = f"{label}-{n}", n + 1
        out.append(name)
    return out


def _check_same_cases(labels: list[str], resolved: list[Resolved]) -> None:
    names = [[c.name for c in r.cases] for r in resolved]
    every = list(dict.fromkeys(n for group in names for n in group))
    problems = []
    for label, r, group in zip(labels, resolved, names, strict=True):
        missing = [n for n in every if n not in group]
        if missing:
            problems.append(f"{label} ({r.file}) has no case {', '.join(missing)}")
    if problems:
        raise UsageError(
            "the scenarios must have the same cases to be compared: " + "; ".join(problems)
        )
