"""Referrals and the participant funnel (spec sections 3 and 4), deterministic flows."""

from __future__ import annotations

import numpy as np

from mhep_model.engine.inputs import FloatArray, Inputs, StageInputs
from mhep_model.engine.months import add_delayed, delay


def referrals(inp: Inputs) -> FloatArray:
    """``(R, T)`` referrals [people/month]: ``monthly * ramp * scale`` in months 1..N."""
    m = inp.month_numbers()[None, :].astype(np.float64)
    ramp_len = inp.ramp_up_months[:, None].astype(np.float64)
    ramp = np.where(ramp_len >= 1, np.minimum(1.0, m / np.maximum(ramp_len, 1.0)), 1.0)
    flows: FloatArray = inp.referrals_monthly * ramp * inp.referrals_scale
    return with_recorded(inp.recorded_referrals, np.where(inp.in_service(), flows, 0.0))


def with_recorded(recorded: FloatArray | None, modelled: FloatArray) -> FloatArray:
    """Recorded values where there are any (they win over the model, and over the zero
    after the term, spec 11 and 13), the model's elsewhere. Broadcasts over paths."""
    if recorded is None:
        return modelled
    out: FloatArray = np.where(np.isnan(recorded), modelled, recorded)
    return out


def convolve_lag(cohort: FloatArray, lag: FloatArray) -> FloatArray:
    """Spread cohorts over the lag: ``flow[..., t] = sum_j lag[:, j] * cohort[..., t - j]``.

    ``cohort`` is ``(R, B, T)`` [people/month], ``lag`` is ``(R, K+1)`` weights. The loop is
    over lag taps (a handful), not over months or rows.
    """
    months = cohort.shape[-1]
    taps = [j for j in range(min(lag.shape[1], months)) if lag[:, j].any()]
    if len(taps) == 1 and (lag[:, taps[0]] == 1.0).all():
        return delay(cohort, taps[0])  # a whole-number lag: everyone arrives j months later
    flow = np.zeros_like(cohort)
    term = np.empty_like(cohort)  # one buffer for every tap's products
    for j in taps:
        np.multiply(lag[:, j][:, None, None], cohort, out=term)
        add_delayed(flow, term, j)
    return flow


def with_opening(inp: Inputs, stage: StageInputs, parent: FloatArray) -> FloatArray:
    """The parent flow ``(R, B, T)`` a stage's cohorts leave from: the parent stage's own
    flow plus, in month 1, its opening caseload (v3, spec section 4): people already in
    the parent stage when the service starts go on to this stage like month 1's."""
    if stage.parent < 0:
        return parent
    opening = inp.stages[stage.parent].opening
    if opening is None:
        return parent
    out = np.array(parent, dtype=np.float64)
    out[:, :, 0] += opening
    return out


def stage_cohorts(stage: StageInputs, parent: FloatArray) -> FloatArray:
    """``(R, B, T)`` people leaving the parent for this stage in each cohort month.

    ``parent`` is the parent's ``(R, B', T)`` flow; a split stage divides its total.
    """
    if stage.split is not None:
        share = stage.split[:, :, None]
        split: FloatArray = stage.rate * share * parent.sum(axis=1, keepdims=True)
        return split
    cohort: FloatArray = stage.rate * parent
    return cohort


def apply_capacity(
    inp: Inputs, stage: StageInputs, flow: FloatArray, *, whole: bool = False
) -> tuple[FloatArray, FloatArray]:
    """Staff capacity (spec section 4): in months 1..N a stage with ``capacity_per_fte``
    takes on at most ``staff_fte * capacity_per_fte`` people (``floor`` of it when people
    are whole, section 9). Returns the kept ``(R, B, T)`` flow and the ``(R, T)`` people
    over capacity, who feed nothing below."""
    limited = np.isfinite(stage.capacity) & inp.in_term()  # (R, T)
    if not limited.any():
        return flow, np.zeros((flow.shape[0], flow.shape[-1]))
    cap = inp.staff_fte * np.where(limited, stage.capacity, 0.0)
    if whole:
        cap = np.floor(cap + 1e-9)  # 2.9999999999999996 people of capacity are 3
    cap = np.where(limited, cap, np.inf)[:, None, :]
    kept: FloatArray = np.minimum(flow, cap)
    over: FloatArray = (flow - kept).sum(axis=1)
    return kept, over


def stage_flows(inp: Inputs, referral_flow: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    """Each stage's ``(R, B, T)`` flow [people/month], in the order of ``inp.stages``, and
    the ``(R, T)`` people over staff capacity, summed over stages.

    A stage's flow is 0 after month N unless ``after_term``, and 0 past each row's horizon,
    before it feeds the stages below it.
    """
    open_after = inp.in_horizon()[:, None, :]
    if inp.service_end is not None:  # v3: no flow at any stage once the service stopped
        open_after = open_after & ~inp.stopped()[:, None, :]
    in_term = inp.in_term()[:, None, :]
    flows: list[FloatArray] = []
    over_capacity = np.zeros((inp.rows, inp.months))
    for stage in inp.stages:
        parent = referral_flow[:, None, :] if stage.parent < 0 else flows[stage.parent]
        parent = with_opening(inp, stage, parent)
        flow = convolve_lag(stage_cohorts(stage, parent), stage.lag)
        allowed = open_after & (in_term | stage.after_term[:, None, None])
        flow, over = apply_capacity(inp, stage, np.where(allowed, flow, 0.0))
        flow, over = replace_recorded(stage, flow, over)
        over_capacity += over
        flows.append(flow)
    return flows, over_capacity


def replace_recorded(
    stage: StageInputs, flow: FloatArray, over: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """A stage's recorded months replace its modelled flow; they add nothing to over
    capacity (recorded people are not limited by capacity, spec 11 and 13)."""
    if stage.recorded is None:
        return flow, over
    recorded_month = ~np.isnan(stage.recorded[:, 0, :])  # (R, T): every band is recorded
    return with_recorded(stage.recorded, flow), np.where(recorded_month, 0.0, over)


def stop_flows(
    inp: Inputs, referral_flow: FloatArray, flows: list[FloatArray], over_capacity: FloatArray
) -> tuple[FloatArray, list[FloatArray], FloatArray]:
    """Flows with the service stopped from each row's month F (``inp.service_end``; v3,
    spec section 1): no referrals, no flow at any stage and nobody over capacity from F on,
    except in recorded months (what happened stays). The months before F are unchanged,
    so flows computed (or drawn) without the stop become those with it."""
    stopped = inp.stopped()
    referral_flow = with_recorded(inp.recorded_referrals, np.where(stopped, 0.0, referral_flow))
    out = []
    for stage, flow in zip(inp.stages, flows, strict=True):
        kept = np.where(stopped[:, None, :], 0.0, flow)
        out.append(with_recorded(stage.recorded, kept) if stage.recorded is not None else kept)
    return referral_flow, out, np.where(stopped, 0.0, over_capacity)
