"""Side-by-side comparison of variants: tidy ``comparison.csv`` and coloured rich tables.

Each metric belongs to a party and has a direction: more surplus is better for the
provider, a lower bill is better for a payer, a higher multiple is better for the investor.
A change is shown green when it is better for that party, red when worse.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from rich.table import Table
from rich.text import Text

from mhep_model.metrics import CONTRACT_KPIS, PORTFOLIO_KPIS, V3_KPIS, Metric, compared, metric
from mhep_model.report.frames import run_monthly, run_summary
from mhep_model.report.tables import DASH, money, multiple, number, percent, shared_labels
from mhep_model.studies.compare import Comparison
from mhep_model.studies.run import metric_values

ABS_TOL = 0.5  # [currency units or people]: smaller changes count as no change


def metrics(stage_names: Sequence[str], payer_labels: dict[str, str]) -> list[Metric]:
    """The KPIs of ``run``, each with its party's point of view (:mod:`mhep_model.metrics`)."""
    names = [*stage_names, "income", *(f"paid_{p}" for p in payer_labels)]
    names += compared(CONTRACT_KPIS) + list(V3_KPIS)  # v3: shown where the summary has them
    return [metric(n, stage_names, payer_labels) for n in names]


TEXT_COLUMNS = frozenset({"service_stop_reason"})
"""Summary columns written as words, not numbers."""


def comparison_frame(summary: pd.DataFrame, first: str) -> pd.DataFrame:
    """Tidy: variant, case, metric, value, delta vs the ``first`` variant of the same case
    (numbers only: a text column such as v3's ``service_stop_reason`` stays in each
    variant's ``summary.csv``)."""
    metric_cols = [
        c for c in summary.columns if c not in ("variant", "case") and c not in TEXT_COLUMNS
    ]
    long = summary.melt(
        id_vars=["variant", "case"], value_vars=metric_cols, var_name="metric", value_name="value"
    )
    long["value"] = pd.to_numeric(long["value"], errors="coerce").astype(float)
    base = long[long["variant"] == first].set_index(["case", "metric"])["value"]
    keys = pd.MultiIndex.from_frame(long[["case", "metric"]])
    long["delta"] = long["value"].to_numpy() - base.reindex(keys).to_numpy()
    order = {m: i for i, m in enumerate(metric_cols)}
    variants = {v: i for i, v in enumerate(dict.fromkeys(summary["variant"]))}
    cases = {c: i for i, c in enumerate(dict.fromkeys(summary["case"]))}
    long = long.sort_values(
        by=["case", "variant", "metric"],
        key=lambda s: s.map(
            cases if s.name == "case" else variants if s.name == "variant" else order
        ),
        kind="stable",
    )
    return long.reset_index(drop=True)


