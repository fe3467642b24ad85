"""Checks of the v3 terms that relate one part of a scenario to another (spec sections 1,
4, 5 and 11): opening caseloads, grants and the stop on caps. Field-level rules (types,
ranges) are the models' (:mod:`mhep_model.scenario.model`)."""

from __future__ import annotations

from mhep_model.errors import Path, ScenarioError
from mhep_model.scenario.model import Scenario

SUM_TOL = 1e-9


def check_terms(sc: Scenario, bands: dict[str, tuple[str, ...]]) -> None:
    """Opening caseloads name their stage's bands; grants are paid by external payers
    whose shares sum to 1, within the horizon; a stop on caps has caps to stop on."""
    for name, stage in sc.stages.items():
        if stage.opening is not None:
            _check_opening(stage.opening, bands[name], name)
    for i in range(len(sc.grants)):
        _check_grant(sc, i)
    stop = sc.contract.stop
    if stop is not None and stop.on_cap:
        for key, payer in sc.payers.items():
            if not payer.self_ and payer.cap is None:
                raise ScenarioError(
                    f"contract.stop.on_cap stops the service when every payer's cap is "
                    f"reached: payer '{key}' has no cap (give it one, or stop on_cap: false)",
                    path=("payers", key, "cap"),
                )


def _check_opening(value: object, bands: tuple[str, ...], stage: str) -> None:
    path: Path = ("stages", stage, "opening")
    if bands and not isinstance(value, dict):
        raise ScenarioError(
            f"stage '{stage}' is banded ({', '.join(bands)}): give the opening caseload of "
            "each band, e.g. {" + ", ".join(f"{b}: 0" for b in bands) + "}",
            path=path,
        )
    if isinstance(value, dict):
        if not bands:
            raise ScenarioError(
                f"stage '{stage}' has no bands (no split above it): give a single number",
                path=path,
            )
        if set(value) != set(bands):
            raise ScenarioError(
                f"must name exactly the bands of stage '{stage}' ({', '.join(bands)}), got "
                f"{', '.join(value) or 'none'}",
                path=path,
            )


def _check_grant(sc: Scenario, i: int) -> None:
    grant = sc.grants[i]
    path: Path = ("grants", i)
    horizon = sc.contract.horizon
    a, b = grant.months
    if a > b:
        raise ScenarioError(
            f"the first month must not be after the last, got [{a}, {b}]", path=(*path, "months")
        )
    if b > horizon:
        raise ScenarioError(
            f"must be months within the horizon 1..{horizon}, got [{a}, {b}]",
            path=(*path, "months"),
        )
    if isinstance(grant.amount, list) and len(grant.amount) != b - a + 1:
        raise ScenarioError(
            f"a list of amounts needs one per covered month ({b - a + 1} for months {a}-{b}), "
            f"got {len(grant.amount)}",
            path=(*path, "amount"),
        )
    for key, share in grant.paid_by.items():
        payer = sc.payers.get(key)
        if payer is None:
            raise ScenarioError(
                f"unknown payer '{key}'; the payers are {', '.join(sc.payers)}",
                path=(*path, "paid_by", key),
            )
        if payer.self_:
            raise ScenarioError(
                f"'{key}' is the SPV's own (self) payer: grants are paid by external payers",
                path=(*path, "paid_by", key),
            )
        window = payer.window
        covered = window is None or (window[0] <= a and b <= window[1])
        if grant.replaces_outcomes and share > 0 and not covered and window is not None:
            raise ScenarioError(
                f"replaces outcome payments in months {a}-{b}, but payer '{key}' pays "
                f"only for months {window[0]}-{window[1]}: a grant that replaces outcome "
                "payments comes from payers who would have paid (set "
                "replaces_outcomes: false, or cover the payer's window)",
                path=(*path, "paid_by", key),
            )
    total = sum(grant.paid_by.values())
    if abs(total - 1) > SUM_TOL:
        raise ScenarioError(f"the shares must sum to 1, got {total:.10g}", path=(*path, "paid_by"))
