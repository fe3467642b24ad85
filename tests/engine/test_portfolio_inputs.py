"""A portfolio's inputs taken or repeated by row (the paths of one case in a portfolio
stress): the same numbers as the rows they come from."""

from __future__ import annotations

import numpy as np

from mhep_model.engine.model import deterministic_flows
from mhep_model.engine.portfolio import PortfolioInputs, run_portfolio
from mhep_model.scenario.model_inputs import compile_portfolio
from mhep_model.scenario.portfolio import load_portfolio
from mhep_model.scenario.yamlio import load_yaml
from tests.conftest import EXAMPLES

E06 = EXAMPLES / "e06_portfolio" / "portfolio.yaml"


def _arrays(pin: PortfolioInputs) -> dict[str, np.ndarray]:
    out = {
        "offsets": pin.offsets,
        "shared_cap": pin.shared_cap,
        "term": pin.term,
        **{
            f"w.{k}": getattr(pin.waterfall, k)
            for k in pin.waterfall.__dataclass_fields__
            if getattr(pin.waterfall, k) is not None  # v3 terms the portfolio leaves out
        },
    }
    for c, inp in enumerate(pin.contracts):
        out[f"{c}.block_annual"] = inp.block_annual
        out[f"{c}.referrals_scale"] = inp.referrals_scale
        out[f"{c}.horizon"] = inp.horizon
    return out


def test_repeat_and_take_give_the_rows_they_name() -> None:
    doc = load_yaml(E06)
    other = [("investor.loan_rate", 0.12), ("spv.min_cash", 3000), ("shared_payers.sof.cap", 9000)]
    # two variants (rows differ in every kind of array), cases in each
    pin = compile_portfolio([load_portfolio(doc), load_portfolio(doc, sets=other)])
    assert pin.rows == 6
    assert not (pin.waterfall.min_cash == pin.waterfall.min_cash[0]).all()
    for row in range(pin.rows):
        repeated = pin.repeat(row, 3)
        taken = pin.take(np.array([row, row, row]))
        assert repeated.rows == taken.rows == 3
        assert repeated.names == pin.names and repeated.shared == pin.shared
        for name, values in _arrays(repeated).items():
            np.testing.assert_array_equal(values, _arrays(taken)[name], err_msg=name)
            want = _arrays(pin)[name]
            axis = 1 if name == "offsets" else 0
            np.testing.assert_array_equal(
                values, np.repeat(np.take(want, [row], axis=axis), 3, axis=axis), err_msg=name
            )
    # the rows run as the case runs
    whole = run_portfolio(pin, deterministic_flows(pin))
    last = pin.rows - 1
    again = pin.repeat(last, 2)
    twice = run_portfolio(again, deterministic_flows(again))
    for metric, values in whole.summary.items():
        np.testing.assert_array_equal(twice.summary[metric], [values[last]] * 2, err_msg=metric)
    swapped = pin.take(np.arange(pin.rows)[::-1])
    back = run_portfolio(swapped, deterministic_flows(swapped))
    for metric, values in whole.summary.items():
        np.testing.assert_array_equal(back.summary[metric], values[::-1], err_msg=metric)
