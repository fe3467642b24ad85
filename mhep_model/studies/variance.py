"""Variance of a contract in delivery (spec section 13): each recorded series against the
same case's projection from the signing date, over the recorded months."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mhep_model.engine import Results
from mhep_model.scenario import Resolved
from mhep_model.scenario.actuals import Recorded


@dataclass(frozen=True)
class VarianceRow:
    """One recorded series of one case, over months 1..k."""

    variant: str | None
    case: str
    measure: str
    months: int
    actual: float
    projected: float

    @property
    def variance(self) -> float:
        return self.actual - self.projected

    @property
    def ratio(self) -> float:
        """actual / projected; NaN (blank) where nothing was projected."""
        return self.actual / self.projected if self.projected != 0 else float("nan")


def variance_rows(
    group: Sequence[Resolved],
    labels: Sequence[str | None],
    projection: Results,
) -> list[VarianceRow]:
    """Rows of ``variance.csv``: case by case (scenario order), then referrals, the stages
    in scenario order, income; ``projection`` is the run of ``group`` without actuals."""
    rows: list[VarianceRow] = []
    names = [s.name for s in projection.inputs.stages]
    i = 0
    for resolved, label in zip(group, labels, strict=True):
        for case in resolved.cases:
            if case.recorded is not None:
                rows += _case_rows(label, case.name, case.recorded, projection, i, names)
            i += 1
    return rows


def _case_rows(
    label: str | None,
    case: str,
    rec: Recorded,
    projection: Results,
    i: int,
    names: Sequence[str],
) -> list[VarianceRow]:
    k = rec.k
    out = []
    if rec.referrals is not None:
        projected = float(projection.referrals[i, :k].sum())
        out.append(VarianceRow(label, case, "referrals", k, float(rec.referrals.sum()), projected))
    for s, name in enumerate(names):
        if name in rec.stages:
            projected = float(projection.stages[s][i, :, :k].sum())
            out.append(VarianceRow(label, case, name, k, float(rec.stages[name].sum()), projected))
    if rec.income is not None:
        projected = float(projection.payments.income[i, :k].sum())
        out.append(VarianceRow(label, case, "income", k, float(rec.income.sum()), projected))
    return out
