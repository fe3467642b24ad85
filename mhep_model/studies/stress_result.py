"""What a stress run found (spec sections 9 and 12): every path's metrics per case, the
chances of each failure, percentiles and break-even volumes, for a contract or a
portfolio (a contract is a portfolio of one: the same fields, its own metrics)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mhep_model import __version__
from mhep_model.engine.inputs import FloatArray
from mhep_model.engine.stochastic import BLOCK
from mhep_model.scenario import Resolved
from mhep_model.scenario.model_inputs import portfolio_starts
from mhep_model.scenario.portfolio import Portfolio
from mhep_model.studies.run import sha256_of

PERCENTILES = (5, 25, 50, 75, 95)
PERCENTILE_METRICS = (
    "provider_surplus",
    "provider_min_reserves",
    "income",
    "investor_multiple",
    "investor_irr",
    "job_start",
)
"""A contract's metrics whose spread ``stress_summary.csv`` gives."""
PORTFOLIO_PERCENTILE_METRICS = (
    "income",
    "capped",
    "investor_multiple",
    "investor_irr",
    "loan_loss",
    "providers_insolvent",
)
"""A portfolio's metrics whose spread ``stress_summary.csv`` gives."""
LOSS_TOL = 0.5
"""[currency units]: an investor 'loses money' when received < drawn - this."""
RESERVES = "__provider_reserves_by_month"
SPV_CASH = "__spv_cash_by_month"


def standard_errors(probabilities: dict[str, float], paths: int) -> dict[str, float]:
    """The Monte Carlo standard error of each probability over ``paths`` paths:
    sqrt(p (1 - p) / paths)."""
    return {k: math.sqrt(p * (1.0 - p) / paths) for k, p in probabilities.items()}


WILSON_Z = 1.959963984540054
"""The normal quantile of a 95% interval."""


def wilson_interval(p: float, paths: int, z: float = WILSON_Z) -> tuple[float, float]:
    """The 95% Wilson score interval of a probability estimated as ``p`` over ``paths``
    paths: honest at 0 and 1, where p +/- a standard error would claim certainty."""
    if paths <= 0:
        return math.nan, math.nan
    z2n = z * z / paths
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * math.sqrt(p * (1.0 - p) / paths + z2n / (4.0 * paths)) / (1.0 + z2n)
    lo = 0.0 if p <= 0.0 else max(0.0, centre - half)
    hi = 1.0 if p >= 1.0 else min(1.0, centre + half)  # no float residue at the ends
    return lo, hi


def _share(mask: np.ndarray) -> float:
    return float(np.mean(mask))


