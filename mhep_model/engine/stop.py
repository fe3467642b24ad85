"""The service stopping early (v3, spec sections 1 and 6): which month each row's trigger
fires, from a whole run's flows or, for the caps' trigger, from the dues alone."""

from __future__ import annotations

import numpy as np

from mhep_model.engine.inputs import FloatArray, Inputs
from mhep_model.engine.invoices import Dues, cap_dues
from mhep_model.engine.months import running_total
from mhep_model.engine.summary import first_month

STOP_CAP = 1.0
STOP_INSOLVENCY = 2.0
"""``service_stop_reason`` codes: 1 ``cap``, 2 ``provider_insolvency``, 3 both (0 none)."""


def stop_month(
    inp: Inputs, cap_stop: FloatArray | None, insolvent: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``(R,)`` S, the first month an enabled trigger fires (NaN: never), and the reason
    code (:data:`STOP_CAP` plus :data:`STOP_INSOLVENCY`; spec sections 1 and 6), from a
    whole run's caps' stop month (None: no cap trigger) and provider's insolvent month."""
    stop = inp.stop
    assert stop is not None  # only rows that may stop come here
    on_cap = cap_stop if cap_stop is not None else np.full(inp.rows, np.nan)
    on_cap = np.where(stop.on_cap, on_cap, np.nan)
    insolvent = np.where(stop.on_insolvency, insolvent, np.nan)
    month = np.fmin(on_cap, insolvent)
    reason = np.where(on_cap == month, STOP_CAP, 0.0)
    reason = reason + np.where(insolvent == month, STOP_INSOLVENCY, 0.0)
    return month, reason


def cap_trigger_month(inp: Inputs, dues: Dues) -> FloatArray:
    """``(R,)`` S of rows whose only trigger is ``on_cap`` (NaN where none fires), from the
    dues alone: what :func:`stop_month` gives after a whole run."""
    assert inp.stop is not None
    return np.where(inp.stop.on_cap, cap_stop_month(inp, cap_dues(inp, dues)), np.nan)


def recorded_series(inp: Inputs) -> bool:
    """Whether any series of the contract is recorded (actuals, spec section 13)."""
    return inp.recorded_referrals is not None or any(s.recorded is not None for s in inp.stages)


def cap_stop_month(inp: Inputs, cap_due: FloatArray) -> FloatArray:
    """``(R,)`` the first month in which every external payer is exhausted: its accepted
    dues and grants so far reach its cap in force (less 1e-6), or its explicit window has
    ended; NaN when never (spec section 6)."""
    assert inp.stop is not None
    due_cum = running_total(cap_due)
    exhausted = due_cum >= inp.payer_cap - 1e-6
    m = inp.month_numbers()[None, None, :]
    exhausted |= inp.stop.window_end[:, :, None] <= m
    exhausted |= inp.payer_self[:, :, None]  # only external payers count
    every = exhausted.all(axis=1) & inp.in_horizon()
    return first_month(every)
