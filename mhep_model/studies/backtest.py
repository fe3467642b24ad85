"""A back-test: one case's income by calendar quarter against recorded payments.

The model's income (``monthly.csv``'s ``income``: what the payers paid the SPV, by payment
month) is summed into calendar quarters and set beside the recorded payments of the
quarters a payments file gives (:mod:`mhep_model.scenario.payments`). Nothing recorded is
used by the model: the timing comes from the contract's terms alone. The summary says how
far the model is from the records (mean absolute error as a share of the mean recorded
quarter) and how far a flat line is (the recorded total spread evenly over the quarters of
the contract's term), which is what a forecast has to beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mhep_model.scenario.payments import RecordedPayments, quarter_of

PAID = 0.5
"""A quarter with more than this [GBP] counts as a payment quarter (not float residue)."""


@dataclass(frozen=True)
class Backtest:
    """``backtest.csv`` (a row per calendar quarter) and ``backtest_summary.csv``."""

    quarters: pd.DataFrame
    summary: pd.DataFrame


def _quarter_range(first: str, last: str) -> list[str]:
    y, q = int(first[:4]), int(first[-1])
    out = []
    while f"{y}-Q{q}" <= last:
        out.append(f"{y}-Q{q}")
        y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    return out


def quarterly_income(dates: pd.Series, income: pd.Series) -> pd.Series:
    """Income [GBP] by calendar quarter ``YYYY-Qn`` (every quarter of the horizon)."""
    quarters = dates.map(quarter_of)
    sums = income.groupby(quarters.to_numpy()).sum()
    return sums.reindex(
        _quarter_range(str(quarters.iloc[0]), str(quarters.iloc[-1])), fill_value=0.0
    )


def _cumulative_known(recorded: pd.Series) -> pd.Series:
    """Cumulative recorded income, only while every quarter so far is known."""
    known = recorded.notna().cumprod().astype(bool)
    return recorded.fillna(0.0).cumsum().where(known)


def _paid_quarters(values: pd.Series) -> tuple[str | None, str | None]:
    paid = values[values.fillna(0.0) > PAID].index
    return (str(paid[0]), str(paid[-1])) if len(paid) else (None, None)


def _flat_line(index: pd.Index, rec: RecordedPayments, term: tuple[str, str]) -> pd.Series:
    """The naive forecast a forecast must beat: the recorded total (or, without one, the
    mean recorded quarter) spread evenly over the quarters of the contract's term (what
    anyone holding the contract dates knows); 0 outside them."""
    span = _quarter_range(quarter_of(term[0]), quarter_of(term[1]))
    flat = pd.Series(0.0, index=index)
    known = [rec.quarters[q] for q in span if q in rec.quarters]
    if rec.total is not None:
        level = rec.total / len(span)
    elif known:
        level = float(np.mean(known))
    else:
        return flat
    flat[flat.index.isin(span)] = level
    return flat


def backtest(
    case: str,
    dates: pd.Series,
    income: pd.Series,
    term: tuple[str, str],
    outcomes: float | None,
    rec: RecordedPayments,
) -> Backtest:
    """The back-test of one case: ``dates`` (``YYYY-MM``) and ``income`` [GBP/month] are the
    case's rows of ``monthly.csv``; ``term`` the first and last months (``YYYY-MM``) of the
    service; ``outcomes`` the number of paid outcomes it achieves (None when not counted,
    e.g. a portfolio)."""
    model = quarterly_income(dates.reset_index(drop=True), income.reset_index(drop=True))
    index = pd.Index(sorted(set(model.index) | set(rec.quarters)), name="quarter")
    model = model.reindex(index, fill_value=0.0)
    recorded = pd.Series(rec.quarters, dtype=float).reindex(index)
    flat = _flat_line(index, rec, term)
    quarters = pd.DataFrame(
        {
            "case": case,
            "quarter": index,
            "model_income": model.to_numpy(),
            "recorded_income": recorded.to_numpy(),
            "difference": (model - recorded).to_numpy(),
            "model_cumulative": model.cumsum().to_numpy(),
            "recorded_cumulative": _cumulative_known(recorded).to_numpy(),
            "flat_line": flat.to_numpy(),
        }
    )
    return Backtest(quarters, _summary(case, model, recorded, flat, outcomes, rec))


def _summary(
    case: str,
    model: pd.Series,
    recorded: pd.Series,
    flat: pd.Series,
    outcomes: float | None,
    rec: RecordedPayments,
) -> pd.DataFrame:
    known = recorded.notna()
    mean_quarter = float(recorded[known].mean()) if known.any() else np.nan
    mae = float((model - recorded)[known].abs().mean()) if known.any() else np.nan
    flat_mae = float((flat - recorded)[known].abs().mean()) if known.any() else np.nan
    total = rec.total
    model_total = float(model.sum())
    m_first, m_last = _paid_quarters(model)
    r_first, r_last = _paid_quarters(recorded)
    share = "of the mean recorded quarter"
    implied = total / outcomes if outcomes and total is not None else None
    rows: list[tuple[str, object, str]] = [
        ("quarters_known", int(known.sum()), "quarters"),
        ("model_total", model_total, "GBP"),
        ("recorded_total", total, "GBP"),
        ("total_ratio", model_total / total if total else None, "model / recorded"),
        ("model_in_known_quarters", float(model[known].sum()), "GBP"),
        ("recorded_in_known_quarters", float(recorded[known].sum()), "GBP"),
        ("mean_recorded_quarter", mean_quarter, "GBP"),
        ("mean_absolute_error", mae, "GBP a quarter"),
        ("mean_absolute_error_share", mae / mean_quarter if mean_quarter else None, share),
        ("flat_line_mean_absolute_error", flat_mae, "GBP a quarter"),
        ("flat_line_mean_absolute_error_share", flat_mae / mean_quarter if mean_quarter else None,
         share),
        ("model_first_payment_quarter", m_first, "quarter"),
        ("recorded_first_payment_quarter", r_first, "quarter, of those recorded"),
        ("model_last_payment_quarter", m_last, "quarter"),
        ("recorded_last_payment_quarter", r_last, "quarter, of those recorded"),
        ("outcomes", outcomes, "outcomes paid for"),
        ("model_price_per_outcome", model_total / outcomes if outcomes else None, "GBP"),
        ("implied_price_per_outcome", implied, "GBP: recorded total / outcomes"),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["measure", "value", "unit"])
    frame.insert(0, "case", case)
    frame["value"] = [
        None if isinstance(v, float) and not np.isfinite(v) else v for v in frame["value"]
    ]
    return frame