def _blank(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def formatter(kind: str, currency: str) -> Callable[[float], str]:
    """How a value of ``kind`` (money, percent, multiple, month, people) is shown."""
    if kind == "money":
        return lambda v: money(v, currency)
    if kind == "percent":
        return percent
    if kind == "multiple":
        return multiple
    if kind == "month":
        return lambda v: "never" if _blank(v) else f"month {int(v)}"
    return number


def _signed(kind: str, delta: float, currency: str) -> str:
    text = formatter(kind, currency)(abs(delta))
    if kind == "percent":
        text = f"{abs(delta) * 100:,.1f} pts"
    shown_zero = kind in ("money", "people") and abs(delta) <= ABS_TOL
    sign = "±" if delta == 0 or shown_zero else "+" if delta > 0 else "-"
    return f"{sign}{text}"


def judge(metric: Metric, old: float, new: float) -> int:
    """+1 when ``new`` is better than ``old`` for the metric's party, -1 worse, 0 neither."""
    if metric.better == 0:
        return 0
    if metric.unit == "month":  # insolvent month: never is best, later is better
        old_v = math.inf if _blank(old) else float(old)
        new_v = math.inf if _blank(new) else float(new)
        return int(np.sign(new_v - old_v)) if new_v != old_v else 0
    if _blank(old) or _blank(new):
        return 0
    tol = ABS_TOL if metric.unit in ("money", "people") else 1e-9
    if abs(new - old) <= tol:
        return 0
    return metric.better * (1 if new > old else -1)


def _delta_cell(metric: Metric, old: float, new: float, currency: str) -> Text:
    verdict = judge(metric, old, new)
    style = "green" if verdict > 0 else "red" if verdict < 0 else "dim"
    if metric.unit == "month":
        if (_blank(old) and _blank(new)) or (not _blank(old) and not _blank(new) and old == new):
            return Text("same", style="dim")
        return Text("later" if verdict > 0 else "earlier", style=style)
    if _blank(old) or _blank(new):
        return Text(DASH, style="dim")
    return Text(_signed(metric.unit, new - old, currency), style=style)


def compare_table(
    summary: pd.DataFrame,
    case: str,
    labels: Sequence[str],
    measures: Sequence[Metric],
    currency: str,
    titles: Mapping[str, str] | None = None,
    heading: str | None = None,
) -> Table:
    """One case: a column per variant and, after each but the first, its change vs the first;
    a variant's display name (``titles``) under its label, the batch's name in the title."""
    titles = titles or {}

    def head(label: str) -> str:
        shown = titles.get(label, label)
        return label if shown == label else f"{label}\n{shown}"

    title = f"Case {case}: {labels[0]} against the others"
    table = Table(title=f"{heading}: {title}" if heading else title, title_justify="left")
    table.add_column("Measure", style="bold")
    # long display names wrap rather than widen the table past a screen
    table.add_column(head(labels[0]), justify="right", max_width=max(24, len(labels[0])))
    for label in labels[1:]:
        table.add_column(head(label), justify="right", max_width=max(24, len(label)))
        table.add_column(f"change vs {labels[0]}", justify="right")
    rows = summary[summary["case"] == case].set_index("variant")
    for m in measures:
        fmt = formatter(m.unit, currency)
        first = num(rows.at[labels[0], m.name])
        cells: list[Text | str] = [fmt(first)]
        for label in labels[1:]:
            value = num(rows.at[label, m.name])
            cells += [fmt(value), _delta_cell(m, first, value, currency)]
        table.add_row(m.label, *cells)
    return table


def num(value: object) -> float:
    return math.nan if _blank(value) else float(value)  # type: ignore[arg-type]


def verdict_part(
    who: str, old: float, new: float, better: int, what: str, currency: str
) -> tuple[str, str]:
    """``("provider gains (surplus +£1,000)", "green")`` and the like."""
    if math.isnan(old) or math.isnan(new) or abs(new - old) <= ABS_TOL:
        return f"{who}: no change", "dim"
    good = (new > old) == (better > 0)
    word = "gains" if good else "loses"
    return (
        f"{who} {word} ({what} {_signed('money', new - old, currency)})",
        "green" if good else "red",
    )


def verdicts(
    summary: pd.DataFrame,
    case: str,
    labels: Sequence[str],
    payer_labels: dict[str, str],
    currency: str,
    providers: Sequence[tuple[str, str]] = (("provider", "provider_surplus"),),
) -> list[Text]:
    """Who gains and who loses, per variant against the first, in plain words: each
    provider (``(who, surplus column)``: a portfolio's ``<contract>.provider_surplus``),
    the investor, each payer."""
    rows = summary[summary["case"] == case].set_index("variant")

    def value(label: str, column: str) -> float:
        return num(rows.at[label, column])

    lines = []
    first = labels[0]
    for label in labels[1:]:
        parts = [
            verdict_part(who, value(first, col), value(label, col), +1, "surplus", currency)
            for who, col in providers
        ]
        parts.append(
            verdict_part(
                "investor",
                value(first, "investor_received") - value(first, "investor_drawn"),
                value(label, "investor_received") - value(label, "investor_drawn"),
                +1,
                "net return",
                currency,
            )
        )
        for p, name in payer_labels.items():
            col = f"paid_{p}"
            if col not in rows.columns:
                continue
            old, new = value(first, col), value(label, col)
            if math.isnan(old) != math.isnan(new):  # a different organisation's contract
                only = first if math.isnan(new) else label
                parts.append((f"{name}: a payer in {only} only", "dim"))
            else:
                parts.append(verdict_part(name, old, new, -1, "pays", currency))
        text = Text(f"{case}, {label} vs {first}: ", style="bold")
        for i, (part, style) in enumerate(parts):
            text.append(("; " if i else "") + part, style=style)
        lines.append(text)
    return lines


def _variant_payers(result: Comparison) -> dict[str, dict[str, str]]:
    """Per variant: each external payer's key -> display name (its own file's)."""
    out: dict[str, dict[str, str]] = {}
    for run in result.runs:
        for resolved, label in zip(
            run.resolved, dict.fromkeys(r.variant for r in run.rows), strict=False
        ):
            base = resolved.base
            out[str(label)] = {k: p.name or k for k, p in base.payers.items() if not p.self_}
    return out


def payer_columns(result: Comparison) -> dict[str, dict[str, str]]:
    """Per variant: payer key -> the ``paid_`` column suffix that names who pays. A key
    that means different organisations in different variants (each council is its own
    ``commissioner``) gets one column per organisation."""
    by_variant = _variant_payers(result)
    names: dict[str, set[str]] = {}
    for payers in by_variant.values():
        for key, name in payers.items():
            names.setdefault(key, set()).add(name)
    return {
        variant: {k: k if len(names[k]) == 1 else f"{k} ({n})" for k, n in payers.items()}
        for variant, payers in by_variant.items()
    }


def comparison_payer_labels(result: Comparison) -> dict[str, str]:
    """``paid_`` column suffix -> who pays, over every variant, in order of appearance."""
    out: dict[str, str] = {}
    columns = payer_columns(result)
    for variant, payers in _variant_payers(result).items():
        for key, name in payers.items():
            out.setdefault(columns[variant][key], name)
    return out


def comparison_summary(result: Comparison) -> pd.DataFrame:
    """One row per variant and case: ``variant``, ``case``, then the summary metrics; each
    payer's column names who pays (blank for a variant the payer is not in); portfolios:
    theirs, then ``<contract>.<metric>``."""
    if result.portfolio is not None:
        return _portfolio_summary(result)
    columns = payer_columns(result)
    frames = []
    for run in result.runs:
        summary = run_summary(run)
        for variant, rows in summary.groupby("variant", sort=False):
            rename = {f"paid_{k}": f"paid_{c}" for k, c in columns[str(variant)].items()}
            frames.append(rows.rename(columns=rename))
    frame = pd.concat(frames, ignore_index=True)
    order = {label: i for i, label in enumerate(result.labels)}
    return frame.sort_values("variant", key=lambda v: v.map(order), kind="stable").reset_index(
        drop=True
    )


def comparison_monthly(result: Comparison) -> pd.DataFrame:
    """``monthly.csv`` rows of every variant, with a ``variant`` column first."""
    return pd.concat([run_monthly(r) for r in result.runs], ignore_index=True)


def _portfolio_summary(result: Comparison) -> pd.DataFrame:
    """One row per variant and case: the portfolio's metrics, then ``<contract>.<metric>``."""
    (run,) = result.runs
    data: dict[str, object] = {"variant": list(run.labels), "case": list(run.cases)}
    data |= metric_values(run)
    return pd.DataFrame(data)


CONTRACT_COMPARED = ["provider_surplus", "provider_min_reserves", "provider_insolvent_month"]
"""Each contract's measures compared, as ``<contract>.<metric>``."""


def portfolio_metrics(result: Comparison) -> list[Metric]:
    """The measures compared, each with its party's point of view (:mod:`mhep_model.metrics`)."""
    labels = shared_labels(result.runs[0])
    names = ["income", *(f"paid_{k}" for k in labels), *compared(PORTFOLIO_KPIS)]
    names += [f"{c.name}.{m}" for c in result.runs[0].pf.contracts for m in CONTRACT_COMPARED]
    return [metric(n, payer_labels=labels) for n in names]
