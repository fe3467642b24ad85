"""The whole engine on large batches (issue 15): runs of rows give the same numbers as
one batch, bit for bit, because rows never interact."""

from __future__ import annotations

import dataclasses

import numpy as np

from mhep_model.engine import model
from mhep_model.engine.inputs import take_rows
from mhep_model.engine.irr import irr_monthly
from mhep_model.scenario import compile_inputs, load
from tests.conftest import ROOT


def test_run_summary_in_runs_of_rows_equals_one_batch() -> None:
    inp = compile_inputs(load(ROOT / "scenarios" / "staffordshire.yaml"))
    inp_months = inp.months
    rows = 2 * max(1, model.SLICE_CELLS // inp_months) + 7  # two whole runs and a part
    big = take_rows(inp, np.arange(rows) % inp.rows)
    scale = np.random.default_rng(3).uniform(0.3, 1.8, size=(rows, 1))
    big = dataclasses.replace(big, referrals_scale=big.referrals_scale * scale)
    whole = model.run(big).summary
    step = max(1, model.SLICE_CELLS // big.months)
    assert rows > 2 * step  # the batch really is cut into three runs
    sliced = model.run_summary(big)
    assert sliced.keys() == whole.keys()
    for name, values in whole.items():
        assert np.array_equal(sliced[name], values, equal_nan=True), name


def test_irr_of_a_row_does_not_depend_on_its_batch() -> None:
    """Only unconverged rows iterate; a row's IRR is the same alone or among others."""
    rng = np.random.default_rng(11)
    cf = rng.normal(size=(300, 60))
    cf[:, 0] = -np.abs(cf[:, 0]) - 5.0
    together = irr_monthly(cf)
    alone = np.array([irr_monthly(cf[i : i + 1])[0] for i in range(0, 300, 7)])
    assert np.array_equal(together[::7], alone, equal_nan=True)
