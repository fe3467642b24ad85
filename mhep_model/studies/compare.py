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
from mhep_model.scenario.yamlio import Source, load_yaml
from mhep_model.studies.run import RunOutput, run_resolved, sha256_of


@dataclass(frozen=True)
class Comparison:
    """Several scenarios or variants, each with the same cases, computed and tabulated."""

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

    def manifest(self) -> dict[str, Any]:
        files = sorted({r.file for run in self.runs for r in run.resolved})
        return {
            "tool": "mhep-model",
            "tool_version": __version__,
            "command": "compare",
            "batch": self.from_batch,
            "batch_sha256": sha256_of(self.from_batch) if self.from_batch else None,
            "batch_base": self.batch_base,
            # a base outside the batch file's folder is allowed, and said so
            "batch_base_outside_its_folder": (
                self.batch_base is not None
                and self.from_batch is not None
                and Path(self.batch_base).resolve().parent != Path(self.from_batch).resolve().parent
            ),
            "scenarios": {f: sha256_of(f) for f in files},
            "variants": list(self.labels),
            "cases": list(self.case_names),
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


def compare(
    paths: Sequence[Source],
    *,
    sets: Sequence[tuple[str, Any]] = (),
    cases: Sequence[str] | None = None,
    actuals: str | Path | None = None,
) -> Comparison:
    """Run scenario files (labelled by file stem) or one batch file's variants side by side."""
    entries: list[tuple[str, Resolved]] = []
    shown: list[str | None] = []
    batch_file = None
    batch_base = None
    batch_title = None
    for i, path in enumerate(paths):
        doc = load_yaml(path)
        if is_batch(doc):
            batch = load_batch(doc, sets=sets, cases=cases, actuals=actuals)
            batch_file = batch_file or batch.file
            batch_base = batch_base or batch.base_file
            batch_title = batch_title or batch.name
            entries += [(r.variant or "", r) for r in batch.variants]
            shown += [batch.titles.get(r.variant or "") for r in batch.variants]
        else:
            resolved = resolve(doc, sets=sets, cases=cases, actuals=actuals)
            entries.append((label_of(path, i), resolved))
            shown.append(None)
    if len(entries) < 2:
        raise UsageError(
            "compare needs at least two scenarios, or a batch file with two or more variants"
        )
    if len(entries) > MAX_VARIANTS:
        raise UsageError(
            f"compare takes at most {MAX_VARIANTS} scenarios or variants, got {len(entries)}"
        )
    labels = unique_labels([safe_label(label) for label, _ in entries])
    _check_same_cases(labels, [r for _, r in entries])
    # Scenarios of the same structure run as one vectorised batch.
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, (_, r) in enumerate(entries):
        groups.setdefault(structure(r), []).append(i)
    outputs: dict[int, RunOutput] = {}
    for members in groups.values():
        out = run_resolved([entries[i][1] for i in members], [labels[i] for i in members])
        for i in members:
            outputs[i] = out
    runs = []
    seen = set()
    for i in range(len(entries)):
        if id(outputs[i]) not in seen:
            seen.add(id(outputs[i]))
            runs.append(outputs[i])
    case_names = tuple(c.name for c in entries[0][1].cases)
    titles = tuple(t or label for t, label in zip(shown, labels, strict=True))
    return Comparison(
        tuple(labels), case_names, tuple(runs), batch_file, batch_base, titles, batch_title
    )


def label_of(source: Source, i: int) -> str:
    """A compared scenario's label: its file's stem, or ``scenario_<n>`` (1-based) for one
    given as a mapping."""
    if isinstance(source, str | PathLike):
        return Path(source).stem
    return f"scenario_{i + 1}"


def safe_label(stem: str) -> str:
    """A scenario file's stem as a folder name: letters, digits, ``_``, ``-`` and ``.``,
    never ``.`` or ``..`` (labels become folders under ``--out``)."""
    label = re.sub(r"[^A-Za-z0-9_.-]", "_", stem)[:64].lstrip(".")
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