@dataclass(frozen=True)
class StressResult:
    """Per case, every path's metrics, and the break-even referral volumes."""

    model: Resolved | Portfolio
    seed: int
    paths: int
    columns: tuple[str, ...]
    """Every path's metrics in ``paths.csv``'s order (a contract's ``summary.csv``
    columns; a portfolio's own, then ``<contract>.<metric>`` of each provider)."""
    per_path: dict[str, dict[str, FloatArray]]
    """Per case, every path's metrics ``(paths,)`` (and any monthly series kept)."""
    break_even: dict[str, dict[str, float]]
    """Per case, ``stress_summary.csv``'s break-even rows: metric name to value."""
    deterministic: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per case, the deterministic value of each spread metric (the case as it is)."""

    @property
    def case_names(self) -> tuple[str, ...]:
        return tuple(self.per_path)

    @property
    def portfolio(self) -> Portfolio | None:
        return self.model if isinstance(self.model, Portfolio) else None

    @property
    def contract_names(self) -> tuple[str, ...]:
        """A portfolio's contracts (none for a contract on its own)."""
        return tuple(c.name for c in self.portfolio.contracts) if self.portfolio else ()

    @property
    def name(self) -> str:
        return self.model.name if isinstance(self.model, Portfolio) else self.model.base.name

    @property
    def first_resolved(self) -> Resolved:
        """The contract, or a portfolio's first contract (its currency and start)."""
        pf = self.portfolio
        return pf.contracts[0].resolved if pf is not None else self.model  # type: ignore[return-value]

    @property
    def currency(self) -> str:
        return self.first_resolved.base.contract.currency

    @property
    def stage_names(self) -> tuple[str, ...]:
        """A contract's stages (a portfolio's metrics name none)."""
        return () if self.portfolio else tuple(self.first_resolved.base.stages)

    @property
    def start(self) -> str:
        """``YYYY-MM`` of month 1 (a portfolio's: its earliest contract's start)."""
        pf = self.portfolio
        return portfolio_starts([pf])[0] if pf else self.first_resolved.base.contract.start

    def reserves(self, case: str) -> FloatArray | None:
        """``(n, H)`` provider reserves by month [GBP] of the case's first ``n`` paths,
        when the run kept them (a contract on its own)."""
        return self.per_path[case].get(RESERVES)

    def spv_cash(self, case: str) -> FloatArray | None:
        """``(n, H)`` the SPV's cash at each month end [GBP] of the first ``n`` paths."""
        return self.per_path[case].get(SPV_CASH)

    def standard_errors(self, case: str) -> dict[str, float]:
        """The Monte Carlo standard error of each probability."""
        return standard_errors(self.probabilities(case), self.paths)

    def intervals(self, case: str) -> dict[str, tuple[float, float]]:
        """The 95% Wilson interval of each probability."""
        return {k: wilson_interval(p, self.paths) for k, p in self.probabilities(case).items()}

    def probabilities(self, case: str) -> dict[str, float]:
        """The chance, over paths, of each failure the provider(s), investor and SPV fear."""
        m = self.per_path[case]
        out = {}
        if self.portfolio is None:
            out["provider_insolvent"] = _share(~np.isnan(m["provider_insolvent_month"]))
        out["investor_loses_money"] = _share(
            m["investor_received"] < m["investor_drawn"] - LOSS_TOL
        )
        out["spv_funding_gap"] = _share(m["max_funding_gap"] > 0)
        if self.portfolio is not None:
            out["any_provider_insolvent"] = _share(m["providers_insolvent"] > 0)
        out["payer_cap_binds"] = _share(m["capped"] > LOSS_TOL)
        if "service_stopped_month" in m:  # v3: each path stops on its own month
            out["service_stopped"] = _share(~np.isnan(m["service_stopped_month"]))
        for name in self.contract_names:
            insolvent = ~np.isnan(m[f"{name}.provider_insolvent_month"])
            out[f"{name}.provider_insolvent"] = _share(insolvent)
        return out

    def percentiles(self, case: str) -> dict[str, dict[int, float]]:
        """P5..P95 of the key metrics over paths (blank paths left out, e.g. no IRR)."""
        m = self.per_path[case]
        chosen = PORTFOLIO_PERCENTILE_METRICS if self.portfolio else PERCENTILE_METRICS
        out: dict[str, dict[int, float]] = {}
        for metric in chosen:
            if metric not in m:
                continue
            values = m[metric][~np.isnan(m[metric])]
            out[metric] = {
                p: float(np.percentile(values, p)) if values.size else math.nan for p in PERCENTILES
            }
        return out

    def means(self, case: str) -> dict[str, float]:
        """The mean over paths of each spread metric (blank paths left out, e.g. no IRR)."""
        m = self.per_path[case]
        chosen = PORTFOLIO_PERCENTILE_METRICS if self.portfolio else PERCENTILE_METRICS
        return {
            metric: float(np.nanmean(m[metric])) if (~np.isnan(m[metric])).any() else math.nan
            for metric in chosen
            if metric in m
        }

    def expected_losses(self, case: str) -> dict[tuple[str, str], float]:
        """``(party, statistic)`` to a mean over every path [GBP]: the investor's
        ``expected_loss``, the mean of what it drew less what it got back where that is
        positive (0 in paths where it is repaid in full); each provider's
        ``expected_shortfall``, the mean of how far its lowest reserves go below zero (0 in
        paths where they never do)."""
        m = self.per_path[case]
        lost = np.maximum(m["investor_drawn"] - m["investor_received"], 0.0)
        out = {("investor", "expected_loss"): float(lost.mean())}
        prefixes = [f"{c}." for c in self.contract_names] or [""]
        for prefix in prefixes:
            lowest = m[f"{prefix}provider_min_reserves"]
            out[(f"{prefix}provider", "expected_shortfall")] = float(
                np.maximum(-lowest, 0.0).mean()
            )
        return out

    def insolvency_months(self, case: str) -> dict[str, float]:
        """The month in which a contract's provider's insolvency most often starts, and
        the median such month (a portfolio's: none, see each contract's probability)."""
        if self.portfolio is not None:
            return {}
        months = self.per_path[case]["provider_insolvent_month"]
        months = months[~np.isnan(months)]
        if not months.size:
            return {"most_likely": math.nan, "median": math.nan}
        values, counts = np.unique(months, return_counts=True)
        return {"most_likely": float(values[counts.argmax()]), "median": float(np.median(months))}

    def manifest(self) -> dict[str, Any]:
        pf, model = self.portfolio, self.model
        head: dict[str, Any] = {"tool": "mhep-model", "tool_version": __version__}
        head["command"] = "stress"
        if pf is not None:
            head["portfolio"] = pf.file
            head["portfolio_sha256"] = sha256_of(pf.file)
            head["contracts"] = {
                c.name: {"file": c.file, "sha256": sha256_of(c.file)} for c in pf.contracts
            }
        else:
            head["scenario"] = model.file
            head["scenario_sha256"] = sha256_of(model.file)
        return head | {
            "cases": list(self.case_names),
            "set": {k: v for k, v in model.sets},
            "paths": self.paths,
            "block_paths": BLOCK,
            "seed": self.seed,
        }
